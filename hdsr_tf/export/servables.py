"""The exporters: the hybrid and the line reader as TF Serving servables (signatures: ``hdsr_tf.export``)."""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from hdsr_tf.errors import UsageError
from hdsr_tf.export.graph import AUTO, bytes_to_batch
from hdsr_tf.export.router import SizeRouter
from hdsr_tf.export.versions import new_version, write_archive
from hdsr_tf.io import MAX_PIXELS
from hdsr_tf.models.rrdb import generator_scale
from hdsr_tf.signatures import reading as reading_name


def _endpoints(serve_batch, serve_items) -> dict:
    """The three signature functions over a batch reader and an item reader."""
    def serve_bytes(image_bytes):
        n = tf.shape(image_bytes)[0:1]
        return serve_items(image_bytes, tf.fill(n, AUTO), tf.fill(n, AUTO))

    return {"serving_default": serve_batch, "predict_image_bytes": serve_bytes,
            "predict_image_bytes_options": serve_items}


SPECS = {"serving_default": [tf.TensorSpec([None, None, None, 1], tf.float32, name="image")],
         "predict_image_bytes": [tf.TensorSpec([None], tf.string, name="image_bytes")],
         "predict_image_bytes_options": [tf.TensorSpec([None], tf.string, name="image_bytes"),
                                         tf.TensorSpec([None], tf.int32, name="invert"),
                                         tf.TensorSpec([None], tf.int32, name="normalize")]}


def export_hybrid(model: keras.Model, base_dir: str | Path, version: int | None = None,
                  input_size: int | None = None, route_full_resolution: bool = True,
                  max_pixels: int | None = MAX_PIXELS, full_resolution: keras.Model | None = None,
                  detector: keras.Model | None = None, no_digit_threshold: float = 0.5,
                  bfloat16: bool = False, picture: keras.Model | None = None) -> Path:
    """Writes ``model`` to ``base_dir/<version>`` atomically; returns that path.

    ``input_size`` is the side the bytes signature resizes decoded images to;
    it defaults to the generator's LR size (the hybrid resizes again anyway).
    ``route_full_resolution`` sends inputs of 28 px or more straight to the
    recognizer (:class:`SizeRouter`) and adds the reading signatures; off, every
    input is super-resolved (version 1). ``max_pixels`` (with routing) checks every
    encoded item's header first and answers problems with a per-item ``error``
    output; None exports version 2's behaviour. ``full_resolution`` is the
    recognizer routed inputs go to (default: the model's own ``recognizer`` layer).
    ``detector`` (with routing) adds the ``no_digit`` output and answers digit -1
    above ``no_digit_threshold``. ``bfloat16`` (a direct reader, with routing) adds
    the reading signatures once more, computed in bfloat16, named ``..._bfloat16``. ``picture`` (an
    any-size generator, with routing) draws ``sr_image`` for small inputs but those of the side the model's
    own generator reads.
    """
    base, version = new_version(base_dir, version)
    size = input_size or int(model.get_layer("to_lr_size").size)
    if max_pixels is not None and max_pixels < 1:
        raise UsageError(f"the pixel limit must be positive, not {max_pixels}")
    if (detector is not None or bfloat16 or picture is not None) and not route_full_resolution:
        raise UsageError("a no-digit detector, bfloat16 reading and a picture generator need size routing")

    if picture is not None and generator_scale(picture) != 1:
        raise UsageError("the picture generator must be an any-size one (scale 1: it keeps its input's size)")
    archive = keras.export.ExportArchive()
    for tracked in (model, full_resolution, detector, picture):
        if tracked is not None:
            archive.track(tracked)
    if route_full_resolution:
        def router(draw, policy="float32"):
            return SizeRouter(model, size, max_pixels, full_resolution, detector, no_digit_threshold, draw, policy,
                              picture)

        drawing, reading = router(True), router(False)
        endpoints = _endpoints(drawing.batch, drawing.items)
        endpoints.update({reading_name(k): fn for k, fn in _endpoints(reading.batch, reading.items).items()})
        if bfloat16:
            fast = router(False, "mixed_bfloat16")
            for copy in (fast.recognizer, fast.direct_classifier, fast.detector):
                if copy is not None:
                    archive.track(copy)
            endpoints.update({reading_name(k, True): fn for k, fn in _endpoints(fast.batch, fast.items).items()})
    else:
        endpoints = _endpoints(lambda image: model(image, training=False),
                               lambda image_bytes, invert, normalize: model(
                                   bytes_to_batch(image_bytes, invert, normalize, size), training=False))
    specs = {**SPECS, **{reading_name(k, b): spec for k, spec in SPECS.items() for b in (False, True)}}
    for name, fn in endpoints.items():
        archive.add_endpoint(name, fn, specs[name])
    return write_archive(archive, base, version)


def export_line_reader(model: keras.Model, base_dir: str | Path, version: int | None = None) -> Path:
    """The line reader as a servable of its own, ``base_dir/<version>``. ``serving_default`` takes
    ``line`` float32 [B, 24, W, 1] (``data/lines.line_input``, padded to one width) and returns
    ``frame_probabilities`` [B, W/4, 11], which ``models/ctc.decode_frames`` turns into digits; a client
    finds the lines, as it finds digit crops for the hybrid."""
    base, version = new_version(base_dir, version)
    height = int(model.input_shape[1])

    def serve(line):
        return {"frame_probabilities": tf.nn.softmax(tf.cast(model(line, training=False), tf.float32), axis=-1)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", serve, [tf.TensorSpec([None, height, None, 1], tf.float32, name="line")])
    return write_archive(archive, base, version)
