"""The blind degradation model: a batch of digits -> a batch drawn from a recipe's family.

Real-ESRGAN's idea (Wang et al. 2021, "training with pure synthetic data"), scaled to 28x28
digits: a broad random family of blur, resize, noise and JPEG, optionally applied twice, so a
model trained on it meets real low-resolution digits as one more draw from the family. Every
image in a batch draws its own LR size and method: resizing is linear and separable, so each
size/method pair is one precomputed matrix R and a resize is R X R^T, batched as an einsum
over a 28x28 buffer whose top-left s x s corner holds an image of current size s.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import tensorflow as tf

from hdsr_tf.data.degrade import transform
from hdsr_tf.data.recipe import HR, KERNEL, MIN_SIZE, Pass, Recipe


@functools.cache
def _resize_matrices(method: str, antialias: bool = True) -> np.ndarray:
    """[29, 29, 28, 28]: entry [a, b] resizes a length-a signal to length b (top-left corner),
    exactly as ``tf.image.resize`` does along one axis."""
    table = np.zeros((HR + 1, HR + 1, HR, HR), np.float32)
    with tf.init_scope():  # eager even when first asked for while a graph is being traced
        for a in range(MIN_SIZE, HR + 1):
            basis = tf.eye(a)[:, :, None, None]  # a images of height a, width 1
            for b in range(MIN_SIZE, HR + 1):
                out = tf.image.resize(basis, [b, 1], method=method, antialias=antialias)
                table[a, b, :b, :a] = out.numpy()[:, :, 0, 0].T
    return table


@functools.cache
def _canonical_matrices(size: int) -> np.ndarray:
    """[29, 28, 28]: entry [s] brings an s x s image to ``size`` the way ResizeTo does
    (area when shrinking, bicubic when enlarging, identity when equal)."""
    area, bicubic = _resize_matrices("area"), _resize_matrices("bicubic", antialias=False)
    table = np.zeros((HR + 1, HR, HR), np.float32)
    for s in range(MIN_SIZE, HR + 1):
        table[s] = area[s, size] if s > size else bicubic[s, size] if s < size else np.diag(np.arange(HR) < size)
    return table


def _resize(x: tf.Tensor, matrices: tf.Tensor) -> tf.Tensor:
    """Per-image separable resize of [B,28,28] buffers by [B,28,28] matrices."""
    return tf.einsum("bij,bjk,blk->bil", matrices, x, matrices)


def _corner(size: tf.Tensor) -> tf.Tensor:
    """[B] sizes -> [B,28,28] masks of each image's top-left size x size corner."""
    idx = tf.range(HR)
    inside = idx[None, :] < size[:, None]
    return tf.cast(tf.logical_and(inside[:, :, None], inside[:, None, :]), tf.float32)


class _Draws:
    """Stateless random draws for one batch, each from its own key split off ``key``."""

    def __init__(self, key: tf.Tensor, batch: tf.Tensor):
        self.key, self.batch, self.count = key, batch, 0

    def _next(self) -> tf.Tensor:
        self.count += 1
        return tf.random.experimental.stateless_fold_in(self.key, self.count)

    def uniform(self, lo, hi, shape=None) -> tf.Tensor:
        return tf.random.stateless_uniform(shape or [self.batch], self._next(), lo, hi)

    def log_uniform(self, lo, hi) -> tf.Tensor:
        return tf.exp(self.uniform(math.log(lo), math.log(hi)))

    def chance(self, prob: float) -> tf.Tensor:
        return self.uniform(0.0, 1.0) < prob

    def integer(self, lo: int, hi: int) -> tf.Tensor:
        """Uniform integers in [lo, hi] inclusive."""
        return tf.random.stateless_uniform([self.batch], self._next(), lo, hi + 1, dtype=tf.int32)

    def normal(self, shape) -> tf.Tensor:
        return tf.random.stateless_normal(shape, self._next())

    def poisson(self, lam: tf.Tensor) -> tf.Tensor:
        return tf.random.stateless_poisson(tf.shape(lam), self._next(), lam, dtype=tf.float32)


def _pick(mask: tf.Tensor, new: tf.Tensor, old: tf.Tensor) -> tf.Tensor:
    return tf.where(tf.reshape(mask, [-1] + [1] * (len(old.shape) - 1)), new, old)


def _stroke(x: tf.Tensor, d: _Draws, recipe: Recipe) -> tf.Tensor:
    amount = d.uniform(*recipe.stroke_range)[:, None, None, None]
    grown = tf.nn.max_pool2d(x, 3, 1, "SAME")
    thinned = -tf.nn.max_pool2d(-x, 3, 1, "SAME")
    changed = tf.where(amount >= 0, x + amount * (grown - x), x + (-amount) * (thinned - x))
    return _pick(d.chance(recipe.stroke_prob), changed, x)


