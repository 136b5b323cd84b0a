"""Printed form structure found and taken away before a number is read, the way scanners of forms do.

A number on a form sits among printed lines: a comb (a baseline with a tick
between characters), a box per digit, a row of table cells, a rule or a
dotted guide under the writing, a label. Read as it is, a comb's ticks read as
ones. So, before reading (:func:`find`):

1. colour: pixels of a printed *dropout* colour (red, green, light blue) are
   turned to paper, so only the pen's ink (black, dark or blue) is left;
2. the ink (light on dark, ``data/framing.to_ink``) of a small image (under
   ``WORK_HEIGHT`` rows) is enlarged, then straightened: the angle (up to 6
   degrees) whose row profile has the longest straight row of ink, taken only
   when such a row is as long as a printed line;
3. horizontal lines (``printed.py``): one run across most of the writing's
   width, or equal runs evenly spaced (the edges of separate boxes), with no
   writing beside a good share of it; a dotted guide is closed first. A line
   fainter than the writing is looked for again at half the threshold;
4. walls: between two lines, straight runs that reach both (boxes, cells); on
   one line, ticks of one height on an even pitch with one at each end (a
   comb). A digit's stroke meets neither test;
5. the structure is inpainted away, so a stroke that crossed a line is
   restored from the ink on both sides of it;
6. the walls cut the field into cells: each piece of ink goes to the cell
   holding most of it, an empty cell is no digit, and ink outside every cell
   (a printed label beside the boxes) is not part of the number.

Without structure the ink comes back unchanged, so plain numbers read exactly
as they did. A pen in a dropout colour is dropped along with the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from hdsr_tf.data.framing import binarize, to_ink
from hdsr_tf.reading import printed

WORK_HEIGHT = 64  # smaller images are enlarged (up to 4x) to find their structure
# The share of a field's pixels the colour step must take to be a printed form: on validation fields a
# dropout form took 1.4% or more in 90% of them, a coloured pen's anti-aliased rim (taken too) a median of
# 0.1-0.3% (90% under 1.6%). Under it no second look: searching those again made find 40% slower.
DROPOUT_SHARE = 0.01
# OpenCV hues (0-180): light-blue ("sky") forms sit at about 100-105, blue ballpoint ink at about 110-120.
SKY_HUES, PEN_HUES = (85, 106), (106, 140)


@dataclass
class Field:
    """What :func:`find` saw in one image, in its straightened frame."""

    ink: np.ndarray  # float32 [H,W], light on dark, the printed structure taken away
    structure: np.ndarray  # bool [H,W]: the printed structure that was removed
    angle: float = 0.0  # degrees the input was rotated by to straighten it (after enlarging a small one)
    cells: list = field(default_factory=list)  # columns [x0, x1) of each cell, left to right; [] for none
    rows: tuple = (0, 0)  # rows [top, bottom) of the cells (the whole height when there are no lines)
    matrix: np.ndarray | None = None  # 2x3 affine from input pixels to this frame (None: the input's own)
    guide: np.ndarray | None = None  # bool [H,W]: a lone printed line left in ``ink`` for the readers

    def to_input(self, box: list[int]) -> list[int]:
        """A box [x, y, w, h] in this frame -> the box around it in the input's pixels."""
        if self.matrix is None:
            return [int(v) for v in box]
        x, y, w, h = box
        corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], np.float32)
        back = cv2.invertAffineTransform(self.matrix)
        mapped = corners @ back[:, :2].T + back[:, 2]
        x0, y0 = np.floor(mapped.min(axis=0)).astype(int)
        x1, y1 = np.ceil(mapped.max(axis=0)).astype(int)
        return [int(max(0, x0)), int(max(0, y0)), int(x1 - max(0, x0)), int(y1 - max(0, y0))]

    def cell_inks(self) -> list[np.ndarray | None]:
        """Each cell's digit: the pieces of ink that lie mostly in it (with their anti-aliased rim), cut to
        their box, in the field's frame, and their box [x, y, w, h]; None for an empty cell."""
        return _cell_pieces(self)


