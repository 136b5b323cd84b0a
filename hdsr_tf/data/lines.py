"""Lines of digits for the line reader: composed from MNIST *training* digits, normalized as read lines are.

A line reader (``models/line_reader.py``) reads a whole number at once, so
digits that touch or overlap need no cut. It learns from lines made here:
training digits (never test digits) placed left to right with gaps from clear
to overlapping, varied heights and baselines, on light or dark paper with
shading, noise, the odd speck, ruling line, letter or smudge (no digit, so no
label: the reader learns to pass over them), and the whole line often shrunk
until its digits are 6 to 14 px high. Each line then goes through the same
:func:`line_input` as an image read by ``numbers.py``: ink found by
:func:`~hdsr_tf.data.framing.to_ink`, cut to its rows, scaled to ``HEIGHT``.

The ranges are this module's own and broader than the evaluation's
(``evaluation/numbers.py``), which composes *test* digits with its own seeds.
"""

from __future__ import annotations

import cv2
import numpy as np

from hdsr_tf.data.framing import crop_to_ink, to_ink

HEIGHT = 24  # the line reader's input height: the ink's rows scaled to INK_ROWS (MNIST's 20 px box), centred
INK_ROWS = 20
MAX_WIDTH = 192  # lines are padded to this width; longer ones are squeezed to it (7 wide-spaced digits fit)
MAX_DIGITS = 8  # label slots: a label row is (length, digit 1, ..., digit MAX_DIGITS)
TRAIN_LENGTHS = (1, 7)  # digits per training line, inclusive
DISTRACTORS = 0.25  # share of training lines with a mark that is no digit among the digits


