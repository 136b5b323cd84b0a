"""The served graph's own image handling: encoded bytes -> a float32 digit the models read.

Decoding lives in the graph (not in a client) so that TF Serving answers raw PNG/JPEG bytes; the
Python loader (``reading/files.py``) applies the same header rules before anything is sent.
"""

from __future__ import annotations

import tensorflow as tf

from hdsr_tf.data.normalize import mnist_normalize, should_invert, to_gray_float
from hdsr_tf.models.layers import ResizeTo

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


def to_size(image: tf.Tensor, size: int) -> tf.Tensor:
    """[H,W,1] -> [size,size,1] the way the hybrid's ResizeTo does (area shrinks, bicubic enlarges)."""
    return ResizeTo(size)(image[None])[0]


def bytes_to_batch(image_bytes: tf.Tensor, invert: tf.Tensor, normalize: tf.Tensor, size: int) -> tf.Tensor:
    """string [B] -> float32 [B,size,size,1]; images of different sizes are resized one by one."""
    return tf.map_fn(lambda args: to_size(decode_for_model(*args), size),
                     (image_bytes, invert, normalize),
                     fn_output_signature=tf.TensorSpec([size, size, 1], tf.float32))


def checked_range(image: tf.Tensor) -> tf.Tensor:
    """``image`` unchanged, or an InvalidArgumentError naming the fix when finite values leave [0, 1].

    Such values are almost always 8-bit pixels or another scale, which a model would read confidently
    and wrongly. NaN and +-inf keep their documented handling (background; clipped).
    """
    finite = tf.boolean_mask(image, tf.math.is_finite(image))
    in_range = tf.logical_and(tf.reduce_all(finite >= -RANGE_TOLERANCE),
                              tf.reduce_all(finite <= 1 + RANGE_TOLERANCE))
    check = tf.debugging.Assert(in_range, [RANGE_MESSAGE, tf.reduce_min(finite), tf.reduce_max(finite)])
    with tf.control_dependencies([check]):
        return tf.identity(image)
