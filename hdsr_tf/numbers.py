"""Reading whole numbers: an image of a number -> digit crops (OpenCV) -> one batched read.

A postal code, a meter reading or a form field is a line of digits. We find
the digits the way a document pipeline does, then read them all at once:

1. ink: gray, made light-on-dark (dark ink on light paper is inverted, judged
   by the border), an uneven background removed by a morphological opening
   wider than any stroke, contrast stretched;
2. binarize with Otsu's threshold; erase ruling lines (horizontal runs longer
   than two digit heights);
3. connected components; specks (tiny next to the line's digits) dropped;
   pieces of one broken digit (a 5's detached bar, a faint 4) merged when
   they share most of their columns;
4. touching digits: a wide blob (one may hold the whole number) becomes a
   lattice: cut columns at the valleys of its ink profile, and every segment
   between two cuts that could be one digit;
5. each candidate cut out with its own pixels only, framed the way MNIST was
   made (fitted into 20x20, centred by centre of mass in 28x28), and all crops
   of all images read in one batch by a *reader* (the SavedModel's
   ``serving_default``);
6. each blob read along its most plausible path through the lattice: the
   reader's confidence, how usual each box's shape is for the digit read, and,
   from models with a no-digit detector (version 4), the chance that a crop is
   one digit at all (a fragment or two touching digits is not); crops the model
   calls "no digit" are dropped rather than guessed.

Every crop is framed at 28x28, enlarged when the digit is small, so the
SavedModel reads it at full resolution. Measured on numbers made of MNIST
*validation* digits about 7 px high, string accuracy was 73.5% that way against
34% for 7x7 crops sent through the 4x hybrid (benchmarks/NOTES.md, session 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from hdsr_tf.data.framing import SIZE, binarize, fit_and_centre, to_ink


@dataclass
class DigitRead:
    digit: int
    confidence: float
    box: list[int]  # [x, y, width, height] in input pixels


@dataclass
class NumberRead:
    number: str = ""
    confidence: float = 0.0  # the product of the digits' confidences: the chance that all are right
    digits: list[DigitRead] = field(default_factory=list)


# ------------------------------------------------------------------ ink
def erase_rules(mask: np.ndarray, digit_height: float) -> np.ndarray:
    """Removes horizontal lines longer than two digit heights (ruled paper, form boxes' bottoms)."""
    length = int(max(8, 2 * digit_height))
    if mask.shape[1] <= length:
        return mask
    rules = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    return mask & (1 - rules)


# ------------------------------------------------------------------ components
@dataclass
class _Blob:
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int
    labels: set  # connected-component labels that make it up
    cut: tuple[int, int] | None = None  # columns [a, b) of the blob's pixels that belong to it

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def _components(mask: np.ndarray) -> tuple[np.ndarray, list[_Blob], list[int]]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    blobs, areas = [], []
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        blobs.append(_Blob(int(x), int(y), int(x + w), int(y + h), {i}))
        areas.append(int(area))
    return labels, blobs, areas


def _drop_specks(blobs: list[_Blob], areas: list[int]) -> list[_Blob]:
    if not blobs:
        return blobs
    big = max(areas)
    tall = max(b.height for b in blobs)
    return [b for b, a in zip(blobs, areas) if a >= 0.08 * big and (b.height >= 0.3 * tall or a >= 0.25 * big)]


def _union(a: _Blob, b: _Blob) -> _Blob:
    return _Blob(min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1), a.labels | b.labels)


def _merge_pieces(blobs: list[_Blob], digit_height: float) -> list[_Blob]:
    """Joins the pieces of broken digits; drops stray short marks.

    Two neighbours are one digit when they are stacked (sharing most columns, hardly any rows: a
    5's bar over its body), or when neither is digit-tall but together they are and nothing
    separates them (a stroke broken in the middle). A short piece (under half a digit high) left
    over joins the nearest digit within a third of a digit height, or is dropped.
    """
    h = digit_height
    blobs = sorted(blobs, key=lambda b: b.x0)
    merged = True
    while merged:
        merged = False
        for i in range(len(blobs) - 1):
            a, b = blobs[i], blobs[i + 1]
            overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
            rows_shared = min(a.y1, b.y1) - max(a.y0, b.y0)
            stacked = overlap > 0.5 * min(a.width, b.width) and rows_shared < 0.3 * min(a.height, b.height)
            union = _union(a, b)
            broken = max(a.height, b.height) < 0.8 * h and union.height >= 0.85 * h and -overlap <= 0.1 * h + 1
            if stacked or broken:
                blobs[i:i + 2] = [union]
                merged = True
                break
    tall = [b for b in blobs if b.height >= 0.5 * h]
    for piece in (b for b in blobs if b.height < 0.5 * h):
        gaps = [max(t.x0 - piece.x1, piece.x0 - t.x1) for t in tall]
        if gaps and min(gaps) <= h / 3:
            j = int(np.argmin(gaps))
            tall[j] = _union(tall[j], piece)
    return sorted(tall, key=lambda b: b.x0)


