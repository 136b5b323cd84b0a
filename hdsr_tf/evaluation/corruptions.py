"""Seeded test-set corruptions for the robustness study.

Each takes uint8 [N,28,28,1] digits and a severity and returns float32 images
in [0,1] at 28x28, except ``downsample``, which returns the LR digits (the
readers decide how to bring them back up). The same seed gives the same
corrupted set, so reruns give the same numbers.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from scipy import ndimage

from hdsr_tf.data import degrade

CORRUPTIONS = {
    "gaussian_noise": [0.1, 0.2, 0.3, 0.4, 0.5],  # sigma, in [0,1] units
    "gaussian_blur": [0.5, 1.0, 1.5, 2.0],  # sigma, pixels
    "rotation": [10, 20, 30, 40],  # max degrees, random sign
    "elastic": [1.0, 2.0, 3.0],  # displacement alpha (pixels), smoothing sigma 4
    "downsample": [2, 3, 4],  # factor; 3 gives 9x9
}


def _float(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def gaussian_noise(images, sigma, seed=0):
    rng = np.random.default_rng(seed)
    x = _float(images)
    return np.clip(x + rng.normal(0, sigma, x.shape).astype(np.float32), 0, 1)


def gaussian_blur(images, sigma, seed=0):
    return degrade.gaussian_blur(tf.constant(_float(images)), tf.constant(float(sigma))).numpy()


def rotation(images, max_degrees, seed=0):
    rng = np.random.default_rng(seed)
    x = _float(images)
    angles = rng.uniform(-max_degrees, max_degrees, len(x))
    return np.stack([np.clip(ndimage.rotate(im, a, reshape=False, order=1, mode="constant"), 0, 1)
                     for im, a in zip(x, angles)]).astype(np.float32)


def elastic(images, alpha, seed=0, sigma=4.0):
    """Simard-style elastic distortion: smoothed random displacement fields (handwriting-style wobble)."""
    rng = np.random.default_rng(seed)
    x = _float(images)
    yy, xx = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    out = np.empty_like(x)
    for i, im in enumerate(x):
        dx = ndimage.gaussian_filter(rng.uniform(-1, 1, (28, 28)), sigma) * alpha * sigma
        dy = ndimage.gaussian_filter(rng.uniform(-1, 1, (28, 28)), sigma) * alpha * sigma
        out[i, ..., 0] = ndimage.map_coordinates(im[..., 0], [yy + dy, xx + dx], order=1, mode="constant")
    return np.clip(out, 0, 1)


def downsample(images, factor, seed=0):
    size = int(round(28 / factor))
    return tf.image.resize(tf.constant(_float(images)), [size, size], method="area", antialias=True).numpy()


def apply(name: str, images: np.ndarray, severity, seed: int = 0) -> np.ndarray:
    return globals()[name](images, severity, seed)