def _affine(x: tf.Tensor, d: _Draws, recipe: Recipe) -> tf.Tensor:
    """Rotation, shear, zoom and shift about the image centre, bilinear, zero fill."""
    angle = d.uniform(-1.0, 1.0) * recipe.rotation_deg * math.pi / 180
    shear = d.uniform(-recipe.shear, recipe.shear) if recipe.shear else tf.zeros([d.batch])
    zoom = d.uniform(*recipe.zoom) if recipe.zoom[0] < recipe.zoom[1] else tf.fill([d.batch], recipe.zoom[0])
    tx, ty = d.uniform(-recipe.shift, recipe.shift), d.uniform(-recipe.shift, recipe.shift)
    # Forward map A = zoom * R(angle) * Shear; the op wants the inverse (output -> input).
    cos, sin, t = tf.cos(angle), tf.sin(angle), tf.tan(shear)
    a11, a12, a21, a22 = zoom * cos, zoom * (cos * t - sin), zoom * sin, zoom * (sin * t + cos)
    det = a11 * a22 - a12 * a21
    i11, i12, i21, i22 = a22 / det, -a12 / det, -a21 / det, a11 / det
    c = (HR - 1) / 2
    ox = c - i11 * (c + tx) - i12 * (c + ty)
    oy = c - i21 * (c + tx) - i22 * (c + ty)
    zeros = tf.zeros_like(cos)
    moved = transform(x, tf.stack([i11, i12, ox, i21, i22, oy, zeros, zeros], axis=1), "BILINEAR")
    return _pick(d.chance(recipe.affine_prob), moved, x)


