"""HR -> LR degradation as TensorFlow ops, so it runs inside tf.data.

Every random draw is stateless and keyed by (seed, example index): the same
seed gives the same LR image for the same example, in any process and in any
order the pipeline happens to run.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from hdsr_tf.errors import UsageError


@dataclass(frozen=True)
class Degradation:
    """How LR images are made from HR ones. Defaults: plain area downsampling."""

    scale: int = 4
    method: str = "area"  # "area" or "bicubic"
    blur_sigma: tuple[float, float] = (0.0, 0.0)  # Gaussian blur sigma range, pixels of HR
    noise_sigma: tuple[float, float] = (0.0, 0.0)  # additive Gaussian noise range, in [0,1] units

    def __post_init__(self):
        if self.scale not in (1, 2, 4):  # 1: the any-size generator's pairs, made by a blind recipe
            raise UsageError(f"scale must be 1, 2 or 4, not {self.scale}")
        if self.method not in ("area", "bicubic"):
            raise UsageError(f"method must be 'area' or 'bicubic', not {self.method!r}")
        for name in ("blur_sigma", "noise_sigma"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise UsageError(f"{name} must be a range 0 <= low <= high, not {(lo, hi)}")


def downsample(hr: tf.Tensor, scale: int, method: str = "area") -> tf.Tensor:
    """[..., H, W, C] float -> [..., H/scale, W/scale, C], no randomness."""
    h, w = hr.shape[-3], hr.shape[-2]
    # Static sizes when known, so models downstream see a fixed [h/scale, w/scale].
    size = [h // scale, w // scale] if h is not None and w is not None else tf.shape(hr)[-3:-1] // scale
    return tf.image.resize(hr, size, method=method, antialias=True)


def gaussian_blur(image: tf.Tensor, sigma: tf.Tensor, radius: int = 3) -> tf.Tensor:
    """Separable Gaussian blur of one [H,W,1] image or a [B,H,W,1] batch; sigma 0 leaves it unchanged."""
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(x / tf.maximum(sigma, 1e-3)))
    kernel = kernel / tf.reduce_sum(kernel)
    batch = image if image.shape.rank == 4 else image[None]
    blurred = tf.nn.conv2d(batch, tf.reshape(kernel, [-1, 1, 1, 1]), 1, "SAME")
    blurred = tf.nn.conv2d(blurred, tf.reshape(kernel, [1, -1, 1, 1]), 1, "SAME")
    blurred = blurred if image.shape.rank == 4 else blurred[0]
    return tf.where(sigma > 0, blurred, image)


def degrade(hr: tf.Tensor, index: tf.Tensor, config: Degradation, seed: int) -> tf.Tensor:
    """One float32 [H,W,1] HR image in [0,1] -> its LR version, keyed by its index."""
    key = tf.stack([tf.cast(seed, tf.int64), tf.cast(index, tf.int64)])
    image = hr
    if config.blur_sigma[1] > 0:
        sigma = tf.random.stateless_uniform([], key, *config.blur_sigma)
        image = gaussian_blur(image, sigma)
    lr = downsample(image, config.scale, config.method)
    if config.noise_sigma[1] > 0:
        k1, k2 = tf.unstack(tf.random.experimental.stateless_split(key, 2))
        sigma = tf.random.stateless_uniform([], k1, *config.noise_sigma)
        lr = lr + sigma * tf.random.stateless_normal(tf.shape(lr), k2)
    return tf.clip_by_value(lr, 0.0, 1.0)


def transform(images: tf.Tensor, transforms: tf.Tensor, interpolation: str) -> tf.Tensor:
    """Applies one projective transform per image ([B,8]), zero fill, keeping the static shape."""
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
        fill_value=0.0, interpolation=interpolation, fill_mode="CONSTANT")
    out.set_shape(images.shape)  # the raw op forgets the static size
    return out
