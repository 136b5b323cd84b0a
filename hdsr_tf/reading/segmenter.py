"""Cutting an image of a number into digit candidates, the way a document pipeline does.

1. ink: gray, made light-on-dark (dark ink on light paper is inverted, judged
   by the border), an uneven background removed by a morphological opening
   wider than any stroke, contrast stretched (``data/framing.to_ink``);
2. binarize with Otsu's threshold; erase ruling lines (horizontal runs longer
   than two digit heights);
3. connected components; specks (tiny next to the line's digits) dropped;
   pieces of one broken digit (a 5's detached bar, a faint 4) merged when
   they share most of their columns;
4. touching digits: a wide blob (one may hold the whole number) becomes a
   lattice: cut columns at the valleys of its ink profile, and every segment
   between two cuts that could be one digit, each with its own pixels only.

``cut_reader.py`` reads the candidates and chooses a path through each lattice.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hdsr_tf.data.framing import binarize


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
