"""Export the hybrid as a SavedModel laid out for TF Serving: ``<base>/<version>/``.

Signatures (all take batches and return the same four outputs: ``probabilities``
[B,10] float32, ``digit`` [B] int64, ``confidence`` [B] float32 and ``sr_image``
[B,28,28,1] float32):

``serving_default``
    ``image``: float32 [B,H,W,1] in [0,1], white ink on black, any H and W.
    NaN pixels count as background, +-inf is clipped to [0,1]; since version 2,
    other values outside [0, 1] are refused with an InvalidArgumentError that
    names the fix (version 1 clipped them too).
``predict_image_bytes``
    ``image_bytes``: string [B], encoded PNG, JPEG, BMP, GIF (first frame) or WEBP.
    Decoded, made gray, then *automatically*: inverted when the image border is
    bright (dark ink on light paper), and MNIST-normalized (cropped to the ink,
    fitted into 20x20, centred by centre of mass) when the image is larger
    than 28 px on a side, i.e. a photo or scan rather than a low-res digit.
``predict_image_bytes_options``
    The same, with the client choosing per image: ``invert`` and ``normalize``
    int32 [B], each -1 (automatic, as above), 0 (no) or 1 (yes).

Size routing (versions exported since version 2): an input whose long side has
at least 28 pixels already has full resolution, so it goes straight to the
hybrid's recognizer (``sr_image`` is then the 28x28 image it read) instead of
being shrunk to the generator's LR size and super-resolved; smaller inputs take
the super-resolution path as before. ``serving_default`` routes the whole batch
(one size), the bytes signatures route each image.

Hostile and broken items (bytes signatures, versions exported since version 3):
before anything is decoded, each item's format, width and height are read from
its header (hdsr_tf/data/headers.py). An empty item, an unknown format (TIFF,
say) or an image over the pixel limit set at export (default 25 megapixels) is
not decoded: it gets digit -1, confidence 0, zero probabilities and a one-line
``error`` output (a string per item, empty when the item was read), and the
other items are answered. Damage only the decoder can see (a truncated JPEG
body) still fails the whole request with TensorFlow's decode error; the Python
clients then retry item by item and name the bad one.

"No digit" (versions exported with a detector, since version 4): every signature adds
``no_digit`` [B] float32, the detector's probability that the image holds no digit
(blank, noise, a line, a smudge, a letter, a fragment), and ``digit`` is -1 where it
is above the threshold fitted on validation data. ``probabilities`` and ``confidence``
stay the readers' own, so a version-1 client keeps working and can ignore both.

The write is atomic: everything goes to a hidden temporary folder beside the
target, which is renamed to ``<version>`` only when complete.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from hdsr_tf.data import headers
from hdsr_tf.data.normalize import mnist_normalize, should_invert, to_gray_float
from hdsr_tf.io import MAX_PIXELS
from hdsr_tf.models.hybrid import HR_SIZE
from hdsr_tf.models.layers import ResizeTo, SanitizeImage

LABELS = [str(d) for d in range(10)]
RANGE_TOLERANCE = 1e-3  # rounding, not another scale
RANGE_MESSAGE = ("image values must be in [0, 1], white ink on black: divide 8-bit images by 255 "
                 "(found min, max:)")
AUTO, NO, YES = -1, 0, 1
# Decoded in place of an item refused from its header, so the batch's other items are answered.
PLACEHOLDER = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b55"
                            "0000000a49444154789c636000000002000148afa4710000000049454e44ae426082")  # 1x1 black PNG


def _flag(choice: tf.Tensor, auto: tf.Tensor) -> tf.Tensor:
    return tf.where(tf.equal(choice, AUTO), auto, tf.equal(choice, YES))


def decode_for_model(data: tf.Tensor, invert: tf.Tensor, normalize: tf.Tensor) -> tf.Tensor:
    """One encoded image -> float32 [H,W,1] in [0,1], white on black (MNIST-framed when normalized)."""
    image = tf.io.decode_image(data, channels=0, expand_animations=False, dtype=tf.uint8)
    gray = to_gray_float(image)
    inv = _flag(invert, should_invert(gray))
    big = tf.reduce_max(tf.shape(gray)[:2]) > 28
    norm = _flag(normalize, big)
    return tf.cond(norm, lambda: mnist_normalize(gray, inv), lambda: tf.where(inv, 1.0 - gray, gray))


def _to_size(image: tf.Tensor, size: int) -> tf.Tensor:
    """[H,W,1] -> [size,size,1] the way the hybrid's ResizeTo does (area shrinks, bicubic enlarges)."""
    return ResizeTo(size)(image[None])[0]


