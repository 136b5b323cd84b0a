"""The robustness benchmark's test sets: every condition built from the test digits, seeded.

Full resolution (noise, blur, MNIST-C's 15 corruptions) and a low-resolution
suite (5 to 28 px by three downsamplers; blur, noise, JPEG and contrast at 7
and 10 px; a blind "mixed" draw with a seed no training uses). Each condition
says which group it belongs to and, for MNIST-C, whether our training recipes
draw that family (``mnist_c.seen_note``): claims of generalization are only
about the families no recipe draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from hdsr_tf.data.blind import blur_batch, blur_kernels, degrade_blind, jpeg
from hdsr_tf.data.recipe import HR, load_recipe
from hdsr_tf.evaluation import corruptions, mnist_c

FULL_RES = [("clean", None), ("gaussian noise 0.1", ("gaussian_noise", 0.1)),
            ("gaussian noise 0.2", ("gaussian_noise", 0.2)), ("gaussian noise 0.3", ("gaussian_noise", 0.3)),
            ("gaussian blur 2.0", ("gaussian_blur", 2.0))]
LR_SIZES = (5, 6, 7, 8, 10, 12, 14, 28)
LR_METHODS = ("area", "bilinear", "bicubic")
DETAIL_SIZES = (7, 10)
MIXED_SEED = 20261127  # the held-out draw of the blind recipe: no training run uses this seed
MIXED_RECIPE = "blind"


@dataclass
class Condition:
    """One test set: ``parts`` are (indices into the test set, images of one size)."""

    group: str  # "full resolution", "MNIST-C" or "low resolution"
    name: str
    parts: list
    size: str = "28"
    note: str = ""
    targets: np.ndarray | None = None  # HR digits an SR image is compared with (default: the clean test digits)


def _float(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def _resize(x: np.ndarray, size: int, method: str) -> np.ndarray:
    if size == x.shape[1]:
        return x
    return np.clip(tf.image.resize(x, [size, size], method=method, antialias=True).numpy(), 0, 1)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    n = len(x)
    kernels = blur_kernels(tf.fill([n], sigma), tf.fill([n], sigma), tf.zeros([n]), tf.fill([n], 4))
    return blur_batch(tf.constant(x), kernels).numpy()


def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    s = x.shape[1]
    pad = np.zeros((len(x), HR, HR, 1), np.float32)
    pad[:, :s, :s] = x
    round_trip = tf.function(lambda batch: tf.map_fn(lambda im: jpeg(im, tf.constant(s), tf.constant(quality)), batch),
                             autograph=False)
    return round_trip(tf.constant(pad)).numpy()[:, :s, :s]  # in a graph: 10,000 digits in seconds, not a minute


def _contrast(x: np.ndarray, factor: float) -> np.ndarray:
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return np.clip((x - mean) * factor + mean, 0, 1)


def _all(name: str) -> bool:
    return True


def full_resolution_conditions(images: np.ndarray, seed: int, corruption_names=mnist_c.CORRUPTIONS, wanted=_all):
    idx = np.arange(len(images))
    for name, spec in FULL_RES:
        if wanted(name):
            x = _float(images) if spec is None else corruptions.apply(spec[0], images, spec[1], seed)
            yield Condition("full resolution", name, [(idx, x.astype(np.float32))])
    for name in corruption_names:
        if wanted(name):
            yield Condition("MNIST-C", name, [(idx, mnist_c.corrupt(name, images, seed))],
                            note=mnist_c.seen_note(name))


def low_resolution_conditions(images: np.ndarray, seed: int, sizes=LR_SIZES, detail_sizes=DETAIL_SIZES,
                              wanted=_all):
    """The suite's conditions in order; each is built only when ``wanted(name)`` (all by default)."""
    idx = np.arange(len(images))
    x = _float(images)
    for size in sizes:
        for method in LR_METHODS:
            name = f"{size} px {method}"
            if (size == HR and method != "area") or not wanted(name):
                continue  # 28 px is the digit itself, whatever the method
            yield Condition("low resolution", name, [(idx, _resize(x, size, method))], str(size))
    for size in detail_sizes:
        area = _resize(x, size, "area")
        name = f"{size} px blur 1.5 (at 28 px, then area)"
        if wanted(name):
            yield Condition("low resolution", name, [(idx, _resize(_blur(x, 1.5), size, "area"))], str(size))
        for sigma in (0.02, 0.05, 0.1):
            if wanted(f"{size} px noise {sigma}"):
                rng = np.random.default_rng([seed, size, round(sigma * 1000)])  # the same draw in any subset
                noisy = np.clip(area + rng.normal(0, sigma, area.shape).astype(np.float32), 0, 1)
                yield Condition("low resolution", f"{size} px noise {sigma}", [(idx, noisy)], str(size))
        for quality in (30, 50, 75):
            if wanted(f"{size} px JPEG {quality}"):
                yield Condition("low resolution", f"{size} px JPEG {quality}", [(idx, _jpeg(area, quality))],
                                str(size))
        if wanted(f"{size} px contrast 0.5"):
            yield Condition("low resolution", f"{size} px contrast 0.5", [(idx, _contrast(area, 0.5))], str(size))
    if wanted(f"mixed ({MIXED_RECIPE} recipe, held-out seed)"):
        yield mixed_condition(images, seed)


def mixed_condition(images: np.ndarray, seed: int, recipe_name: str = MIXED_RECIPE) -> Condition:
    """The blind recipe drawn with a seed no training uses: one LR size per digit (5 to 14 px)."""
    recipe = load_recipe(recipe_name)
    x = tf.constant(_float(images))
    draw = tf.function(lambda hr, key: degrade_blind(hr, key, recipe, out_size=None), autograph=False)  # a graph
    buffers, sizes, targets = [], [], []
    for start in range(0, len(images), 1000):
        key = tf.constant([MIXED_SEED + seed, start], tf.int64)
        buf, size, target = draw(x[start:start + 1000], key)
        buffers.append(buf.numpy())
        sizes.append(size.numpy())
        targets.append(target.numpy())
    buffers, sizes = np.concatenate(buffers), np.concatenate(sizes)
    parts = [(np.flatnonzero(sizes == s), buffers[sizes == s][:, :s, :s]) for s in np.unique(sizes)]
    return Condition("low resolution", f"mixed ({recipe_name} recipe, held-out seed)", parts,
                     f"{sizes.min()}-{sizes.max()}", targets=np.concatenate(targets))


SHORT = ("clean", "gaussian noise 0.2", "gaussian blur 2.0", "7 px area", "10 px bicubic", "10 px JPEG 50",
         "10 px noise 0.05", "6 px area", "mixed (blind recipe, held-out seed)")


def named_conditions(images: np.ndarray, names, seed: int = 0):
    """The benchmark's conditions with these names (full-resolution and low-resolution ones), in its
    order; only those are built."""
    names = set(names)
    sizes = sorted({int(n.split(" px")[0]) for n in names if " px " in n})
    yield from full_resolution_conditions(images, seed, wanted=names.__contains__)
    details = [s for s in sizes if s in DETAIL_SIZES]
    yield from low_resolution_conditions(images, seed, sizes=sizes, detail_sizes=details, wanted=names.__contains__)