def _between(b: _Blob, region: np.ndarray, a: int, c: int) -> _Blob | None:
    """The part of blob ``b`` between its columns a and c (relative; ``region`` is the blob's own pixels),
    shrunk to its own rows; None when it holds no ink."""
    rows = np.flatnonzero(region[:, a:c].any(axis=1))
    if not rows.size:
        return None
    return _Blob(b.x0 + a, b.y0 + int(rows[0]), b.x0 + c, b.y0 + int(rows[-1]) + 1, b.labels, cut=(b.x0 + a, b.x0 + c))


@dataclass
class Lattice:
    """The ways to read one blob: cut columns ``0 .. nodes-1`` (left edge to right edge) and the
    segments between two of them that may be one digit, as (from node, to node, part). A reading is a
    path of segments from the left edge to the right; segment (0, nodes - 1) is the blob read whole."""

    nodes: int
    segments: list

    def whole(self):
        return next((part for i, j, part in self.segments if (i, j) == (0, self.nodes - 1)), None)


def _cut_columns(profile: np.ndarray, height: float, ratio: float) -> list[int]:
    """Where a blob may be cut: the valleys of its ink profile (local minima, at least 2 px apart, away
    from the ends), and the least-inked column near each place an even split into round(ratio / 0.7)
    digits would cut. At most 14, the least inked (fewer lost right readings on validation numbers)."""
    width = len(profile)
    margin = max(2, int(round(0.12 * height)))
    smooth = np.convolve(profile, np.ones(3, np.float32) / 3, mode="same")
    valleys = [c for c in range(margin, width - margin) if smooth[c] <= smooth[c - 1] and smooth[c] <= smooth[c + 1]]
    parts = max(2, int(round(ratio / 0.7)))
    step = width / parts
    for i in range(1, parts):
        lo, hi = max(margin, int(round((i - 0.3) * step))), min(width - margin, int(round((i + 0.3) * step)))
        if hi > lo:
            valleys.append(lo + int(np.argmin(profile[lo:hi])))
    chosen = []
    for c in sorted(set(valleys), key=lambda c: (profile[c], c)):
        if all(abs(c - k) >= 2 for k in chosen):
            chosen.append(c)
    return sorted(chosen[:14])


def _lattice(b: _Blob, pixels: np.ndarray, digit_height: float) -> Lattice:
    """Ways to read one blob (:class:`Lattice`). Narrower than 0.7 x its height: one digit. Otherwise
    (a round 0, a 2 with a long tail, or digits touching: one blob may hold the whole number) every
    segment between two cut columns that could be one digit: 0.1 to 1.4 digit heights wide and
    digit-tall (a 2's tail alone is not a digit). The blob read whole stays a segment unless it is
    wider than 1.8 x its height; :func:`assemble` picks the most plausible path."""
    ratio = b.width / max(1, b.height)
    if ratio < 0.7:
        return Lattice(2, [(0, 1, b)])
    region = np.isin(pixels[b.y0:b.y1, b.x0:b.x1], list(b.labels))
    nodes = [0, *_cut_columns(region.sum(axis=0).astype(np.float32), digit_height, ratio), b.width]
    segments = [] if ratio > 1.8 else [(0, len(nodes) - 1, b)]
    for i in range(len(nodes) - 1):
        for j in range(i + 1, len(nodes)):
            width = nodes[j] - nodes[i]
            if width > 1.4 * digit_height:
                break
            if (i, j) == (0, len(nodes) - 1) or width < 0.1 * digit_height:
                continue
            part = _between(b, region, nodes[i], nodes[j])
            if part is not None and part.height >= 0.6 * digit_height:
                segments.append((i, j, part))
    if not _reaches_end(len(nodes), segments):
        segments.append((0, len(nodes) - 1, b))  # no way to cut it: read it whole
    return Lattice(len(nodes), segments)


def _reaches_end(nodes: int, segments: list) -> bool:
    reached = {0}
    for i, j, _ in sorted(segments, key=lambda s: s[0]):
        if i in reached:
            reached.add(j)
    return nodes - 1 in reached


