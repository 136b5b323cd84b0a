"""The 15 corruptions of MNIST-C (Mu & Gilmer 2019), rebuilt from the paper's definitions.

Each function takes float32 [N,28,28] digits in [0,1] and a numpy Generator and
returns the corrupted digits, same shape, in [0,1], at the single severity the
MNIST-C benchmark uses. The published MNIST-C set is a download, and nothing
here downloads: this is our own seeded rendering of the same definitions, so
figures are comparable to each other, and close to, not identical with, the
published set's. ``IN_TRAINING`` names the families our blind degradation
model (hdsr_tf/data/recipes) also draws; ``NEAR_TRAINING`` those that no recipe
draws by name but that a recipe step partly resembles; only the rest are
held out of all training, and the report gives the held-out mean both ways.
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np
from scipy import ndimage

from hdsr_tf.errors import UsageError

CORRUPTIONS = ("shot_noise", "impulse_noise", "glass_blur", "motion_blur", "shear", "scale", "rotate",
               "brightness", "translate", "stripe", "fog", "spatter", "dotted_line", "zigzag", "canny_edges")
# Families the blind recipes draw from too (at their own ranges): Poisson noise, affine jitter, brightness.
IN_TRAINING = {"shot_noise", "shear", "scale", "rotate", "brightness", "translate"}
# Not drawn by name, but close to a step the recipes draw (blind.json, recognizer.json): motion blur is a
# blur along one direction, and the recipes' anisotropic Gaussian blur at a random angle (sigma up to
# 2.0 / 2.5) covers much of it; fog's contrast drop is partly the brightness/contrast/gamma step; glass
# blur ends in a Gaussian blur after its local pixel shuffles.
NEAR_TRAINING = {"motion_blur": "anisotropic Gaussian blur", "fog": "brightness/contrast/gamma",
                 "glass_blur": "Gaussian blur"}


def seen_note(name: str) -> str:
    """What the training recipes drew of this family: the label of its report row."""
    if name in IN_TRAINING:
        return "seen family"
    if name in NEAR_TRAINING:
        return f"near a trained step: {NEAR_TRAINING[name]}"
    return "held out of all training"
CENTRE = 13.5


def _warp(x: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Output pixel (col,row) p samples input M p + t, with t keeping the centre fixed (bilinear, zero fill)."""
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float64)
    out = np.empty_like(x)
    for i, m in enumerate(matrices):
        t = CENTRE - m @ np.array([CENTRE, CENTRE])
        c = m[0, 0] * cols + m[0, 1] * rows + t[0]
        r = m[1, 0] * cols + m[1, 1] * rows + t[1]
        out[i] = ndimage.map_coordinates(x[i], [r, c], order=1, mode="constant", cval=0.0)
    return out


def _signs(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice([-1.0, 1.0], n)


def shot_noise(x, rng):
    photons = 3.0
    return np.clip(rng.poisson(x * photons) / photons, 0, 1)


def impulse_noise(x, rng):
    amount = 0.17  # fraction of pixels replaced, half by 0 (pepper), half by 1 (salt)
    hit = rng.random(x.shape) < amount
    salt = rng.random(x.shape) < 0.5
    return np.where(hit, salt.astype(x.dtype), x)


def _gauss(x: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(x, sigma=(0, sigma, sigma), mode="nearest", truncate=4.0)


def glass_blur(x, rng):
    """Blur (sigma 0.7), then twice jitter each pixel by swapping it with a neighbour up/left, then blur again."""
    sigma, delta, rounds = 0.7, 1, 2
    y = np.floor(_gauss(x, sigma) * 255) / 255
    n = np.arange(len(y))
    for _ in range(rounds):  # the swaps run in order within an image, all images at once
        for h in range(28 - delta, delta, -1):
            for w in range(28 - delta, delta, -1):
                swap = rng.random(len(y)) < 0.5
                dy, dx = rng.integers(-delta, delta, (2, len(y)))
                i, hh, ww = n[swap], h + dy[swap], w + dx[swap]
                here, there = y[i, h, w], y[i, hh, ww]
                y[i, h, w], y[i, hh, ww] = there, here
    return np.clip(_gauss(y, sigma), 0, 1)


def motion_blur(x, rng):
    """One-sided Gaussian-weighted streak (length 10, sigma 3) at an angle drawn in [-45, 45] degrees."""
    length, sigma = 10, 3.0
    steps = np.arange(length, dtype=np.float64)
    weights = np.exp(-0.5 * (steps / sigma) ** 2)
    weights /= weights.sum()
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float64)
    out = np.zeros_like(x)
    for i, angle in enumerate(np.deg2rad(rng.uniform(-45, 45, len(x)))):
        for s, w in zip(steps, weights):
            out[i] += w * ndimage.map_coordinates(x[i], [rows - s * np.sin(angle), cols - s * np.cos(angle)],
                                                  order=1, mode="nearest")
    return np.clip(out, 0, 1)


def shear(x, rng):
    angles = 0.4 * _signs(len(x), rng)
    m = np.zeros((len(x), 2, 2))
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 1] = 1.0, -np.sin(angles), np.cos(angles)
    return np.clip(_warp(x, m), 0, 1)