def bytes_to_batch(image_bytes: tf.Tensor, invert: tf.Tensor, normalize: tf.Tensor, size: int) -> tf.Tensor:
    """string [B] -> float32 [B,size,size,1]; images of different sizes are resized one by one."""
    return tf.map_fn(lambda args: _to_size(decode_for_model(*args), size),
                     (image_bytes, invert, normalize),
                     fn_output_signature=tf.TensorSpec([size, size, 1], tf.float32))


class SizeRouter:
    """The hybrid behind a size switch: full-resolution inputs skip super-resolution.

    Shrinking a 28x28 digit to 7x7 to super-resolve it again throws away what
    the recognizer needs (the shipped hybrid reads such digits at 98.0%, its
    recognizer at 99.6%).
    """

    def __init__(self, model: keras.Model, lr_size: int, max_pixels: int | None = None,
                 full_resolution: keras.Model | None = None, detector: keras.Model | None = None,
                 threshold: float = 0.5):
        self.model, self.lr_size, self.max_pixels = model, lr_size, max_pixels
        self.recognizer = full_resolution or model.get_layer("recognizer")
        self.detector, self.threshold = detector, float(threshold)
        self.sanitize, self.to_hr = SanitizeImage(), ResizeTo(HR_SIZE)

    def _outputs(self, probs: tf.Tensor, sr: tf.Tensor, x28: tf.Tensor) -> dict:
        """The served outputs; with a detector also ``no_digit``, and ``digit`` -1 where it is over the threshold."""
        digit = tf.argmax(probs, axis=-1, output_type=tf.int64)
        out = {"probabilities": probs, "digit": digit, "confidence": tf.reduce_max(probs, axis=-1), "sr_image": sr}
        if self.detector is not None:
            no_digit = tf.reshape(self.detector(x28, training=False), [-1])
            out["no_digit"] = no_digit
            out["digit"] = tf.where(no_digit > self.threshold, tf.constant(-1, tf.int64), digit)
        return out

    def _unless_empty(self, fn, x: tf.Tensor) -> dict:
        """``fn(x)``, or empty outputs for an empty batch (oneDNN's batch norm fails on zero images)."""
        def empty():
            out = {"probabilities": tf.zeros([0, 10]), "digit": tf.zeros([0], tf.int64),
                   "confidence": tf.zeros([0]), "sr_image": tf.zeros([0, HR_SIZE, HR_SIZE, 1])}
            return {**out, "no_digit": tf.zeros([0])} if self.detector is not None else out

        return tf.cond(tf.shape(x)[0] > 0, lambda: fn(x), empty)

    def direct(self, x28: tf.Tensor) -> dict:
        return self._unless_empty(lambda x: self._outputs(self.recognizer(x, training=False), x, x), x28)

    def hybrid(self, x: tf.Tensor) -> dict:
        def read(batch):
            out = self.model(batch, training=False)
            if self.detector is None:
                return dict(out)
            return self._outputs(out["probabilities"], out["sr_image"], self.to_hr(self.sanitize(batch)))

        return self._unless_empty(read, x)

    def batch(self, image: tf.Tensor) -> dict:
        """One batch of one size: all of it direct when full-resolution, else the hybrid.

        Finite values outside [0, 1] are refused: they are almost always 8-bit pixels or another
        scale, which the model would read confidently and wrongly. NaN and +-inf keep their
        documented handling (background; clipped).
        """
        finite = tf.boolean_mask(image, tf.math.is_finite(image))
        in_range = tf.logical_and(tf.reduce_all(finite >= -RANGE_TOLERANCE),
                                  tf.reduce_all(finite <= 1 + RANGE_TOLERANCE))
        check = tf.debugging.Assert(in_range, [RANGE_MESSAGE, tf.reduce_min(finite), tf.reduce_max(finite)])
        with tf.control_dependencies([check]):
            image = tf.identity(image)
        full = tf.reduce_max(tf.shape(image)[1:3]) >= HR_SIZE
        return tf.cond(full, lambda: self.direct(self.to_hr(self.sanitize(image))), lambda: self.hybrid(image))

    def items(self, image_bytes: tf.Tensor, invert: tf.Tensor, normalize: tf.Tensor) -> dict:
        """Encoded images, each routed by its own decoded size; with a pixel limit, items whose header
        shows a problem are answered with an ``error`` instead of being decoded."""
        if self.max_pixels is None:
            return self._decoded_items(image_bytes, invert, normalize)
        errors, ok = headers.problems(image_bytes, self.max_pixels)
        safe = tf.where(ok, image_bytes, tf.constant(PLACEHOLDER))
        out = self._decoded_items(safe, invert, normalize)

        def keep(value, fill):
            mask = tf.reshape(ok, [-1] + [1] * (len(value.shape) - 1))
            return tf.where(mask, value, tf.cast(fill, value.dtype))

        fills = {"probabilities": 0, "digit": -1, "confidence": 0, "sr_image": 0, "no_digit": 0}
        return {**{k: keep(v, fills[k]) for k, v in out.items()}, "error": errors}

    def _decoded_items(self, image_bytes: tf.Tensor, invert: tf.Tensor, normalize: tf.Tensor) -> dict:
        def decode(args):
            image = decode_for_model(*args)
            full = tf.reduce_max(tf.shape(image)[:2]) >= HR_SIZE
            return _to_size(image, self.lr_size), _to_size(image, HR_SIZE), full

        lr, hr, full = tf.map_fn(decode, (image_bytes, invert, normalize), fn_output_signature=(
            tf.TensorSpec([self.lr_size, self.lr_size, 1], tf.float32),
            tf.TensorSpec([HR_SIZE, HR_SIZE, 1], tf.float32), tf.TensorSpec([], tf.bool)))
        parts = tf.dynamic_partition(tf.range(tf.shape(full)[0]), tf.cast(full, tf.int32), 2)
        small = self.hybrid(tf.gather(lr, parts[0]))
        large = self.direct(tf.gather(hr, parts[1]))
        return {k: tf.dynamic_stitch(parts, [small[k], large[k]]) for k in small}


