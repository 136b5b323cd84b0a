"""HR -> LR degradation as TensorFlow ops, so it runs inside tf.data.

Every random draw is stateless and keyed by (seed, example index): the same
seed gives the same LR image for the same example, in any process and in any
order the pipeline happens to run.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf


@dataclass(frozen=True)
class Degradation:
    """How LR images are made from HR ones. Defaults: plain area downsampling."""

    scale: int = 4
    method: str = "area"  # "area" or "bicubic"
    blur_sigma: tuple[float, float] = (0.0, 0.0)  # Gaussian blur sigma range, pixels of HR
    noise_sigma: tuple[float, float] = (0.0, 0.0)  # additive Gaussian noise range, in [0,1] units

    def __post_init__(self):
        if self.scale not in (1, 2, 4):  # 1: the any-size generator's pairs, made by a blind recipe
            raise ValueError(f"scale must be 1, 2 or 4, not {self.scale}")
        if self.method not in ("area", "bicubic"):
            raise ValueError(f"method must be 'area' or 'bicubic', not {self.method!r}")
        for name in ("blur_sigma", "noise_sigma"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name} must be a range 0 <= low <= high, not {(lo, hi)}")


def downsample(hr: tf.Tensor, scale: int, method: str = "area") -> tf.Tensor:
    """[..., H, W, C] float -> [..., H/scale, W/scale, C], no randomness."""
    h, w = hr.shape[-3], hr.shape[-2]
    # Static sizes when known, so models downstream see a fixed [h/scale, w/scale].
    size = [h // scale, w // scale] if h is not None and w is not None else tf.shape(hr)[-3:-1] // scale
    return tf.image.resize(hr, size, method=method, antialias=True)


def gaussian_blur(image: tf.Tensor, sigma: tf.Tensor, radius: int = 3) -> tf.Tensor:
    """Separable Gaussian blur of one [H,W,1] image; sigma 0 leaves it unchanged."""
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(x / tf.maximum(sigma, 1e-3)))
    kernel = kernel / tf.reduce_sum(kernel)
    batch = image[None]
    batch = tf.nn.conv2d(batch, tf.reshape(kernel, [-1, 1, 1, 1]), 1, "SAME")
    batch = tf.nn.conv2d(batch, tf.reshape(kernel, [1, -1, 1, 1]), 1, "SAME")
    return tf.where(sigma > 0, batch[0], image)


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


# ---------------------------------------------------------------- the blind degradation model
# Real-ESRGAN's idea (Wang et al. 2021, "training with pure synthetic data"), scaled to 28x28
# digits: a broad random family of blur, resize, noise and JPEG, optionally applied twice, so a
# model trained on it meets real low-resolution digits as one more draw from the family. Every
# image in a batch draws its own LR size and method: resizing is linear and separable, so each
# size/method pair is one precomputed matrix R and a resize is R X R^T, batched as an einsum
# over a 28x28 buffer whose top-left s x s corner holds an image of current size s.

HR = 28
MIN_SIZE = 4
RESIZE_METHODS = ("area", "bilinear", "bicubic", "nearest")
KERNEL = 9  # largest blur kernel, pixels (radius 4)


@dataclass(frozen=True)
class Pass:
    """One round of blur -> resize -> noise -> JPEG (Real-ESRGAN has two)."""

    blur_prob: float = 0.0
    blur_sigma: tuple[float, float] = (0.2, 1.5)  # pixels of the image the pass starts from
    anisotropic_prob: float = 0.5  # else isotropic
    kernel_sizes: tuple[int, int] = (3, 9)  # odd sizes drawn in this range (truncation)
    gaussian_noise_prob: float = 0.0
    gaussian_noise: tuple[float, float] = (0.0, 0.1)  # sigma, [0,1] units
    poisson_prob: float = 0.0
    poisson_photons: tuple[float, float] = (5.0, 1000.0)  # log-uniform; x' = Poisson(x n) / n
    jpeg_prob: float = 0.0
    jpeg_quality: tuple[int, int] = (30, 95)


@dataclass(frozen=True)
class Recipe:
    """A blind degradation family, read from a JSON recipe file (``recipes/*.json``).

    The LR size is drawn uniformly from ``lr_sizes`` (inclusive) unless the image
    keeps full resolution (``full_resolution_prob``); with ``second_pass_prob``
    the first pass shrinks to an intermediate size between the final one and 28.
    """

    name: str = "clean"
    lr_sizes: tuple[int, int] = (7, 7)
    full_resolution_prob: float = 0.0
    resize_methods: tuple[str, ...] = ("area",)
    stroke_prob: float = 0.0  # thin or thicken the strokes (grey-level erosion/dilation, blended)
    stroke_range: tuple[float, float] = (-0.5, 1.0)  # <0 erodes, >0 dilates; 1 = one full 3x3 dilation
    affine_prob: float = 0.0
    rotation_deg: float = 0.0
    shear: float = 0.0  # radians
    zoom: tuple[float, float] = (1.0, 1.0)
    shift: float = 0.0  # pixels
    first: Pass = Pass()
    second_pass_prob: float = 0.0
    second: Pass = Pass()
    photometric_prob: float = 0.0  # background level, ink level and gamma
    background: tuple[float, float] = (0.0, 0.0)
    ink: tuple[float, float] = (1.0, 1.0)
    gamma: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self):
        lo, hi = self.lr_sizes
        if not MIN_SIZE <= lo <= hi <= HR:
            raise ValueError(f"{self.name}: lr_sizes must satisfy {MIN_SIZE} <= low <= high <= {HR}, "
                             f"not {self.lr_sizes}")
        bad = set(self.resize_methods) - set(RESIZE_METHODS)
        if bad or not self.resize_methods:
            raise ValueError(f"{self.name}: resize_methods must be among {RESIZE_METHODS}, not {self.resize_methods}")
        for p in (self.first, self.second):
            k_lo, k_hi = p.kernel_sizes
            if not 1 <= k_lo <= k_hi <= KERNEL:
                raise ValueError(f"{self.name}: kernel_sizes must lie in [1, {KERNEL}], not {p.kernel_sizes}")
            if not 1 <= p.jpeg_quality[0] <= p.jpeg_quality[1] <= 100:
                raise ValueError(f"{self.name}: jpeg_quality must lie in [1, 100], not {p.jpeg_quality}")

    def families(self) -> list[str]:
        """The degradation families this recipe can draw: what a model trained on it has seen."""
        seen = []
        if self.lr_sizes != (HR, HR):
            seen.append("resize(" + "/".join(self.resize_methods) + f", {self.lr_sizes[0]}-{self.lr_sizes[1]} px)")
        checks = [(self.stroke_prob, "stroke width"), (self.affine_prob, "affine (rotate/shear/zoom/shift)"),
                  (max(self.first.blur_prob, self.second.blur_prob * self.second_pass_prob), "Gaussian blur"),
                  (max(self.first.gaussian_noise_prob, self.second.gaussian_noise_prob * self.second_pass_prob),
                   "Gaussian noise"),
                  (max(self.first.poisson_prob, self.second.poisson_prob * self.second_pass_prob), "Poisson noise"),
                  (max(self.first.jpeg_prob, self.second.jpeg_prob * self.second_pass_prob), "JPEG"),
                  (self.photometric_prob, "brightness/contrast/gamma")]
        return seen + [name for prob, name in checks if prob > 0]

    @classmethod
    def from_dict(cls, values: dict) -> "Recipe":
        values = {k: v for k, v in values.items() if not k.startswith("_")}  # "_about" is a comment
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown recipe settings {sorted(unknown)}")
        for key in ("first", "second"):
            if key in values:
                sub = values[key]
                bad = set(sub) - set(Pass.__dataclass_fields__)
                if bad:
                    raise ValueError(f"unknown settings in {key!r}: {sorted(bad)}")
                values[key] = Pass(**{k: tuple(v) if isinstance(v, list) else v for k, v in sub.items()})
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


RECIPE_DIR = Path(__file__).with_name("recipes")


def load_recipe(name_or_path: str) -> Recipe:
    """A recipe by name (``hdsr_tf/data/recipes/<name>.json``) or by path to a JSON file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = RECIPE_DIR / f"{name_or_path}.json"
    try:
        values = json.loads(path.read_text())
    except OSError as e:
        known = ", ".join(sorted(p.stem for p in RECIPE_DIR.glob("*.json")))
        raise ValueError(f"cannot read recipe {name_or_path!r} ({e.strerror or e}); shipped recipes: {known}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"recipe {path} is not valid JSON: {e}") from None
    values.setdefault("name", path.stem)
    return Recipe.from_dict(values)


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
