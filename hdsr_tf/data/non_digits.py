"""Synthetic images with no digit in them: what a digit reader must learn to answer "no digit" for.

A field on a form is often empty, smudged, crossed out or holds a letter; a
crop from a number can be a fragment of a digit. A softmax over ten digits
still names one of them, confidently (the shipped hybrid read a blank page as
"1" at 0.94). These families are drawn with numpy and OpenCV, seeded, as
uint8 [28,28] light ink on black, MNIST's convention:

blank, uniform (one grey level), gaussian_noise, salt_pepper, lines (straight
strokes across the field), smudges (blurred blots), letters (Hershey fonts,
MNIST-framed), fragments (a window of a training digit holding a small part
of its ink) and pairs (two training digits touching, framed as one: a crop that
holds two digits is not *a* digit, and reading it as one drops a digit of a
number).

Letters that look like digits (O, I, l, Z, S, B, g, q, b, G, ...) are never
drawn: reading an "O" as "0" is not a mistake. The fonts are split: training
draws ``TRAIN_FONTS``, the probe set ``PROBE_FONTS``, so the probe's letters are
shapes the detector never saw.
"""

from __future__ import annotations

import cv2
import numpy as np

from hdsr_tf.data.framing import SIZE, crop_to_ink, fit_and_centre
from hdsr_tf.errors import UsageError

VAL_SEED_OFFSET, PROBE_SEED_OFFSET = 1, 2  # validation and probe draws: seeds training never uses
FAMILIES = ("blank", "uniform", "gaussian_noise", "salt_pepper", "lines", "smudges", "letters", "fragments",
            "pairs")
PROBE_FAMILIES = FAMILIES[:-2]  # issue 17's probe: every family but the pieces of digits
# no digit look-alikes: O, I, l, Z, S, B, g, q, b, G, T, J, !, $
LETTERS = "acdefhkmnprtuvwxyACEFHKMNPRUVWXY#%&@*+=?<>"
TRAIN_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
               cv2.FONT_HERSHEY_COMPLEX | cv2.FONT_ITALIC)
PROBE_FONTS = (cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL,
               cv2.FONT_HERSHEY_SCRIPT_COMPLEX, cv2.FONT_HERSHEY_SIMPLEX | cv2.FONT_ITALIC)


def frame(ink: np.ndarray) -> np.ndarray:
    """float ink [h,w] -> uint8 [28,28]: fitted into 20x20 and centred by centre of mass, as MNIST was made."""
    if not (ink > 0.05).any():
        return np.zeros((SIZE, SIZE), np.uint8)
    framed = fit_and_centre(crop_to_ink(ink, 0.05), SIZE, enlarge=cv2.INTER_LINEAR)
    return np.round(framed * 255).astype(np.uint8)


def _blank(rng, _):
    return np.zeros((SIZE, SIZE), np.float32)


def _uniform(rng, _):
    return np.full((SIZE, SIZE), rng.uniform(0.02, 1.0), np.float32)


def _gaussian_noise(rng, _):
    return rng.uniform(0.0, 0.6) + rng.uniform(0.05, 0.5) * rng.standard_normal((SIZE, SIZE))


def _salt_pepper(rng, _):
    image = np.full((SIZE, SIZE), rng.uniform(0.0, 0.3), np.float32)
    image[rng.random((SIZE, SIZE)) < rng.uniform(0.02, 0.4)] = 1.0
    return image


def _lines(rng, _):
    """One to three strokes crossing most of the field (a rule, a strike-through, a box edge). A lone
    stroke is kept over 35 degrees from vertical: a lone upright stroke is how people write a 1."""
    canvas = np.zeros((SIZE * 4, SIZE * 4), np.float32)
    count = int(rng.integers(1, 4))
    for _ in range(count):
        tilt = rng.choice([-1, 1]) * rng.uniform(0.61, np.pi / 2)  # 35 to 90 degrees from vertical
        angle = rng.uniform(0, np.pi) if count > 1 else np.pi / 2 + tilt
        centre = rng.uniform(30, 82, 2)
        half = rng.uniform(50, 90)
        d = np.array([np.cos(angle), np.sin(angle)]) * half
        a, b = (centre - d).round().astype(int), (centre + d).round().astype(int)
        cv2.line(canvas, tuple(int(v) for v in a), tuple(int(v) for v in b), float(rng.uniform(0.5, 1.0)),
                 int(rng.integers(3, 12)), cv2.LINE_AA)
    return cv2.resize(canvas, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def _smudges(rng, _):
    canvas = np.zeros((SIZE, SIZE), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        centre = tuple(int(v) for v in rng.integers(4, 24, 2))
        axes = tuple(int(v) for v in rng.integers(2, 10, 2))
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(0.3, 1.0)), -1)
    return cv2.GaussianBlur(canvas, (0, 0), rng.uniform(1.0, 4.0))


