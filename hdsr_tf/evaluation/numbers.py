"""Reading whole numbers, measured: lines of 3 to 6 MNIST *test* digits composed into one image.

Each condition varies one thing a real field varies: the spacing (clear gaps,
or digits touching and slightly overlapping), the digits' heights and
baselines along the line, the paper (dark ink on light paper with an uneven
background and noise, or light ink on dark), and the resolution (digits about
20-28 px high, or the whole image scaled down so that they are about 10 or 7 px
high). Every composition is seeded. Beside the segmenter, a naive baseline
slices the image into N equal cells (N known) and reads each, so what the
segmentation adds is visible.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import cv2
import numpy as np

from hdsr_tf.data.framing import crop_to_ink, to_ink
from hdsr_tf.reading import cut_reader, segmenter
from hdsr_tf.reading.fields import read_fields

SPACINGS = {"separated": (3, 9), "touching": (-3, 0)}  # gap between digit boxes, in pixels at full size
HEIGHTS = {"full": None, "10px": 10, "7px": 7}  # target digit height after scaling the whole image
PAPERS = ("dark_on_light", "light_on_dark")
MARK_SEED = 104729  # stray marks are drawn with seed + this: no training draw uses it


@dataclass(frozen=True)
class NumberCondition:
    spacing: str = "separated"
    height: str = "full"
    paper: str = "dark_on_light"
    length: int = 5  # digits per number; 0 = a seeded mix of 3 to 6
    mark: bool = False  # a stray mark that is no digit among the digits (a letter in a held-out font, a smudge)

    @property
    def name(self) -> str:
        length = "3-6 digits" if self.length == 0 else f"{self.length} digits"
        return f"{self.spacing}, {self.height}, {self.paper.replace('_', ' ')}, {length}" + (
            ", a stray mark" if self.mark else "")


def conditions() -> list[NumberCondition]:
    """The report's conditions: every spacing, height and paper with 5 digits; 3-6 digits; a stray mark."""
    rows = [NumberCondition(s, h, p) for s in SPACINGS for h in HEIGHTS for p in PAPERS]
    return rows + [NumberCondition("separated", "full", "dark_on_light", length=0),
                   NumberCondition("separated", "full", "dark_on_light", mark=True)]