def scale(x, rng):
    m = np.repeat((np.eye(2) / 0.7)[None], len(x), 0)  # sampling 1/0.7 as far: the digit shrinks to 70%
    return np.clip(_warp(x, m), 0, 1)


def rotate(x, rng):
    a = 0.4 * _signs(len(x), rng)
    m = np.stack([np.stack([np.cos(a), -np.sin(a)], -1), np.stack([np.sin(a), np.cos(a)], -1)], 1)
    return np.clip(_warp(x, m), 0, 1)


def brightness(x, rng):
    return np.clip(x + 0.5, 0, 1)  # HSV value + 0.5; for gray pixels the value is the pixel


def translate(x, rng):
    shift = 3.0 * np.stack([_signs(len(x), rng), _signs(len(x), rng)], 1)
    return np.stack([ndimage.shift(img, (dy, dx), order=0, mode="constant") for img, (dx, dy) in zip(x, shift)])


def stripe(x, rng):
    y = x.copy()
    y[:, :, :7] = 1 - y[:, :, :7]
    y[:, :, 21:] = 1 - y[:, :, 21:]
    return y


def plasma(rng: np.random.Generator, size: int = 256, decay: float = 1.4) -> np.ndarray:
    """Diamond-square fractal noise in [0,1] (the fog texture)."""
    grid = np.zeros((size, size))
    step, wibble = size, 100.0
    while step >= 2:
        half = step // 2
        corners = grid[0:size:step, 0:size:step]
        centre = (corners + np.roll(corners, -1, 0) + np.roll(corners, -1, 1) + np.roll(np.roll(corners, -1, 0), -1, 1))
        grid[half:size:step, half:size:step] = centre / 4 + wibble * rng.uniform(-wibble, wibble, centre.shape)
        centres = grid[half:size:step, half:size:step]
        left = centres + np.roll(centres, 1, 1) + corners + np.roll(corners, -1, 0)
        grid[half:size:step, 0:size:step] = left / 4 + wibble * rng.uniform(-wibble, wibble, left.shape)
        top = centres + np.roll(centres, 1, 0) + corners + np.roll(corners, -1, 1)
        grid[0:size:step, half:size:step] = top / 4 + wibble * rng.uniform(-wibble, wibble, top.shape)
        step, wibble = half, wibble / decay
    grid -= grid.min()
    return grid / grid.max()


def fog(x, rng):
    strength = 3.0
    peak = x.max(axis=(1, 2), keepdims=True)
    haze = np.stack([plasma(rng)[:28, :28] for _ in range(len(x))])
    return np.clip((x + strength * haze) * peak / (peak + strength), 0, 1)