def next_version(base: Path) -> int:
    versions = [int(p.name) for p in base.iterdir() if p.is_dir() and re.fullmatch(r"\d+", p.name)] \
        if base.exists() else []
    return max(versions, default=0) + 1


def latest_version(base: Path) -> Path:
    if not base.is_dir():
        raise FileNotFoundError(f"no exported models under {base}")
    versions = sorted((int(p.name), p) for p in base.iterdir()
                      if p.is_dir() and re.fullmatch(r"\d+", p.name) and (p / "saved_model.pb").exists())
    if not versions:
        raise FileNotFoundError(f"no exported version (a numbered folder with saved_model.pb) under {base}")
    return versions[-1][1]


def export_hybrid(model: keras.Model, base_dir: str | Path, version: int | None = None,
                  input_size: int | None = None, route_full_resolution: bool = True,
                  max_pixels: int | None = MAX_PIXELS, full_resolution: keras.Model | None = None,
                  detector: keras.Model | None = None, no_digit_threshold: float = 0.5) -> Path:
    """Writes ``model`` to ``base_dir/<version>`` atomically; returns that path.

    ``input_size`` is the side the bytes signature resizes decoded images to;
    it defaults to the generator's LR size (the hybrid resizes again anyway).
    ``route_full_resolution`` sends inputs of 28 px or more straight to the
    recognizer (:class:`SizeRouter`); off, every input is super-resolved (version 1).
    ``max_pixels`` (with routing) checks every encoded item's header first and
    answers problems with a per-item ``error`` output; None exports version 2's
    behaviour. ``full_resolution`` is the recognizer routed inputs go to (default: the
    model's own ``recognizer`` layer). ``detector`` (with routing) adds the ``no_digit`` output and
    answers digit -1 above ``no_digit_threshold``.
    """
    base, version = _new_version(base_dir, version)
    size = input_size or int(model.get_layer("to_lr_size").size)
    if max_pixels is not None and max_pixels < 1:
        raise ValueError(f"the pixel limit must be positive, not {max_pixels}")
    if detector is not None and not route_full_resolution:
        raise ValueError("a no-digit detector needs size routing")
    router = SizeRouter(model, size, max_pixels, full_resolution, detector, no_digit_threshold) \
        if route_full_resolution else None

    def serve(image):
        return router.batch(image) if router else model(image, training=False)

    def serve_bytes_options(image_bytes, invert, normalize):
        if router:
            return router.items(image_bytes, invert, normalize)
        return model(bytes_to_batch(image_bytes, invert, normalize, size), training=False)

    def serve_bytes(image_bytes):
        n = tf.shape(image_bytes)[0:1]
        return serve_bytes_options(image_bytes, tf.fill(n, AUTO), tf.fill(n, AUTO))

    archive = keras.export.ExportArchive()
    archive.track(model)
    for extra in (full_resolution, detector):
        if extra is not None:
            archive.track(extra)
    archive.add_endpoint("serving_default", serve,
                         [tf.TensorSpec([None, None, None, 1], tf.float32, name="image")])
    archive.add_endpoint("predict_image_bytes", serve_bytes, [tf.TensorSpec([None], tf.string, name="image_bytes")])
    archive.add_endpoint("predict_image_bytes_options", serve_bytes_options,
                         [tf.TensorSpec([None], tf.string, name="image_bytes"),
                          tf.TensorSpec([None], tf.int32, name="invert"),
                          tf.TensorSpec([None], tf.int32, name="normalize")])

    return _write_archive(archive, base, version)