def line_input(ink: np.ndarray) -> tuple[np.ndarray, tuple[float, int, int]]:
    """Light-on-dark ink [H,W] -> (float32 [HEIGHT, w] with w a multiple of 4, (scale, x0, y0)): the ink
    cut to its rows and columns (pixels above 0.3), scaled so those rows fill INK_ROWS, with a margin.
    ``scale``, ``x0`` and ``y0`` map a column of the result back to input pixels: x = x0 + (c - 4) / scale."""
    rows, cols = np.flatnonzero(ink.max(1) > 0.3), np.flatnonzero(ink.max(0) > 0.3)
    if not rows.size:
        return np.zeros((HEIGHT, 8), np.float32), (1.0, 0, 0)
    y0, x0 = int(rows[0]), int(cols[0])
    box = ink[y0:rows[-1] + 1, x0:cols[-1] + 1]
    scale = INK_ROWS / box.shape[0]
    width = min(MAX_WIDTH - 8, max(1, int(round(box.shape[1] * scale))))
    resized = cv2.resize(box.astype(np.float32), (width, INK_ROWS),
                         interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((HEIGHT, ((width + 8 + 3) // 4) * 4), np.float32)
    top = (HEIGHT - INK_ROWS) // 2
    out[top:top + INK_ROWS, 4:4 + width] = np.clip(resized, 0, 1)
    return out, (width / box.shape[1], x0, y0)


def pad_lines(lines: list[np.ndarray], width: int | None = None) -> np.ndarray:
    """Lines [HEIGHT, w_i] -> float32 [N, HEIGHT, width, 1], zero-padded on the right (width: the widest)."""
    width = width or max(line.shape[1] for line in lines)
    out = np.zeros((len(lines), HEIGHT, width, 1), np.float32)
    for i, line in enumerate(lines):
        out[i, :, :min(width, line.shape[1]), 0] = line[:, :width]
    return out


def compose_line(digits: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """MNIST-framed glyphs (uint8 [28,28], white on black) -> a uint8 gray image of them as one line."""
    gap_lo, gap_hi = [(2, 12), (-5, 1), (-5, 10)][rng.integers(3)]  # separated, touching, or a mix
    size = rng.uniform(18, 28)
    placements, x = [], int(rng.integers(2, 12))
    for digit in digits:
        ink = crop_to_ink(digit, 30).astype(np.float32) / 255.0
        scale = rng.uniform(0.8, 1.2) * size / ink.shape[0] if ink.shape[0] > 4 else 1.0
        shape = (max(1, round(ink.shape[1] * scale * rng.uniform(0.85, 1.15))), max(1, round(ink.shape[0] * scale)))
        ink = cv2.resize(ink, shape, interpolation=cv2.INTER_LINEAR)
        placements.append((x, rng.uniform(-0.15, 0.15) * size, ink))
        x = max(0, x + ink.shape[1] + int(rng.integers(gap_lo, gap_hi, endpoint=True)))
    height = int(np.ceil(size * 1.9))
    canvas = np.zeros((height, x + int(rng.integers(2, 12))), np.float32)
    for px, shift, ink in placements:
        h, w = ink.shape
        top = int(np.clip((height - h) // 2 + shift, 0, height - h))
        w = min(w, canvas.shape[1] - px)
        canvas[top:top + h, px:px + w] = np.maximum(canvas[top:top + h, px:px + w], ink[:, :w])
    if rng.random() < 0.2:  # a ruling line under the digits
        y = int(min(height - 1, height // 2 + size * rng.uniform(0.5, 0.8)))
        rule = canvas[y:y + int(rng.integers(1, 3))]
        rule[:] = np.maximum(rule, rng.uniform(0.4, 1.0))
    for _ in range(rng.poisson(0.5)):  # specks
        cy, cx = int(rng.integers(height)), int(rng.integers(canvas.shape[1]))
        cv2.circle(canvas, (cx, cy), int(rng.integers(1, 3)), float(rng.uniform(0.4, 1.0)), -1)
    if rng.random() < 0.6:  # dark ink on light, unevenly lit paper
        ramp = np.linspace(rng.uniform(0.6, 0.95), rng.uniform(0.6, 0.95), canvas.shape[1])[None, :]
        paper = ramp * np.linspace(1.0, rng.uniform(0.8, 1.0), height)[:, None]
        image = paper * (1 - rng.uniform(0.6, 0.95) * canvas)
    else:
        base = rng.uniform(0.0, 0.2)
        image = base + rng.uniform(0.5, 1.0 - base) * canvas
    image = image + rng.normal(0, rng.uniform(0, 0.06), image.shape)
    if rng.random() < 0.6:  # shrunk until its digits are 6 to 14 px high
        f = rng.uniform(6, 14) / size
        image = cv2.resize(np.clip(image, 0, 1).astype(np.float32),
                           (max(1, round(image.shape[1] * f)), max(1, round(image.shape[0] * f))),
                           interpolation=[cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC][rng.integers(3)])
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def make_lines(images: np.ndarray, labels: np.ndarray, count: int, seed: int,
               lengths: tuple[int, int] = TRAIN_LENGTHS, distractors: float = DISTRACTORS,
               verbose: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``count`` seeded lines of the given digits -> (uint8 [count, HEIGHT, MAX_WIDTH] line inputs,
    int32 [count, 1 + MAX_DIGITS] label rows: the length, then the digits, zero-padded).

    In a ``distractors`` share of the lines, a mark that is no digit (a letter or symbol in a training
    font, a smudge: ``non_digits.py``) stands somewhere among the digits, unlabelled, so the reader
    learns to pass over it rather than guess a digit; a few such lines hold no digit at all."""
    from keras.utils import Progbar

    from hdsr_tf.data import non_digits

    bar = Progbar(count, verbose=1 if verbose and count >= 10000 else 0)
    rng = np.random.default_rng(seed)
    images = images[..., 0] if images.ndim == 4 else images
    marks = non_digits.mixture(max(1, min(count, 4000)), seed, families=("letters", "smudges"))[..., 0] \
        if distractors > 0 else None
    x = np.zeros((count, HEIGHT, MAX_WIDTH), np.uint8)
    y = np.zeros((count, 1 + MAX_DIGITS), np.int32)
    for n in range(count):
        for _ in range(10):  # a line shrunk until its ink is lost to the background is drawn again
            length = int(rng.integers(lengths[0], lengths[1], endpoint=True))
            distracted = rng.random() < distractors
            if distracted and rng.random() < 0.05:
                length = 0
            idx = rng.integers(0, len(labels), length)
            glyphs = [images[i] for i in idx]
            if distracted:
                glyphs.insert(int(rng.integers(0, length + 1)), marks[int(rng.integers(len(marks)))])
            line, _ = line_input(to_ink(compose_line(glyphs, rng)))
            if line.max() > 0.5:
                break
        x[n, :, :line.shape[1]] = np.round(line * 255).astype(np.uint8)
        y[n, 0] = len(idx)
        y[n, 1:1 + len(idx)] = labels[idx]
        if n % 1000 == 999:
            bar.update(n + 1)
    bar.update(count)
    return x, y