def spatter(x, rng):
    """Mud drops: thresholded blurred noise, softened into opaque grey (63/255) blotches."""
    liquid = _gauss(rng.normal(0.65, 0.3, x.shape), 1.0)
    liquid[liquid < 0.65] = 0
    mask = _gauss((liquid > 0.65).astype(np.float64), 1.5)
    mask[mask < 0.8] = 0
    return np.clip(x * (1 - mask) + 63 / 255 * mask, 0, 1)


def line_profile(c0: float, r0: float, c1: float, r1: float) -> np.ndarray:
    """A 28x28 antialiased line between columns c0..c1: 1 on the line, log-decaying to 0 at 2.3 px."""
    if c1 == c0:
        return np.zeros((28, 28))
    cols, rows = np.meshgrid(np.arange(28.0), np.arange(28.0))
    dist = np.clip(np.abs(rows - (r0 + (r1 - r0) / (c1 - c0) * (cols - c0))), 0, 2.3 - 1e-10)
    line = np.clip(np.log(1 - dist / 2.3) + 1, 0, 1)
    line[:, :int(np.floor(c0))] = 0
    line[:, int(np.ceil(c1)):] = 0
    return line


def dotted_line(x, rng):
    out = np.empty_like(x)
    off = (np.arange(28) // 2) % 2 == 0  # columns 0-1 off, 2-3 on, ...
    for i, img in enumerate(x):
        r0, r1 = rng.integers(0, 27, 2)
        line = line_profile(0, r0, 27, r1)
        line[:, off] = 0
        out[i] = np.clip(img + line, 0, 1)
    return out


def zigzag(x, rng):
    """A zigzag (segments 2 px long, 2 px amplitude) across columns 2-25 at a random height and slope."""
    out = np.empty_like(x)
    for i, img in enumerate(x):
        c0, c1 = 2.0, 25.0
        r0 = float(rng.integers(0, 27))
        r1 = r0 + float(rng.integers(-5, 5))
        theta = np.arctan((r1 - r0) / (c1 - c0))
        length = (c1 - c0) / np.cos(theta)
        along = [0.0] + [(2 * k + 1) * 2.0 for k in range(int((length - 2.0) // 4.0) + 1)] + [length]
        across = [0.0] + [(-1) ** k * 2.0 for k in range(len(along) - 2)] + [0.0]
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        cs, rs = rot @ np.array([along, across])
        cs, rs = cs + c0, rs + r0
        y = img.copy()
        for k in range(1, len(cs)):
            a, b = (k - 1, k) if cs[k - 1] <= cs[k] else (k, k - 1)
            y = np.clip(y + line_profile(cs[a], rs[a], cs[b], rs[b]), 0, 1)
        out[i] = y
    return out


def canny_edges(x, rng):
    """Canny edge map (Gaussian sigma 1, hysteresis 0.1 / 0.2 on the Sobel magnitude of [0,1] pixels)."""
    out = np.empty_like(x)
    for i, img in enumerate(x):
        smooth = cv2.GaussianBlur(img.astype(np.float64), (0, 0), 1.0)
        dx = np.round(cv2.Sobel(smooth, cv2.CV_64F, 1, 0, ksize=3) * 1000).astype(np.int16)
        dy = np.round(cv2.Sobel(smooth, cv2.CV_64F, 0, 1, ksize=3) * 1000).astype(np.int16)
        out[i] = cv2.Canny(dx, dy, 100, 200, L2gradient=True) / 255.0
    return out


def corrupt(name: str, images: np.ndarray, seed: int = 0) -> np.ndarray:
    """uint8 or [0,1] float [N,28,28(,1)] -> float32 [N,28,28,1] in [0,1]; the same seed, the same set."""
    if name not in CORRUPTIONS:
        raise UsageError(f"unknown MNIST-C corruption {name!r}; one of {', '.join(CORRUPTIONS)}")
    x = images.astype(np.float64) / 255.0 if images.dtype == np.uint8 else images.astype(np.float64)
    x = x.reshape(len(x), 28, 28)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return globals()[name](x, rng).astype(np.float32)[..., None]
