"""MNIST's framing of one digit, in numpy and OpenCV: cut to the ink, fit into 20x20, centre by mass.

Also :func:`to_ink`, the first step for any image of handwriting: light ink on
black, the paper's shade removed (what both framing and the line reader read).

The same steps as ``normalize.py``'s graph ops, for code that works on numpy
arrays outside TensorFlow: the crops of a number (``hdsr_tf/reading/segmenter.py``), the
synthetic non-digits (``non_digits.py``) and the composed numbers of the
evaluation. It imports no TensorFlow, so the serving client stays light.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE, BOX = 28, 20  # MNIST: the digit fitted into 20x20, centred in 28x28
MIN_CONTRAST = 0.25  # ink must stand this far (of the full range) above its background


def crop_to_ink(image: np.ndarray, threshold: float) -> np.ndarray:
    """``image`` cut to the rows and columns holding a pixel above ``threshold`` (unchanged when none do)."""
    rows, cols = np.flatnonzero(image.max(1) > threshold), np.flatnonzero(image.max(0) > threshold)
    return image if rows.size == 0 else image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def fit_and_centre(ink: np.ndarray, size: int = SIZE, enlarge: int = cv2.INTER_CUBIC) -> np.ndarray:
    """Ink cut to its box [h,w] -> float32 [size,size]: fitted into 20/28 of the side (area resampling to
    shrink, ``enlarge`` to enlarge), then shifted so that its centre of mass is the centre."""
    h, w = ink.shape
    scale = BOX * size / SIZE / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    small = np.clip(cv2.resize(ink.astype(np.float32), (nw, nh),
                               interpolation=cv2.INTER_AREA if scale < 1 else enlarge), 0, 1)
    canvas = np.zeros((size, size), np.float32)
    top, left = (size - nh) // 2, (size - nw) // 2
    canvas[top:top + nh, left:left + nw] = small
    mass = canvas.sum()
    if mass > 1e-6:
        ys, xs = np.indices(canvas.shape)
        dy = int(round((size - 1) / 2 - (ys * canvas).sum() / mass))
        dx = int(round((size - 1) / 2 - (xs * canvas).sum() / mass))
        dy, dx = int(np.clip(dy, -top, size - nh - top)), int(np.clip(dx, -left, size - nw - left))
        canvas = np.roll(canvas, (dy, dx), axis=(0, 1))
    return canvas


def binarize(ink: np.ndarray) -> np.ndarray:
    """uint8 {0, 1} mask of ink pixels: Otsu's threshold, never below a faint floor."""
    as_u8 = np.round(ink * 255).astype(np.uint8)
    threshold, _ = cv2.threshold(as_u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return (as_u8 > max(threshold, 40)).astype(np.uint8)


def dark_ink(gray: np.ndarray) -> bool:
    """True for dark ink on light paper: the border (where paper is) has a median brighter than mid-grey."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border)) > 0.5


def to_ink(image: np.ndarray) -> np.ndarray:
    """Any 8/16-bit gray, BGR or BGRA image -> float32 [H,W] in [0,1], light ink on a black background."""
    image = np.asarray(image)
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = image[..., :3]
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.shape[2] == 3 else image[..., 0]
    if image.ndim != 2 or min(image.shape) < 1:
        raise ValueError(f"expected a 2-D gray or colour image, got shape {np.shape(image)}")
    gray = image.astype(np.float32)
    if np.issubdtype(image.dtype, np.integer):
        gray /= float(np.iinfo(image.dtype).max)
    gray = np.nan_to_num(np.clip(gray, 0, 1))
    if dark_ink(gray):
        gray = 1.0 - gray
    # An opening wider than a stroke keeps only the background (uneven light, paper shade); remove it.
    k = max(3, (min(gray.shape) // 3) | 1)
    background = cv2.morphologyEx(gray, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    ink = np.clip(gray - background, 0, None)
    top = float(ink.max())
    # Under MIN_CONTRAST the "ink" is paper texture or noise: there is nothing to read.
    return ink / top if top >= MIN_CONTRAST else np.zeros_like(ink)