def segment(ink: np.ndarray) -> list[Lattice]:
    """Light-on-dark ink [H,W] -> the line's blobs left to right, each a :class:`Lattice` of the ways to
    read it, each segment's part as ([x, y, w, h], its own ink cut out [h,w])."""
    mask = binarize(ink)
    _, blobs, areas = _components(mask)
    blobs = _drop_specks(blobs, areas)
    if not blobs:
        return []
    # a second pass once the line's digit height is known: erase rules, then find the digits again
    height = float(np.median([b.height for b in blobs if b.height < 0.95 * mask.shape[0]] or [mask.shape[0]]))
    mask = erase_rules(mask, height)
    labels, blobs, areas = _components(mask)
    blobs = _merge_pieces(_drop_specks(blobs, areas), height)

    ring = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))

    def piece(b: _Blob):
        # The blob's pixels and the one-pixel rim of anti-aliased ink around them (most of a small
        # digit's gray levels), never a neighbour's pixels.
        y0, x0, y1, x1 = max(0, b.y0 - 1), max(0, b.x0 - 1), min(ink.shape[0], b.y1 + 1), min(ink.shape[1], b.x1 + 1)
        window = labels[y0:y1, x0:x1]
        mine = np.isin(window, list(b.labels))
        if b.cut is not None:
            mine[:, :max(0, b.cut[0] - x0)] = False
            mine[:, b.cut[1] - x0:] = False
        own = cv2.dilate(mine.astype(np.uint8), ring).astype(bool) & ((window == 0) | mine)
        return [b.x0, b.y0, b.width, b.height], np.where(own, ink[y0:y1, x0:x1], 0.0)

    lattices = [_lattice(b, labels, height) for b in sorted(blobs, key=lambda b: b.x0)]
    return [Lattice(t.nodes, [(i, j, piece(p)) for i, j, p in t.segments]) for t in lattices]


# ------------------------------------------------------------------ crops
def mnist_frame(crop: np.ndarray, size: int = SIZE) -> np.ndarray:
    """A digit's ink [h,w] -> float32 [size,size]: its strokes stretched to full ink (MNIST's strokes are
    saturated; a small or faint digit's are not), fitted into 20/28 of the side, centred by centre of mass."""
    crop = crop.astype(np.float32)
    strokes = crop[crop > 0.05]
    if strokes.size > 3:
        crop = np.clip(crop / max(float(np.percentile(strokes, 90)), 1e-3), 0, 1)
    return fit_and_centre(crop, size)


# ------------------------------------------------------------------ reading
# float32 [B,28,28,1] in [0,1] -> probabilities [B,10], or the served outputs as a dict of arrays:
# ``probabilities``, and from exports with a detector ``digit`` (-1: no digit) and ``no_digit``
Reader = Callable[[np.ndarray], "np.ndarray | dict"]


@dataclass
class CropReads:
    """What a reader said about each crop: probabilities [N,10], the no-digit probability [N] (0 without a
    detector) and whether the model answered "no digit" [N]."""

    probs: np.ndarray
    no_digit: np.ndarray
    refused: np.ndarray

    @classmethod
    def of(cls, out) -> "CropReads":
        if not isinstance(out, dict):
            out = {"probabilities": out}
        probs = np.asarray(out["probabilities"], np.float32).reshape(-1, 10)
        n = len(probs)
        no_digit = np.asarray(out.get("no_digit", np.zeros(n)), np.float32)
        return cls(probs, no_digit, np.asarray(out.get("digit", np.zeros(n))) == -1)

    @classmethod
    def join(cls, parts: list["CropReads"]) -> "CropReads":
        if not parts:
            return cls(np.zeros((0, 10), np.float32), np.zeros(0, np.float32), np.zeros(0, bool))
        return cls(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("probs", "no_digit", "refused")))

    def part(self, start: int, stop: int) -> "CropReads":
        return CropReads(self.probs[start:stop], self.no_digit[start:stop], self.refused[start:stop])


def read_crops(reader: Reader, crops: np.ndarray, batch_size: int = 1024) -> CropReads:
    """Every crop through ``reader``, ``batch_size`` at a time."""
    return CropReads.join([CropReads.of(reader(crops[j:j + batch_size])) for j in range(0, len(crops), batch_size)])


