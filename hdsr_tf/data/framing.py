"""MNIST's framing of one digit, in numpy and OpenCV: cut to the ink, fit into 20x20, centre by mass.

The same steps as ``normalize.py``'s graph ops, for code that works on numpy
arrays outside TensorFlow: the crops of a number (``hdsr_tf/numbers.py``), the
synthetic non-digits (``non_digits.py``) and the composed numbers of the
evaluation. It imports no TensorFlow, so the serving client stays light.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE, BOX = 28, 20  # MNIST: the digit fitted into 20x20, centred in 28x28


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