def blur_kernels(sigma_x: tf.Tensor, sigma_y: tf.Tensor, angle: tf.Tensor, radius: tf.Tensor) -> tf.Tensor:
    """[B] parameters -> [B,9,9] normalized Gaussian kernels, truncated to each one's radius."""
    r = tf.range(-(KERNEL // 2), KERNEL // 2 + 1, dtype=tf.float32)
    yy, xx = tf.meshgrid(r, r, indexing="ij")
    cos, sin = tf.cos(angle)[:, None, None], tf.sin(angle)[:, None, None]
    u = cos * xx + sin * yy
    v = -sin * xx + cos * yy
    k = tf.exp(-0.5 * (tf.square(u / sigma_x[:, None, None]) + tf.square(v / sigma_y[:, None, None])))
    inside = tf.maximum(tf.abs(xx), tf.abs(yy))[None] <= tf.cast(radius, tf.float32)[:, None, None]
    k = tf.where(inside, k, 0.0)
    return k / tf.reduce_sum(k, axis=[1, 2], keepdims=True)


def blur_batch(x: tf.Tensor, kernels: tf.Tensor) -> tf.Tensor:
    """Each [B,H,W,1] image convolved with its own [B,9,9] kernel (zero padding)."""
    stacked = tf.transpose(x, [3, 1, 2, 0])  # images as channels of one image
    out = tf.nn.depthwise_conv2d(stacked, tf.transpose(kernels, [1, 2, 0])[:, :, :, None], [1, 1, 1, 1], "SAME")
    return tf.transpose(out, [3, 1, 2, 0])


def _random_blur(x: tf.Tensor, d: _Draws, p: Pass) -> tf.Tensor:
    sx = d.uniform(*p.blur_sigma)
    sy = tf.where(d.chance(p.anisotropic_prob), d.uniform(*p.blur_sigma), sx)
    radius = d.integer(p.kernel_sizes[0] // 2, p.kernel_sizes[1] // 2)
    kernels = blur_kernels(sx, sy, d.uniform(0.0, math.pi), radius)
    return _pick(d.chance(p.blur_prob), blur_batch(x, kernels), x)


def _random_noise(x: tf.Tensor, size: tf.Tensor, d: _Draws, p: Pass) -> tf.Tensor:
    mask = _corner(size)[..., None]
    sigma = d.uniform(*p.gaussian_noise)[:, None, None, None]
    noisy = x + sigma * d.normal(tf.shape(x)) * mask
    x = _pick(d.chance(p.gaussian_noise_prob), noisy, x)
    photons = d.log_uniform(*p.poisson_photons)[:, None, None, None]
    shot = d.poisson(tf.clip_by_value(x, 0.0, 1.0) * photons) / photons
    return _pick(d.chance(p.poisson_prob), shot, x)


def jpeg(image: tf.Tensor, size: tf.Tensor, quality: tf.Tensor) -> tf.Tensor:
    """JPEG round trip of one [28,28,1] buffer's size x size corner at ``quality``."""
    corner = tf.clip_by_value(image[:size, :size], 0.0, 1.0)
    out = tf.image.adjust_jpeg_quality(corner, quality)
    return tf.pad(out, [[0, HR - size], [0, HR - size], [0, 0]])


def _random_jpeg(x: tf.Tensor, size: tf.Tensor, d: _Draws, p: Pass) -> tf.Tensor:
    if p.jpeg_prob == 0:
        return x
    quality = d.integer(*p.jpeg_quality)
    chosen = tf.where(d.chance(p.jpeg_prob))[:, 0]
    done = tf.map_fn(lambda a: jpeg(a[0], a[1], a[2]),
                     (tf.gather(x, chosen), tf.gather(size, chosen), tf.gather(quality, chosen)),
                     fn_output_signature=tf.TensorSpec([HR, HR, 1], tf.float32))
    return tf.tensor_scatter_nd_update(x, chosen[:, None], done)


def _random_resize(x: tf.Tensor, size: tf.Tensor, target: tf.Tensor, d: _Draws, recipe: Recipe) -> tf.Tensor:
    tables = tf.constant(np.stack([_resize_matrices(m) for m in recipe.resize_methods]))
    method = d.integer(0, len(recipe.resize_methods) - 1)
    matrices = tf.gather_nd(tables, tf.stack([method, size, target], axis=1))
    return _resize(x[..., 0], matrices)[..., None]


def _run_pass(x, size, target, d: _Draws, recipe: Recipe, p: Pass):
    x = _random_blur(x, d, p) if p.blur_prob > 0 else x
    x = _random_resize(x, size, target, d, recipe)
    x = _random_noise(x, target, d, p) if p.gaussian_noise_prob + p.poisson_prob > 0 else x
    x = tf.clip_by_value(x, 0.0, 1.0)
    return _random_jpeg(x, target, d, p)


def _photometric(x: tf.Tensor, size: tf.Tensor, d: _Draws, recipe: Recipe) -> tf.Tensor:
    background = d.uniform(*recipe.background)[:, None, None, None]
    ink = d.uniform(*recipe.ink)[:, None, None, None]
    ink = tf.maximum(ink, background + 0.25)  # keep the digit visible
    gamma = d.log_uniform(*recipe.gamma)[:, None, None, None] if recipe.gamma[0] < recipe.gamma[1] \
        else tf.fill([d.batch, 1, 1, 1], recipe.gamma[0])
    changed = (background + (ink - background) * tf.pow(tf.clip_by_value(x, 0.0, 1.0), gamma)) \
        * _corner(size)[..., None]
    return _pick(d.chance(recipe.photometric_prob), changed, x)


def degrade_blind(hr: tf.Tensor, key: tf.Tensor, recipe: Recipe,
                  out_size: int | None) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """A [B,28,28,1] float batch in [0,1] -> (its degraded images brought to ``out_size``, [B] LR sizes,
    the HR targets: the digits after the stroke and affine changes, before any loss of quality).

    The output is what a model sees after the export's ResizeTo: LR images
    enlarged (bicubic) or shrunk (area) to ``out_size``. With ``out_size`` None
    it is the raw 28x28 buffers, image i in the top-left size[i] x size[i]
    corner. ``key`` is an int64 [2] stateless seed; the same key gives the same batch.
    """
    batch = tf.shape(hr)[0]
    d = _Draws(key, batch)
    x = tf.ensure_shape(tf.cast(hr, tf.float32), [None, HR, HR, 1])
    if recipe.stroke_prob > 0:
        x = _stroke(x, d, recipe)
    if recipe.affine_prob > 0:
        x = _affine(x, d, recipe)
    target = x
    final = tf.where(d.chance(recipe.full_resolution_prob), HR, d.integer(*recipe.lr_sizes))
    second = d.chance(recipe.second_pass_prob)
    between = final + tf.cast(d.uniform(0.0, 1.0) * tf.cast(HR - final + 1, tf.float32), tf.int32)
    middle = tf.where(second, tf.minimum(between, HR), final)
    full = tf.fill([batch], HR)
    x = _run_pass(x, full, middle, d, recipe, recipe.first)
    if recipe.second_pass_prob > 0:
        x = _pick(second, _run_pass(x, middle, final, d, recipe, recipe.second), x)
    if recipe.photometric_prob > 0:
        x = _photometric(x, final, d, recipe)
    if out_size is None:
        return tf.clip_by_value(x, 0.0, 1.0), final, target
    out = _resize(x[..., 0], tf.gather(tf.constant(_canonical_matrices(out_size)), final))[..., None]
    return tf.clip_by_value(out[:, :out_size, :out_size], 0.0, 1.0), final, target