def dropout_gray(image: np.ndarray) -> np.ndarray:
    """Any image -> gray, with pixels of a printed dropout colour made as light as paper: saturated and
    neither blue nor sky blue (red, green, orange), or sky blue and light (a light-blue form; a blue
    pen is a deeper blue, and darker). Gray images come back as they are."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        return image
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1].astype(np.float32) / 255, hsv[..., 2]
    paper = float(np.percentile(val, 90))
    sky = (hue >= SKY_HUES[0]) & (hue < SKY_HUES[1])
    pen = (hue >= PEN_HUES[0]) & (hue < PEN_HUES[1])
    dropout = (sat > 0.1) & ((~sky & ~pen & (val > 0.35 * paper)) | (sky & (val > 0.85 * paper)))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if not dropout.any():
        return gray
    # the paper around a dropout pixel: the lightest gray within 3 px (a printed line is thinner than that)
    return np.where(dropout, cv2.dilate(gray, np.ones((7, 7), np.uint8)), gray)


def find(image: np.ndarray) -> Field:
    """An image of a number, on a form or not -> its :class:`Field`: the ink with the printed
    structure taken away, and the cells the structure makes. A small image (under WORK_HEIGHT rows) is
    worked on enlarged, so that a one-pixel line and a digit's stroke beside it stay apart; when no
    structure is found the ink comes back at its own size, as ``framing.to_ink`` makes it.

    A dropout colour that the colour step took only in part (a photo's shade darkens a light-blue form,
    its JPEG greys a red one) leaves broken lines that are neither cells nor digits. So when the colour
    step took a form's worth of pixels (DROPOUT_SHARE) and no cells are found after it, the plain gray
    image is searched for the form as printed structure, and its cells are used if it has them. Small
    fields (under WORK_HEIGHT rows) are searched again only when a broken line was left: where the colour
    took the whole form, their digits read better without the structure step (10 px validation dropout
    rows: 1-2.5 points)."""
    image = np.asarray(image)
    gray = dropout_gray(image)
    found = _field(gray)
    if found.cells or image.ndim != 3 or (image.shape[0] < WORK_HEIGHT and not found.structure.any()):
        return found
    plain = cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2GRAY)
    if np.mean(plain != gray) < DROPOUT_SHARE:  # the colour step took a pen's coloured rim, not a form
        return found
    again = _field(plain)
    return again if again.cells else found


def _field(gray: np.ndarray) -> Field:
    """:func:`find` on a gray image (the colour step done)."""
    original = to_ink(gray)
    unchanged = Field(original, np.zeros(original.shape, bool), rows=(0, original.shape[0]))
    if original.max() <= 0:
        return unchanged
    factor = min(4, int(np.ceil(WORK_HEIGHT / original.shape[0])))
    ink, matrix = original, np.array([[factor, 0, 0], [0, factor, 0]], np.float64)
    if factor > 1:
        ink = np.clip(cv2.resize(original, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC), 0, 1)
    mask = binarize(ink)
    angle = printed.skew(mask)
    if angle:
        ink, rotation = printed.rotate(ink, angle)
        matrix = rotation @ np.vstack([matrix, [0, 0, 1]])
        mask = binarize(ink)
    h, w = ink.shape
    lines, groups = printed.horizontal_lines(mask)
    if not groups:  # a printed line fainter than the writing (gray print, a thin line shrunk)
        faint = (ink > 0.5 * float(ink[mask > 0].min(initial=1.0))).astype(np.uint8)
        lines, groups = printed.horizontal_lines(faint)
        # only a line that is faint: missing from the writing's mask, not the writing's blur joined up
        groups = [(a, b) for a, b in groups if mask[a:b][lines[a:b]].mean() < 0.3]
        if groups:
            mask = faint
            lines &= np.isin(np.arange(h), [y for a, b in groups for y in range(a, b)])[:, None]
    if not groups:
        return unchanged
    walls, bounds = printed.walls(mask, lines, groups)
    if factor >= 3 and not walls.any() and not bounds:
        # a lone line in a tiny image: the touching strokes of 7 px digits can look like one, and the line
        # reader, trained with ruling lines, reads a rule under small digits as well as without it. It is
        # left in the ink, and only said where it is (``guide``): a label beside it is found without it
        back = cv2.warpAffine(_inked(lines, ink).astype(np.float32), cv2.invertAffineTransform(matrix),
                              (original.shape[1], original.shape[0]), flags=cv2.INTER_LINEAR)
        unchanged.guide = back > 0.25
        return unchanged
    structure = _inked(lines | walls, ink)
    u8 = np.round(ink * 255).astype(np.uint8)
    cleaned = cv2.inpaint(u8, structure.astype(np.uint8), 2, cv2.INPAINT_TELEA).astype(np.float32) / 255
    cleaned[cleaned < 0.12] = 0.0
    cells = printed.cells(bounds)
    rows = (0, h)
    if cells and walls.any():
        ys = np.flatnonzero(walls.any(axis=1))
        rows = (int(ys[0]), int(ys[-1]) + 1)
    if factor > 1:  # back to the input's own scale: the readers were trained on small digits as they are
        size = (max(1, int(round(w / factor))), max(1, int(round(h / factor))))
        cleaned = cv2.resize(cleaned, size, interpolation=cv2.INTER_AREA)
        structure = cv2.resize(structure.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        cells = [(int(a // factor), int(-(-b // factor))) for a, b in cells]
        rows = (rows[0] // factor, -(-rows[1] // factor))
        matrix = matrix / factor
    return Field(cleaned, structure, angle, cells, rows, None if factor == 1 and not angle else matrix)


def _inked(found: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The printed structure ``found`` (bool), grown by a pixel to take its anti-aliased edges, where there is ink."""
    return cv2.dilate(found.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & (ink > 0.02)


def _cell_pieces(f: Field) -> list:
    """Per cell, (its digit's ink cut to its box, the box [x, y, w, h]) or None: connected pieces of ink
    (pixels above 0.3) go to the cell that holds most of their pixels; specks (under 8% of the largest
    piece) are dropped; pieces outside every cell are not part of the number."""
    if not f.cells:
        return []
    strong = (f.ink > 0.3).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strong, connectivity=8)
    if count <= 1:
        return [None] * len(f.cells)
    areas = stats[1:, cv2.CC_STAT_AREA]
    big = float(areas.max())
    owner = np.full(count, -1)
    col_cell = np.full(f.ink.shape[1], -1)
    for k, (a, b) in enumerate(f.cells):
        col_cell[a:b] = k
    for i in range(1, count):
        if areas[i - 1] < 0.08 * big:
            continue
        ys, xs = np.nonzero(labels == i)
        cells = col_cell[xs]
        inside = cells[cells >= 0]
        if inside.size < 0.5 * cells.size:
            continue  # outside the field: a label, a mark in the margin
        shares = np.bincount(inside, minlength=len(f.cells)) / inside.size
        order = np.argsort(shares)[::-1]
        owner[i] = int(order[0])
        if len(order) > 1 and shares[order[1]] >= 0.3:  # two digits that touch across a wall: cut there
            second = labels.max() + 1
            moved = cells == order[1]
            labels[ys[moved], xs[moved]] = second
            owner = np.append(owner, int(order[1]))
    ring = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    out = []
    for k in range(len(f.cells)):
        mine = np.isin(labels, np.flatnonzero(owner == k))
        if not mine.any():
            out.append(None)
            continue
        rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        rim = cv2.dilate(mine.astype(np.uint8), ring).astype(bool) & ((labels == 0) | mine)
        out.append((np.where(rim, f.ink, 0.0)[y0:y1, x0:x1], [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]))
    return out


def main_row(ink: np.ndarray) -> np.ndarray:
    """The ink of the tallest row of writing when the image holds several (a label printed above the
    number), the rest blanked; unchanged when there is one row."""
    rows = printed.stretches((ink > 0.3).any(axis=1))
    if len(rows) < 2:
        return ink
    a, b = max(rows, key=lambda r: r[1] - r[0])
    out = np.zeros_like(ink)
    pad = max(1, (b - a) // 10)
    out[max(0, a - pad):b + pad] = ink[max(0, a - pad):b + pad]
    return out