def compose(digits: list[np.ndarray], condition: NumberCondition, rng: np.random.Generator) -> np.ndarray:
    """MNIST digits (uint8 [28,28], white on black) -> one uint8 gray image of the number."""
    line_height = 40
    x, placements = 6, []
    for digit in digits:
        ink = crop_to_ink(digit, 30).astype(np.float32) / 255.0
        scale = rng.uniform(0.85, 1.15) * 22 / ink.shape[0] if ink.shape[0] > 4 else 1.0
        ink = cv2.resize(ink, (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale))),
                         interpolation=cv2.INTER_LINEAR)
        top = int(np.clip((line_height - ink.shape[0]) // 2 + rng.integers(-3, 4), 0, line_height - ink.shape[0]))
        placements.append((x, top, ink))
        x += ink.shape[1] + int(rng.integers(*SPACINGS[condition.spacing], endpoint=True))
    canvas = np.zeros((line_height, x + 6), np.float32)
    for px, top, ink in placements:
        h, w = ink.shape
        canvas[top:top + h, px:px + w] = np.maximum(canvas[top:top + h, px:px + w], ink)
    if condition.paper == "dark_on_light":
        ramp = np.linspace(rng.uniform(0.75, 0.95), rng.uniform(0.75, 0.95), canvas.shape[1])[None, :]
        paper = ramp * np.linspace(1.0, rng.uniform(0.85, 1.0), canvas.shape[0])[:, None]
        image = paper * (1 - 0.85 * canvas)
    else:
        image = 0.05 + 0.9 * canvas
    image = image + rng.normal(0, 0.03, image.shape)
    target = HEIGHTS[condition.height]
    if target:
        f = target / 22
        image = cv2.resize(np.clip(image, 0, 1).astype(np.float32),
                           (max(1, round(image.shape[1] * f)), max(1, round(image.shape[0] * f))),
                           interpolation=cv2.INTER_AREA)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def make_set(images: np.ndarray, labels: np.ndarray, condition: NumberCondition, n: int, seed: int):
    """n seeded numbers for ``condition`` from the given (test) digits: (list of images, list of strings)."""
    rng = np.random.default_rng([seed, zlib.crc32(condition.name.encode())])
    marks = _marks(seed) if condition.mark else None
    out_images, out_labels = [], []
    for _ in range(n):
        length = condition.length or int(rng.integers(3, 7))
        idx = rng.integers(0, len(labels), length)
        glyphs = [images[i, ..., 0] if images.ndim == 4 else images[i] for i in idx]
        if marks is not None:  # somewhere among the digits, never named by the label
            glyphs.insert(int(rng.integers(0, length + 1)), marks[int(rng.integers(len(marks)))])
        out_images.append(compose(glyphs, condition, rng))
        out_labels.append("".join(str(int(labels[i])) for i in idx))
    return out_images, out_labels


def _marks(seed: int) -> np.ndarray:
    """Stray marks: letters and symbols in the fonts that no training used (issue 17's probe fonts), and
    smudges, seeded apart from every training draw. uint8 [N,28,28]."""
    from hdsr_tf.data import non_digits

    letters = non_digits.draw("letters", 300, seed + MARK_SEED, fonts=non_digits.PROBE_FONTS)
    smudges = non_digits.draw("smudges", 100, seed + MARK_SEED)
    return np.concatenate([letters, smudges])[..., 0]


def equal_cells(image: np.ndarray, length: int) -> tuple[list, np.ndarray]:
    """The naive baseline: N equal-width cells (N known), each framed like a digit."""
    ink = to_ink(image)
    h, w = ink.shape
    edges = np.linspace(0, w, length + 1).round().astype(int)
    cells = [ink[:, a:b] for a, b in zip(edges[:-1], edges[1:])]
    slots = [segmenter.Lattice(2, [(0, 1, ([int(a), 0, int(b - a), h], k))])
             for k, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]
    return slots, np.stack([cut_reader.mnist_frame(crop_to_ink(c, 0.3)) for c in cells])[..., None]


def _edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def score(predicted: list[str], truth: list[str]) -> dict:
    """String accuracy (the whole number right) and digit accuracy (1 - edit distance / length)."""
    strings = float(np.mean([p == t for p, t in zip(predicted, truth)]))
    digits = float(np.mean([max(0.0, 1 - _edit_distance(p, t) / len(t)) for p, t in zip(predicted, truth)]))
    return {"string_accuracy": strings, "digit_accuracy": digits, "n": len(truth)}


def baseline_reads(images: list[np.ndarray], truth: list[str], reader: cut_reader.Reader) -> list[str]:
    out = []
    for image, label in zip(images, truth):
        slots, crops = equal_cells(image, len(label))
        out.append(cut_reader.assemble(slots, reader(crops)).number)
    return out


def evaluate(images: np.ndarray, labels: np.ndarray, reader: cut_reader.Reader, conditions: list[NumberCondition],
             n: int, seed: int = 0, line_reader=None, structure: bool = True, enlarge=None) -> list[dict]:
    """Each condition's numbers read as ``predict.py --number`` reads them (``structure``: with the form
    step, which must leave plain numbers as they were), beside the equal-cells baseline. ``enlarge``
    (uint8 image -> uint8 image, e.g. ``Upscaler.upscale``) is applied to every composed image first: does
    super-resolving a small line help the readers, or do they read the small line as well?"""
    rows = []
    for condition in conditions:
        composed, truth = make_set(images, labels, condition, n, seed)
        if enlarge is not None:
            composed = [enlarge(image) for image in composed]
        reads, _ = read_fields(composed, reader, line_reader, structure)
        row = {"condition": condition.name, **score([r.number for r in reads], truth)}
        baseline = score(baseline_reads(composed, truth, reader), truth)
        row["baseline_string_accuracy"], row["baseline_digit_accuracy"] = (baseline["string_accuracy"],
                                                                          baseline["digit_accuracy"])
        rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows as a table; a ``reader`` column first when the rows name their reader."""
    named = any("reader" in r for r in rows)
    header = "| condition | n | string accuracy | digit accuracy | equal cells: string | equal cells: digit |"
    lines = [("| reader " if named else "") + header, ("|---" if named else "") + "|---|---|---|---|---|---|"]
    lines += [(f"| {r.get('reader', '')} " if named else "") + f"| {r['condition']} | {r['n']} | "
              f"{r['string_accuracy']:.2%} | {r['digit_accuracy']:.2%} | {r['baseline_string_accuracy']:.2%} | "
              f"{r['baseline_digit_accuracy']:.2%} |" for r in rows]
    return "\n".join(lines) + "\n"
