"""Serving policy: which model reads an input, what a refused item answers, and whether a picture is drawn."""

from __future__ import annotations

import keras
import tensorflow as tf

from hdsr_tf.data import headers
from hdsr_tf.errors import UsageError
from hdsr_tf.export.graph import PLACEHOLDER, checked_range, decode_for_model, to_size
from hdsr_tf.models.cnn import has_no_digit_head
from hdsr_tf.models.hybrid import HR_SIZE
from hdsr_tf.models.layers import ResizeTo, SanitizeImage
from hdsr_tf.models.precision import with_dtype_policy

FILLS = {"probabilities": 0, "digit": -1, "confidence": 0, "sr_image": 0, "no_digit": 0}  # a refused item


class SizeRouter:
    """The hybrid behind a size switch: full-resolution inputs skip super-resolution.

    Shrinking a 28x28 digit to 7x7 to super-resolve it again throws away what
    the recognizer needs (the shipped hybrid reads such digits at 98.0%, its
    recognizer at 99.6%). ``picture`` (an any-size generator, scale 1) draws ``sr_image`` instead of the
    model's generator for every small input but those of the side that generator reads (7 px for the 4x
    one): it resizes every other input to that side first, which cost the pictures up to 4.5 dB on
    validation digits (a tie at 5 px bilinear), while at its own side it beat the any-size one by 0.3-1.7
    dB. With ``draw`` off the router answers without ``sr_image`` and, when the model is a direct
    reader (``models.hybrid.build_direct_reader``), never runs the generator, whose picture only a
    person looks at. Such a reading
    router can also compute in ``mixed_bfloat16`` (1.6x the float32 rate on a CPU with
    AVX512-BF16/AMX; benchmarks/NOTES.md).

    Without ``detector``, readers that bring their own no-digit head (``models.cnn.with_no_digit_head``:
    ``full_resolution`` and the direct reader's classifier, both or neither) answer ``no_digit`` in the
    same pass that reads the digit; a reading router then runs one network per input, not two.
    """

    def __init__(self, model: keras.Model, lr_size: int, max_pixels: int | None = None,
                 full_resolution: keras.Model | None = None, detector: keras.Model | None = None,
                 threshold: float = 0.5, draw: bool = True, policy: str = "float32",
                 picture: keras.Model | None = None):
        self.model, self.lr_size, self.max_pixels, self.draw = model, lr_size, max_pixels, draw
        self.picture = picture
        self.native = int(model.get_layer("to_lr_size").size)  # the side the model's own generator reads
        self.recognizer = full_resolution or model.get_layer("recognizer")
        self.detector, self.threshold = detector, float(threshold)
        names = {layer.name for layer in model.layers}
        self.direct_classifier = model.get_layer("direct_classifier") if "direct_classifier" in names else None
        readers = [m for m in (self.recognizer, self.direct_classifier) if m is not None]
        self.heads = detector is None and any(has_no_digit_head(m) for m in readers)
        if self.heads and not (self.direct_classifier is not None and all(has_no_digit_head(m) for m in readers)):
            raise UsageError("no-digit heads need a direct reader and a full-resolution reader, each with one")
        if policy != "float32":  # bfloat16 copies of the readers (outputs stay float32)
            if draw or self.direct_classifier is None:
                raise ValueError(f"a {policy} router only reads (draw=False) and needs a direct reader")
            self.recognizer, self.direct_classifier = (with_dtype_policy(m, policy, inputs_in_float32=True)
                                                       for m in (self.recognizer, self.direct_classifier))
            self.detector = detector and with_dtype_policy(detector, policy, inputs_in_float32=True)
        self.sanitize, self.to_hr = SanitizeImage(), ResizeTo(HR_SIZE)

    @property
    def refuses(self) -> bool:
        """Whether the outputs hold ``no_digit`` (a detector, or readers with heads)."""
        return self.detector is not None or self.heads

    @staticmethod
    def _read(reader: keras.Model, x28: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor | None]:
        """(probabilities, the reader's own no_digit [B,1] or None)."""
        out = reader(x28, training=False)
        return (out[0], out[1]) if has_no_digit_head(reader) else (out, None)

    def _outputs(self, probs: tf.Tensor, sr: tf.Tensor | None, x28: tf.Tensor,
                 no_digit: tf.Tensor | None = None) -> dict:
        """The served outputs; with a detector (or a reader's own ``no_digit``) also ``no_digit``, and ``digit``
        -1 where it is over the threshold."""
        digit = tf.argmax(probs, axis=-1, output_type=tf.int64)
        out = {"probabilities": probs, "digit": digit, "confidence": tf.reduce_max(probs, axis=-1)}
        if self.draw:
            out["sr_image"] = sr
        if self.detector is not None:
            no_digit = self.detector(x28, training=False)
        if no_digit is not None:
            no_digit = tf.reshape(no_digit, [-1])
            out["no_digit"] = no_digit
            out["digit"] = tf.where(no_digit > self.threshold, tf.constant(-1, tf.int64), digit)
        return out

    def _unless_empty(self, fn, x: tf.Tensor) -> dict:
        """``fn(x)``, or empty outputs for an empty batch (oneDNN's batch norm fails on zero images)."""
        def empty():
            out = {"probabilities": tf.zeros([0, 10]), "digit": tf.zeros([0], tf.int64), "confidence": tf.zeros([0])}
            if self.draw:
                out["sr_image"] = tf.zeros([0, HR_SIZE, HR_SIZE, 1])
            return {**out, "no_digit": tf.zeros([0])} if self.refuses else out

        return tf.cond(tf.shape(x)[0] > 0, lambda: fn(x), empty)

    def direct(self, x28: tf.Tensor) -> dict:
        def read(x):
            probs, no_digit = self._read(self.recognizer, x)
            return self._outputs(probs, x, x, no_digit)

        return self._unless_empty(read, x28)

    def hybrid(self, x: tf.Tensor, sides: tf.Tensor | None = None) -> dict:
        """Small inputs; ``sides`` [B] are their long sides before any resizing (default: the batch's own)."""
        def read(batch):
            if not self.draw and self.direct_classifier is not None:
                x28 = self.to_hr(self.sanitize(batch))  # exactly the direct reader's own path to its classifier
                probs, no_digit = self._read(self.direct_classifier, x28)
                return self._outputs(probs, None, x28, no_digit)
            out = dict(self.model(batch, training=False))
            if self.draw and self.picture is not None:
                n = tf.shape(batch)[0]
                side = sides if sides is not None else tf.fill([n], tf.reduce_max(tf.shape(batch)[1:3]))
                drawn = tf.clip_by_value(self.picture(self.to_hr(self.sanitize(batch)), training=False), 0.0, 1.0)
                out["sr_image"] = tf.where(tf.reshape(side != self.native, [-1, 1, 1, 1]), drawn,
                                           out["sr_image"])
            if not self.refuses:
                return {k: v for k, v in out.items() if self.draw or k != "sr_image"}
            return self._outputs(out["probabilities"], out["sr_image"], self.to_hr(self.sanitize(batch)),
                                 out.get("no_digit"))  # a direct reader with a head answered it in its pass

        return self._unless_empty(read, x)

    def batch(self, image: tf.Tensor) -> dict:
        """One batch of one size: all of it direct when full-resolution, else the hybrid."""
        image = checked_range(image)
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

        return {**{k: keep(v, FILLS[k]) for k, v in out.items()}, "error": errors}

    def _decoded_items(self, image_bytes: tf.Tensor, invert: tf.Tensor, normalize: tf.Tensor) -> dict:
        def decode(args):
            image = decode_for_model(*args)
            side = tf.reduce_max(tf.shape(image)[:2])
            return to_size(image, self.lr_size), to_size(image, HR_SIZE), side

        lr, hr, side = tf.map_fn(decode, (image_bytes, invert, normalize), fn_output_signature=(
            tf.TensorSpec([self.lr_size, self.lr_size, 1], tf.float32),
            tf.TensorSpec([HR_SIZE, HR_SIZE, 1], tf.float32), tf.TensorSpec([], tf.int32)))
        full = side >= HR_SIZE
        parts = tf.dynamic_partition(tf.range(tf.shape(full)[0]), tf.cast(full, tf.int32), 2)
        small = self.hybrid(tf.gather(lr, parts[0]), tf.gather(side, parts[0]))
        large = self.direct(tf.gather(hr, parts[1]))
        return {k: tf.dynamic_stitch(parts, [small[k], large[k]]) for k in small}