def prepare(ink: np.ndarray) -> tuple[list[Lattice], np.ndarray]:
    """Light-on-dark ink (``framing.to_ink``) -> (its blobs' lattices, every candidate crop float32
    [N,28,28,1]); each lattice segment's part is (box, index of its crop)."""
    crops, slots = [], []
    for lattice in segment(ink):
        segments = []
        for i, j, (box, piece) in lattice.segments:
            segments.append((i, j, (box, len(crops))))
            crops.append(mnist_frame(piece))
        slots.append(Lattice(lattice.nodes, segments))
    return slots, (np.stack(crops)[..., None] if crops else np.zeros((0, SIZE, SIZE, 1), np.float32))


# log(width / height) of each digit's ink box in MNIST's training split: mean and standard deviation
# (measured once; a 1 is narrow, a 0 or a 2 with its tail can be wider than high).
ASPECT = {0: (-0.096, 0.184), 1: (-0.884, 0.444), 2: (-0.065, 0.203), 3: (-0.216, 0.202), 4: (-0.224, 0.202),
          5: (-0.067, 0.244), 6: (-0.302, 0.209), 7: (-0.246, 0.205), 8: (-0.262, 0.213), 9: (-0.372, 0.200)}
# The score's weights, chosen on numbers of validation digits (benchmarks/NOTES.md, session 9): a prior
# against one more digit, how much the box's shape counts, how much the detector's "not a digit" counts.
PER_DIGIT, ASPECT_WEIGHT, NO_DIGIT_WEIGHT = -2.0, 0.25, 8.0


def _digit_score(box: list[int], i: int, reads: CropReads) -> float:
    """How plausible it is that crop ``i`` is one digit: the reader's log-confidence, how usual its box's
    shape is for the digit it is read as, the log-chance that it is a digit at all (the detector's, when
    the model has one), and a prior against one more digit. A softmax reads half of a 2 as a confident
    digit too; half a 2 is rarely shaped like the digit it is read as, and a detector calls it a fragment."""
    digit = int(np.argmax(reads.probs[i]))
    mean, sd = ASPECT[digit]
    z = (np.log(max(box[2], 1) / max(box[3], 1)) - mean) / sd
    return float(np.log(max(float(reads.probs[i][digit]), 1e-6))) + PER_DIGIT \
        + ASPECT_WEIGHT * (-0.5 * z * z - float(np.log(sd))) \
        + NO_DIGIT_WEIGHT * float(np.log(max(1.0 - float(reads.no_digit[i]), 1e-6)))


def best_path(lattice: Lattice, reads: CropReads) -> list[tuple[list[int], int]]:
    """The most plausible reading of a blob: the path through its lattice with the highest sum of
    :func:`_digit_score` (dynamic programming, left to right); its (box, crop index) parts."""
    best = {0: (0.0, [])}
    for i, j, (box, k) in sorted(lattice.segments, key=lambda s: (s[0], s[1])):
        if i in best:
            score = best[i][0] + _digit_score(box, k, reads)
            if j not in best or score > best[j][0]:
                best[j] = (score, best[i][1] + [(box, k)])
    return best[lattice.nodes - 1][1]


def assemble(slots: list[Lattice], reads) -> NumberRead:
    """Reads each blob along its most plausible path (:func:`best_path`); crops the model answered
    "no digit" (a speck, a stroke, a letter) are left out rather than guessed. ``reads``: a
    :class:`CropReads` or a reader's raw answer for the crops."""
    reads = reads if isinstance(reads, CropReads) else CropReads.of(reads)
    digits = [DigitRead(int(np.argmax(reads.probs[k])), float(np.max(reads.probs[k])), [int(v) for v in box])
              for lattice in slots for box, k in best_path(lattice, reads) if not reads.refused[k]]
    confidence = float(np.prod([d.confidence for d in digits])) if digits else 0.0
    return NumberRead("".join(str(d.digit) for d in digits), confidence, digits)


def read_inks(inks: list[np.ndarray], reader: Reader, batch_size: int = 1024) -> list[NumberRead]:
    """Cuts each light-on-dark ink image into digits and reads them: every candidate crop of every image
    goes through ``reader`` in batches of ``batch_size`` (one batch for a few hundred digits)."""
    prepared = [prepare(ink) for ink in inks]
    crop_reads = read_crops(reader, np.concatenate([crops for _, crops in prepared]), batch_size)
    reads, start = [], 0
    for slots, crops in prepared:
        reads.append(assemble(slots, crop_reads.part(start, start + len(crops))))
        start += len(crops)
    return reads


def read_numbers(images: list[np.ndarray], reader: Reader, batch_size: int = 1024) -> list[NumberRead]:
    """:func:`read_inks` for images as they are (``framing.to_ink`` finds their ink)."""
    return read_inks([to_ink(image) for image in images], reader, batch_size)
