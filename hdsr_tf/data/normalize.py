"""MNIST-style normalization of one digit image, as TensorFlow ops.

MNIST digits were made by fitting each digit's bounding box into 20x20 (keeping
the aspect ratio, anti-aliased) and placing it in 28x28 with its centre of mass
at the centre. Photos, scans and DIDA crops must go through the same steps
before a recognizer trained on MNIST can read them. Written as graph ops so the
very same code runs in the DIDA loader and inside the exported SavedModel.
"""

from __future__ import annotations

import tensorflow as tf

SIZE = 28
BOX = 20
INK_THRESHOLD = 0.25  # of the stretched range: what counts as ink for the bounding box
BACKGROUND = 0.15  # stretched values below this are paper noise, set to 0


def to_gray_float(image: tf.Tensor) -> tf.Tensor:
    """[H,W,C] uint8/uint16/float with C in 1..4 -> float32 [H,W,1] in [0,1]."""
    if image.dtype.is_integer:
        image = tf.cast(image, tf.float32) / float(image.dtype.max)
    image = tf.cast(image, tf.float32)
    channels = tf.shape(image)[-1]
    # Drop alpha (LA or RGBA), then average RGB to luminance.
    image = tf.cond(
        channels >= 3,
        lambda: tf.image.rgb_to_grayscale(image[..., :3]),
        lambda: image[..., :1],
    )
    return tf.clip_by_value(image, 0.0, 1.0)


def should_invert(gray: tf.Tensor) -> tf.Tensor:
    """True when the image looks like dark ink on light paper (its border is bright)."""
    border = tf.concat(
        [tf.reshape(gray[0], [-1]), tf.reshape(gray[-1], [-1]),
         tf.reshape(gray[:, 0], [-1]), tf.reshape(gray[:, -1], [-1])], axis=0)
    return tf.reduce_mean(border) > 0.5


@tf.function(input_signature=[tf.TensorSpec([None, None, 1], tf.float32), tf.TensorSpec([], tf.bool)],
             reduce_retracing=True)
def mnist_normalize(gray: tf.Tensor, invert: tf.Tensor) -> tf.Tensor:
    """float32 [H,W,1] in [0,1] -> float32 [28,28,1], white ink on black, MNIST-framed.

    ``invert`` says the input is dark ink on light paper. An image with no ink
    comes back all zeros rather than failing.
    """
    gray = tf.where(invert, 1.0 - gray, gray)
    lo, hi = tf.reduce_min(gray), tf.reduce_max(gray)
    gray = (gray - lo) / tf.maximum(hi - lo, 1e-6)  # stretch contrast: scans are rarely 0..1
    gray = tf.where(gray < BACKGROUND, 0.0, gray)

    ink = gray[..., 0] > INK_THRESHOLD
    rows = tf.where(tf.reduce_any(ink, axis=1))[:, 0]
    cols = tf.where(tf.reduce_any(ink, axis=0))[:, 0]

    def framed():
        y0, y1 = tf.cast(rows[0], tf.int32), tf.cast(rows[-1], tf.int32) + 1
        x0, x1 = tf.cast(cols[0], tf.int32), tf.cast(cols[-1], tf.int32) + 1
        crop = gray[y0:y1, x0:x1]
        h, w = tf.cast(y1 - y0, tf.float32), tf.cast(x1 - x0, tf.float32)
        scale = BOX / tf.maximum(h, w)
        nh = tf.maximum(1, tf.cast(tf.round(h * scale), tf.int32))
        nw = tf.maximum(1, tf.cast(tf.round(w * scale), tf.int32))
        small = tf.image.resize(crop, tf.stack([nh, nw]), method="area", antialias=True)
        small = tf.clip_by_value(small, 0.0, 1.0)
        top, left = (SIZE - nh) // 2, (SIZE - nw) // 2
        canvas = tf.pad(small, [[top, SIZE - nh - top], [left, SIZE - nw - left], [0, 0]])
        # Shift so that the centre of mass lands on the centre (13.5, 13.5),
        # as far as the digit stays inside the 28x28 field.
        mass = tf.reduce_sum(canvas) + 1e-6
        idx = tf.range(SIZE, dtype=tf.float32)
        cy = tf.reduce_sum(canvas[..., 0] * idx[:, None]) / mass
        cx = tf.reduce_sum(canvas[..., 0] * idx[None, :]) / mass
        dy = tf.clip_by_value(tf.cast(tf.round(13.5 - cy), tf.int32), -top, SIZE - nh - top)
        dx = tf.clip_by_value(tf.cast(tf.round(13.5 - cx), tf.int32), -left, SIZE - nw - left)
        padded = tf.pad(canvas, [[SIZE, SIZE], [SIZE, SIZE], [0, 0]])
        return padded[SIZE - dy: 2 * SIZE - dy, SIZE - dx: 2 * SIZE - dx]

    out = tf.cond(tf.size(rows) > 0, framed, lambda: tf.zeros([SIZE, SIZE, 1]))
    return tf.ensure_shape(out, [SIZE, SIZE, 1])