def _new_version(base_dir: str | Path, version: int | None) -> tuple[Path, int]:
    """The model base folder (created) and the version to write: the next free integer unless given; a
    version that exists already is refused, never overwritten."""
    base = Path(base_dir)
    base.mkdir(parents=True, exist_ok=True)
    version = next_version(base) if version is None else int(version)
    if (base / str(version)).exists():
        raise FileExistsError(f"{base / str(version)} already exists; choose another --version")
    return base, version


def _write_archive(archive: keras.export.ExportArchive, base: Path, version: int) -> Path:
    """Writes ``archive`` to ``base/<version>`` (TF Serving's layout) with its labels, atomically: a
    server watching ``base`` never sees half a version."""
    target = base / str(version)
    tmp = base / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archive.write_out(str(tmp), verbose=False)
        (tmp / "assets").mkdir(exist_ok=True)
        (tmp / "assets" / "labels.txt").write_text("\n".join(LABELS) + "\n")
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def export_line_reader(model: keras.Model, base_dir: str | Path, version: int | None = None) -> Path:
    """The line reader as a servable of its own, ``base_dir/<version>``. ``serving_default`` takes
    ``line`` float32 [B, 24, W, 1] (``data/lines.line_input``, padded to one width) and returns
    ``frame_probabilities`` [B, W/4, 11], which ``models/ctc.decode_frames`` turns into digits; a client
    finds the lines, as it finds digit crops for the hybrid."""
    base, version = _new_version(base_dir, version)
    height = int(model.input_shape[1])

    def serve(line):
        return {"frame_probabilities": tf.nn.softmax(tf.cast(model(line, training=False), tf.float32), axis=-1)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serve, [tf.TensorSpec([None, height, None, 1], tf.float32, name="line")])
    return _write_archive(archive, base, version)