def _letter(rng, fonts):
    char = LETTERS[int(rng.integers(len(LETTERS)))]
    canvas = np.zeros((96, 96), np.float32)
    font = fonts[int(rng.integers(len(fonts)))]
    cv2.putText(canvas, char, (16, 72), font, 2.0, 1.0, int(rng.integers(2, 9)), cv2.LINE_AA)
    return frame(canvas).astype(np.float32) / 255.0


def _fragment(rng, digits):
    """A window of a training digit holding a small part of its ink: 10-40% where it lies, 5-25% when it is
    enlarged and centred as a crop is (more of a digit, framed, is often a fair digit itself)."""
    digit = digits[int(rng.integers(len(digits)))].astype(np.float32) / 255.0
    total = digit.sum()
    framed = rng.random() < 0.5
    low, high = (0.05, 0.25) if framed else (0.1, 0.4)
    for _ in range(20):
        y0, x0 = rng.integers(0, 20, 2)
        h, w = rng.integers(4, 16, 2)
        window = np.zeros_like(digit)
        window[y0:y0 + h, x0:x0 + w] = digit[y0:y0 + h, x0:x0 + w]
        if low * total <= window.sum() <= high * total:
            return frame(window).astype(np.float32) / 255.0 if framed else window
    return np.zeros_like(digit)


def _pair(rng, digits):
    """Two training digits side by side, touching or overlapping a little, framed together as one crop;
    only pairs at least as wide as they are high (a narrow pair, "11" or "17" overlapped, can look like
    one digit, and a number's segmenter reads a blob that narrow as one digit anyway)."""
    for _ in range(20):
        inks = []
        for _ in range(2):
            inks.append(crop_to_ink(digits[int(rng.integers(len(digits)))].astype(np.float32) / 255.0, 0.1))
        height = max(i.shape[0] for i in inks) + int(rng.integers(0, 5))
        gap = int(rng.integers(-2, 2))
        width = inks[0].shape[1] + inks[1].shape[1] + gap
        if width < height:
            continue
        canvas = np.zeros((height, width + 2), np.float32)
        x = 1
        for ink in inks:
            top = int(rng.integers(0, height - ink.shape[0] + 1))
            h, w = ink.shape
            canvas[top:top + h, x:x + w] = np.maximum(canvas[top:top + h, x:x + w], ink)
            x += w + gap
        return frame(canvas).astype(np.float32) / 255.0
    return np.zeros((SIZE, SIZE), np.float32)


_DRAW = {"blank": _blank, "uniform": _uniform, "gaussian_noise": _gaussian_noise, "salt_pepper": _salt_pepper,
         "lines": _lines, "smudges": _smudges, "letters": _letter, "fragments": _fragment,
         "pairs": _pair}


def draw(family: str, n: int, seed: int, fonts=TRAIN_FONTS, digits: np.ndarray | None = None) -> np.ndarray:
    """``n`` seeded images of one family: uint8 [n,28,28,1]. ``digits`` (uint8 [N,28,28(,1)]) feeds fragments."""
    if family not in _DRAW:
        raise UsageError(f"unknown non-digit family {family!r}; choose from {', '.join(FAMILIES)}")
    if family in ("fragments", "pairs") and digits is None:
        raise UsageError(f"{family} are made of digits: pass digits=")
    rng = np.random.default_rng([seed, FAMILIES.index(family)])
    extra = fonts if family == "letters" else (digits.reshape(-1, SIZE, SIZE) if digits is not None else None)
    images = [np.clip(_DRAW[family](rng, extra), 0, 1) for _ in range(n)]
    return np.round(np.stack(images) * 255).astype(np.uint8)[..., None]


def mixture(n: int, seed: int, families=FAMILIES, fonts=TRAIN_FONTS, digits: np.ndarray | None = None) -> np.ndarray:
    """``n`` non-digits, the families in equal shares (the first ones take the remainder), uint8 [n,28,28,1]."""
    counts = [n // len(families) + (i < n % len(families)) for i in range(len(families))]
    return np.concatenate([draw(f, c, seed, fonts, digits) for f, c in zip(families, counts)])
