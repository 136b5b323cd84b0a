"""Form fields drawn around handwritten digits: combs, boxes, table cells, rules, dotted guides, labels.

Real numbers live on forms, and forms print structure around them. This module
draws that structure, seeded, around MNIST digits, so that the form reader
(``reading/forms.py``) can be measured (``evaluation/forms.py``, MNIST *test*
digits), tuned (validation digits) and shown (the demo's examples). Nothing is
trained on it.

A field is drawn at full size (digits ``DIGIT_HEIGHTS`` px high) as a BGR
image: paper, printed structure in a printing colour (near-black, or a
"dropout" colour that scanners are meant to remove), then the digits in pen
ink (dark gray or blue) over it, multiplied in as ink is. The ``10px`` and
``photo`` looks shrink it, or rotate it a few degrees, light it unevenly, blur
it and save it as JPEG.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hdsr_tf.data.framing import crop_to_ink

LAYOUTS = ("comb", "boxes", "grid", "underline", "dotted", "dropout", "label")
INKS = ("dark", "blue")
LOOKS = ("full", "10px", "photo")
DIGIT_HEIGHTS = (24, 48)
LABELS = ("ZIP", "Amount", "No.", "Code", "Ref", "Total", "Acct")
# Printed in fonts that neither the line reader nor the no-digit detector saw in training (their letters
# come from non_digits.TRAIN_FONTS): a label here is as new to them as a real form's.
LABEL_FONTS = (cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL)
# BGR printing colours: near-black, and the dropout colours forms are printed in
PRINT_DARK = ((40, 40, 40), (80, 80, 80), (20, 20, 20))
DROPOUT = {"red": (90, 90, 235), "green": (140, 215, 140), "light blue": (245, 205, 150)}


@dataclass(frozen=True)
class FormStyle:
    layout: str = "comb"
    ink: str = "dark"
    look: str = "full"

    @property
    def name(self) -> str:
        return f"{self.layout}, {self.ink} ink, {self.look}"


def _ink_colour(ink: str, rng: np.random.Generator) -> np.ndarray:
    if ink == "blue":  # ballpoint blue, BGR
        return np.array([rng.uniform(140, 200), rng.uniform(30, 70), rng.uniform(10, 40)], np.float32)
    level = rng.uniform(10, 70)
    return np.array([level, level, level], np.float32)


def _line(cover: np.ndarray, p0, p1, thickness: int, style: str, rng: np.random.Generator) -> None:
    """A printed line from p0 to p1 into ``cover`` (float coverage), solid, dashed or dotted."""
    (x0, y0), (x1, y1) = p0, p1
    if style == "solid":
        cv2.line(cover, (int(x0), int(y0)), (int(x1), int(y1)), 1.0, thickness, cv2.LINE_AA)
        return
    length = float(np.hypot(x1 - x0, y1 - y0))
    if style == "dotted":
        step = rng.uniform(3, 6) * max(1, thickness)
        for t in np.arange(0, length, step) / max(length, 1):
            cv2.circle(cover, (int(round(x0 + t * (x1 - x0))), int(round(y0 + t * (y1 - y0)))),
                       max(1, thickness // 2 + 1) - 1 if thickness > 1 else 1, 1.0, -1, cv2.LINE_AA)
        return
    dash, gap = rng.uniform(6, 12), rng.uniform(3, 6)
    t = 0.0
    while t < length:
        a, b = t / length, min(length, t + dash) / length
        cv2.line(cover, (int(x0 + a * (x1 - x0)), int(y0 + a * (y1 - y0))),
                 (int(x0 + b * (x1 - x0)), int(y0 + b * (y1 - y0))), 1.0, thickness, cv2.LINE_AA)
        t += dash + gap


def draw_field(digits: list[np.ndarray], style: FormStyle, rng: np.random.Generator) -> np.ndarray:
    """MNIST digits (uint8 [28,28], white on black) -> a uint8 BGR image of them written in a form field."""
    dh = rng.uniform(*DIGIT_HEIGHTS)
    n = len(digits)
    layout = style.layout
    cell_w, cell_h = dh * rng.uniform(1.1, 1.45), dh * rng.uniform(1.3, 1.6)
    gap = cell_w * rng.uniform(0.15, 0.45) if layout == "boxes" else 0.0
    thickness = int(rng.integers(1, 4))
    margin_x, margin_y = int(rng.uniform(0.3, 0.8) * dh), int(rng.uniform(0.3, 0.6) * dh)
    label = layout == "label"
    label_text, label_scale, label_above, font = "", 0.1, False, LABEL_FONTS[0]
    if label:
        label_text = LABELS[int(rng.integers(len(LABELS)))] + (":" if rng.random() < 0.4 else "")
        font = LABEL_FONTS[int(rng.integers(len(LABEL_FONTS)))]
        (_, unit), _ = cv2.getTextSize("A", font, 1.0, 1)
        label_scale = dh * rng.uniform(0.45, 0.75) / unit  # capitals 0.45 to 0.75 of a digit's height
        label_above = rng.random() < 0.3
    (label_w, label_h), _ = cv2.getTextSize(label_text or "x", font, label_scale, 1)
    x_start = margin_x + (label_w + int(0.5 * dh) if label and not label_above else 0)
    y_top = margin_y + (label_h + int(0.4 * dh) if label and label_above else 0)
    width = int(x_start + n * (cell_w + gap) + margin_x)
    height = int(y_top + cell_h + margin_y)
    structure = np.zeros((height, width), np.float32)
    pitch = cell_w + gap
    bottom = y_top + cell_h
    dark = layout != "dropout"
    line_style = "solid" if layout != "dotted" else ("dotted" if rng.random() < 0.6 else "dashed")
    if layout == "comb" or (layout == "dropout" and rng.random() < 0.5):
        tick = cell_h * rng.uniform(0.25, 0.55)
        _line(structure, (x_start, bottom), (x_start + n * pitch, bottom), thickness, "solid", rng)
        for i in range(n + 1):
            x = x_start + i * pitch
            _line(structure, (x, bottom), (x, bottom - tick), thickness, "solid", rng)
    elif layout in ("boxes", "dropout"):
        for i in range(n):
            x = x_start + i * pitch
            cv2.rectangle(structure, (int(x), int(y_top)), (int(x + cell_w), int(bottom)), 1.0, thickness, cv2.LINE_AA)
    elif layout == "grid":  # a row of a table: lines run off the edges, walls up into the row above
        for y in (y_top, bottom):
            _line(structure, (0, y), (width, y), thickness, "solid", rng)
        for i in range(n + 1):
            x = x_start + i * pitch
            _line(structure, (x, 0), (x, height), thickness, "solid", rng)
    elif layout in ("underline", "dotted"):
        _line(structure, (x_start - 0.2 * dh, bottom - 0.1 * cell_h), (x_start + n * pitch, bottom - 0.1 * cell_h),
              thickness, line_style, rng)
    else:  # label: the number on a rule half the time
        if rng.random() < 0.5:
            _line(structure, (x_start - 0.2 * dh, bottom - 0.1 * cell_h), (x_start + n * pitch, bottom - 0.1 * cell_h),
                  thickness, "solid", rng)
    if label:
        if label_above:
            org = (margin_x, int(margin_y + label_h))
        else:
            org = (margin_x, int(bottom - 0.25 * cell_h))
        cv2.putText(structure, label_text, org, font, label_scale, 1.0, max(1, int(round(dh / 16))), cv2.LINE_AA)

    writing = np.zeros((height, width), np.float32)
    for i, digit in enumerate(digits):
        ink = crop_to_ink(digit, 30).astype(np.float32) / 255.0
        scale = dh * rng.uniform(0.85, 1.05) / max(ink.shape[0], 1)
        ink = cv2.resize(ink, (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale))),
                         interpolation=cv2.INTER_LINEAR)
        h, w = ink.shape
        cx = x_start + i * pitch + cell_w / 2 + rng.uniform(-0.18, 0.18) * cell_w
        if layout in ("underline", "dotted", "label"):  # written on the line: strokes cross it
            cy = bottom - 0.1 * cell_h - h / 2 + rng.uniform(-0.12, 0.1) * h
        else:
            cy = y_top + cell_h / 2 + rng.uniform(-0.1, 0.1) * cell_h
        x0, y0 = int(np.clip(round(cx - w / 2), 0, width - w)), int(np.clip(round(cy - h / 2), 0, height - h))
        region = writing[y0:y0 + h, x0:x0 + w]
        region[:] = np.maximum(region, ink[:region.shape[0], :region.shape[1]])

    paper = np.full((height, width, 3), 255.0 * rng.uniform(0.88, 1.0), np.float32)
    paper *= np.array([1.0, rng.uniform(0.97, 1.0), rng.uniform(0.94, 1.0)], np.float32)  # a little warm or cold
    printed = np.array(PRINT_DARK[int(rng.integers(len(PRINT_DARK)))] if dark else
                       list(DROPOUT.values())[int(rng.integers(len(DROPOUT)))], np.float32)
    image = paper * (1 - structure[..., None] * (1 - printed / 255.0))
    image = image * (1 - rng.uniform(0.8, 0.95) * writing[..., None] * (1 - _ink_colour(style.ink, rng) / 255.0))
    image += rng.normal(0, 3.0, image.shape)
    return _look(np.clip(image, 0, 255), dh, style.look, rng)


def _look(image: np.ndarray, dh: float, look: str, rng: np.random.Generator) -> np.ndarray:
    """Full size; shrunk until the digits are about 10 px high; or as a phone photo of the field."""
    if look == "10px":
        f = 10.0 / dh
        image = cv2.resize(image, (max(1, round(image.shape[1] * f)), max(1, round(image.shape[0] * f))),
                           interpolation=cv2.INTER_AREA)
    elif look == "photo":
        h, w = image.shape[:2]
        angle = rng.uniform(2, 4.5) * rng.choice([-1, 1])
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        nw, nh = int(w * cos + h * sin), int(h * cos + w * sin)
        matrix[:, 2] += ((nw - w) / 2, (nh - h) / 2)
        edge = tuple(float(v) for v in image[0, 0])
        image = cv2.warpAffine(image, matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=edge)
        ys, xs = np.mgrid[0:nh, 0:nw].astype(np.float32)
        light = rng.uniform(0.55, 0.8) + (1 - rng.uniform(0.55, 0.8)) * (
            0.5 + 0.5 * np.cos(rng.uniform(0, np.pi) + xs / nw * rng.uniform(1, 3) + ys / nh))
        image = image * light[..., None]
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 0.9))
        image += rng.normal(0, 4.0, image.shape)
        ok, data = cv2.imencode(".jpg", np.clip(image, 0, 255).astype(np.uint8),
                                [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(55, 86))])
        image = cv2.imdecode(data, cv2.IMREAD_COLOR).astype(np.float32)
    return np.round(np.clip(image, 0, 255)).astype(np.uint8)


def make_fields(images: np.ndarray, labels: np.ndarray, style: FormStyle, n: int, seed: int,
                length: int = 5) -> tuple[list[np.ndarray], list[str]]:
    """n seeded fields of ``length`` digits drawn from the given digits: (BGR images, their numbers)."""
    import zlib

    rng = np.random.default_rng([seed, zlib.crc32(style.name.encode())])
    images = images[..., 0] if images.ndim == 4 else images
    out, truth = [], []
    for _ in range(n):
        idx = rng.integers(0, len(labels), length)
        out.append(draw_field([images[i] for i in idx], style, rng))
        truth.append("".join(str(int(labels[i])) for i in idx))
    return out, truth
