"""Printed form structure found and taken away before a number is read, the way scanners of forms do.

A number on a form sits among printed lines: a comb (a baseline with a tick
between characters), a box per digit, a row of table cells, a rule or a
dotted guide under the writing, a label. Read as it is, a comb's ticks read as
ones. So, before reading (:func:`find`):

1. colour: pixels of a printed *dropout* colour (red, green, light blue) are
   turned to paper, so only the pen's ink (black, dark or blue) is left;
2. the ink (light on dark, ``data/framing.to_ink``) is straightened: the angle
   (up to ``MAX_SKEW`` degrees) whose row profile has the longest straight row
   of ink, taken only when such a row is as long as a printed line;
3. horizontal lines: rows where runs of ink, each longer than a quarter of the
   image's height, cover ``LINE_SHARE`` of its width (box edges in a row are
   collinear; a dotted guide is closed first). Handwriting's strokes are too
   short and too uneven to do that;
4. vertical walls: straight vertical runs that stand on (or hang from) a
   horizontal line and share their top and bottom with at least two others:
   printed ticks and box walls are all the same height, a digit's stroke is not;
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

MAX_SKEW = 6.0  # degrees searched when straightening
LINE_SHARE = 0.6  # a printed line spans this share of the ink's width (a label beside it takes the rest)
LONE_SHARE = 0.33  # this share of a printed line's columns has no writing within LONE_ROWS x height of it
LONE_ROWS = 0.1
RUN_SHARE = 0.25  # each run counted towards a line is at least this share of the image's height
WORK_HEIGHT = 64  # smaller images are enlarged (up to 4x) to find their structure
MIN_TICKS = 4  # a comb: at least three cells, and four of its ticks seen
MIN_WALLS = 3  # walls of equal height that make a comb, a row of boxes or of cells
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


def _skew(mask: np.ndarray) -> float:
    """The angle (degrees) that makes the longest straight row of ink horizontal; 0 when no row at any
    angle is as long as a printed line."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    if len(xs) < 0.3 * w:
        return 0.0

    def longest(angles):
        best = []
        for a in angles:
            shifted = np.round(ys - xs * np.tan(np.radians(a))).astype(np.int64)
            best.append(np.bincount(shifted - shifted.min()).max())
        return np.asarray(best)

    coarse = np.arange(-MAX_SKEW, MAX_SKEW + 1e-6, 0.5)
    counts = longest(coarse)
    a0 = float(coarse[int(np.argmax(counts))])
    fine = np.arange(a0 - 0.4, a0 + 0.41, 0.1)
    counts_fine = longest(fine)
    angle = float(fine[int(np.argmax(counts_fine))])
    level = longest([0.0])[0]
    if counts_fine.max() < max(0.35 * w, 1.15 * level) or abs(angle) < 0.5:
        return 0.0
    return angle


def _rotate(image: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` rotated so that a line at ``angle`` degrees becomes horizontal, on a canvas that keeps
    every corner; (result, 2x3 matrix)."""
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(np.ceil(w * cos + h * sin)), int(np.ceil(h * cos + w * sin))
    matrix[:, 2] += ((nw - w) / 2, (nh - h) / 2)
    return cv2.warpAffine(image, matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0.0), matrix


def _groups(flags: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in a 1-D array: [(start, stop), ...]."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def _horizontal_lines(mask: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(bool mask of horizontal printed lines, their row groups [(y0, y1), ...])."""
    h, w = mask.shape
    run = max(5, int(round(RUN_SHARE * h)))
    gap = max(3, int(round(0.08 * h)))
    if w < 2 * run:
        return np.zeros_like(mask, bool), []
    closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 1)))
    runs = cv2.morphologyEx(closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (run, 1)))
    cols = np.flatnonzero(mask.any(axis=0))
    extent = cols[-1] - cols[0] + 1 if cols.size else w
    rows = np.array([_printed_row(row, extent) for row in runs > 0])
    groups = []
    for y0, y1 in _groups(rows):  # one thick or blurred line may show as two runs of rows
        if groups and y0 - groups[-1][1] <= max(2, 0.1 * h):
            groups[-1] = (groups[-1][0], y1)
        else:
            groups.append((y0, y1))
    lines = np.zeros_like(mask, bool)
    near = max(2, int(round(LONE_ROWS * h)))
    kept = []
    for y0, y1 in groups:
        # a printed line runs on where there is no writing (between digits, past the last one); a row
        # through the writing's own strokes (digits that touch) never leaves it
        span = (runs[y0:y1] > 0).any(axis=0)
        edge = max(2, y1 - y0)  # the line's own soft edge is not writing near it
        around = np.concatenate([mask[max(0, y0 - edge - near):max(0, y0 - edge)],
                                 mask[y1 + edge:y1 + edge + near]]).any(axis=0)
        if (span & ~around).sum() >= LONE_SHARE * span.sum():
            # the line's pixels, out to its true ends (the closing and opening trim a dotted line's)
            reach = cv2.dilate(runs[y0:y1], cv2.getStructuringElement(cv2.MORPH_RECT, (2 * gap + 1, 1)))
            lines[y0:y1] = (reach > 0) & (mask[y0:y1] > 0)
            kept.append((y0, y1))
    return lines, kept


def _printed_row(row: np.ndarray, extent: int) -> bool:
    """Whether a row of long runs is a printed line: one run across LINE_SHARE of the ink's width (a
    rule, a comb's baseline, a table's line, a dotted guide once closed), or at least MIN_WALLS runs of
    one length that together cover it (the edges of separate boxes). Handwriting's strokes in one row
    (the tops of a 5 and a 7, digits that touch) are neither that long nor that equal."""
    if row.sum() < LINE_SHARE * extent:
        return False
    lengths = np.array([b - a for a, b in _groups(row)])
    if lengths.max() >= LINE_SHARE * extent:
        return True
    runs = _groups(row)
    usual = float(np.median(lengths))
    gaps = np.array([c - b for (_, b), (c, _) in zip(runs[:-1], runs[1:])])
    return len(lengths) >= MIN_WALLS and lengths.min() >= 0.8 * usual and lengths.max() <= 1.25 * usual \
        and gaps.max() <= 1.5 * max(1.0, float(gaps.min())) + 2  # evenly spaced, like boxes


def _components(runs: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """Connected pieces of a mask as (label, x0, x1, y0, y1), and the label image."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    return [(i, int(x), int(x + bw), int(y), int(y + bh)) for i, (x, y, bw, bh, _) in enumerate(stats) if i], labels


def _walls(mask: np.ndarray, lines: np.ndarray, groups: list[tuple[int, int]]) -> tuple[np.ndarray, list[float]]:
    """(bool mask of vertical walls, the cell boundaries' columns). Between two lines (boxes, table
    cells): straight vertical runs that reach both. On one line (a comb): :func:`_ticks`. Handwriting
    meets neither test."""
    h, w = mask.shape
    none = np.zeros_like(mask, bool), []
    gap = max(2, int(round(0.04 * h)))
    closed = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, gap)))
    if len(groups) < 2:
        return _ticks(closed, lines, groups[0])
    tol = 2
    top, bottom = max(zip(groups[:-1], groups[1:]), key=lambda p: p[1][0] - p[0][1])
    if bottom[0] - top[1] < 0.2 * h:
        return none
    run = max(3, int(round(0.6 * (bottom[0] - top[1]))))
    runs = cv2.morphologyEx(closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, run)))
    pieces, labels = _components(runs)
    walls = [p for p in pieces if p[3] <= top[1] + tol and p[4] >= bottom[0] - tol]
    if len(walls) < 2:
        return none
    found = _straight(labels, walls)
    return found, [(a + b) / 2 for a, b in _groups(found.any(axis=0))]


def _ticks(closed: np.ndarray, lines: np.ndarray, group: tuple[int, int]) -> tuple[np.ndarray, list[float]]:
    """A comb's ticks on the line ``group``: columns whose ink runs straight up from the line (or down
    from it) for the same length, in narrow bands at an even pitch, with a tick at each end of the line
    (a few may be hidden by digits that cross them). (mask, the cell boundaries on that pitch)."""
    h, w = closed.shape
    g0, g1 = group
    tol = 2
    cols = np.flatnonzero(lines[g0:g1].any(axis=0))
    for up in (True, False):  # ticks standing on the line, then hanging from it
        side = closed[:g0][::-1] if up else closed[g1:]
        run = np.cumprod(side > 0, axis=0).sum(axis=0) if side.size else np.zeros(w, int)
        shortest = max(3, int(round(0.08 * h)))
        bands = []
        for a, b in _groups(run >= shortest):  # split where the run length jumps (a tick beside a digit)
            cuts = [a] + [x for x in range(a + 1, b) if abs(int(run[x]) - int(run[x - 1])) > tol] + [b]
            bands += [(c, d) for c, d in zip(cuts[:-1], cuts[1:]) if d - c <= max(6, 0.02 * w)]
        lengths = [int(np.median(run[a:b])) for a, b in bands]
        best = []
        for length in set(lengths):
            same = [band for band, n in zip(bands, lengths) if abs(n - length) <= tol]
            best = same if len(same) > len(best) else best
        if len(best) < MIN_WALLS:
            continue
        centres = np.array([(a + b) / 2 for a, b in best])
        bounds = _even(centres, cols[0], cols[-1])
        if bounds is None:
            continue
        length = int(np.median([int(np.median(run[a:b])) for a, b in best]))
        found = np.zeros_like(closed, bool)
        rows = slice(max(0, g0 - length), g0) if up else slice(g1, g1 + length)
        for a, b in best:
            found[rows, a:b] = closed[rows, a:b] > 0
        return found, bounds
    return np.zeros_like(closed, bool), []


def _even(centres: np.ndarray, first: int, last: int) -> list[float] | None:
    """Tick columns -> the boundaries of evenly pitched cells from the line's first column to its last:
    the pitch with a tick at both ends and at two thirds or more of its places (digits may hide a few,
    and a digit's stroke off the pitch is ignored); None when no pitch fits."""
    span = last - first
    best, best_share = None, 0.0
    for count in range(3, 16):
        pitch = span / count
        if pitch < 4:
            break
        grid = first + pitch * np.arange(count + 1)
        near = np.abs(centres[:, None] - grid[None, :]) <= max(2.0, 0.12 * pitch)
        hit = near.any(axis=0)
        share = hit.mean()
        if hit[0] and hit[-1] and hit.sum() >= MIN_TICKS and share >= 2 / 3 and share >= best_share:
            best, best_share = grid.tolist(), share
    return best


def _straight(labels: np.ndarray, walls: list) -> np.ndarray:
    """The walls' pixels, each cut to its straight core: the columns that run most of its height (a
    digit's stroke lying against a wall joins its piece, but not its full height)."""
    out = np.zeros(labels.shape, bool)
    for i, x0, x1, y0, y1 in walls:
        piece = labels[y0:y1, x0:x1] == i
        counts = piece.sum(axis=0)
        core = counts >= 0.6 * counts.max()
        out[y0:y1, x0:x1] = piece & core[None, :]
    return out


def _cells(bounds: list[float]) -> list[tuple[int, int]]:
    """Columns between neighbouring boundaries, less the narrow gaps between separate boxes; a cell twice
    as wide as the others (a wall hidden by a digit that crossed it) is split in two."""
    spans = [(int(round(a)), int(round(b))) for a, b in zip(bounds[:-1], bounds[1:])]
    if not spans:
        return []
    widest = max(b - a for a, b in spans)
    cells = [(a, b) for a, b in spans if b - a >= 0.55 * widest]
    usual = float(np.median([b - a for a, b in cells]))
    out = []
    for a, b in cells:
        parts = max(1, int(round((b - a) / usual)))
        edges = np.linspace(a, b, parts + 1).round().astype(int)
        out += list(zip(edges[:-1].tolist(), edges[1:].tolist()))
    return out


def find(image: np.ndarray) -> Field:
    """An image of a number, on a form or not -> its :class:`Field`: the ink with the printed
    structure taken away, and the cells the structure makes. A small image (under WORK_HEIGHT rows) is
    worked on enlarged, so that a one-pixel line and a digit's stroke beside it stay apart; when no
    structure is found the ink comes back at its own size, as ``framing.to_ink`` makes it."""
    original = to_ink(dropout_gray(image))
    if original.max() <= 0:
        return Field(original, np.zeros(original.shape, bool), rows=(0, original.shape[0]))
    factor = min(4, int(np.ceil(WORK_HEIGHT / original.shape[0])))
    ink, matrix = original, np.array([[factor, 0, 0], [0, factor, 0]], np.float64)
    if factor > 1:
        ink = np.clip(cv2.resize(original, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC), 0, 1)
    mask = binarize(ink)
    angle = _skew(mask)
    if angle:
        ink, rotation = _rotate(ink, angle)
        matrix = rotation @ np.vstack([matrix, [0, 0, 1]])
        mask = binarize(ink)
    h, w = ink.shape
    lines, groups = _horizontal_lines(mask)
    if not groups:  # a printed line fainter than the writing (gray print, a thin line shrunk)
        faint = (ink > 0.5 * float(ink[mask > 0].min(initial=1.0))).astype(np.uint8)
        lines, groups = _horizontal_lines(faint)
        # only a line that is faint: missing from the writing's mask, not the writing's blur joined up
        groups = [(a, b) for a, b in groups if mask[a:b][lines[a:b]].mean() < 0.3]
        if groups:
            mask = faint
            lines &= np.isin(np.arange(h), [y for a, b in groups for y in range(a, b)])[:, None]
    if not groups:
        return Field(original, np.zeros(original.shape, bool), rows=(0, original.shape[0]))
    walls, bounds = _walls(mask, lines, groups)
    if factor >= 3 and not walls.any():
        # a lone line in a tiny image: the touching strokes of 7 px digits can look like one, and the line
        # reader, trained with ruling lines, reads a rule under small digits as well as without it
        return Field(original, np.zeros(original.shape, bool), rows=(0, original.shape[0]))
    structure = lines | walls
    structure = cv2.dilate(structure.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & (ink > 0.02)
    u8 = np.round(ink * 255).astype(np.uint8)
    cleaned = cv2.inpaint(u8, structure.astype(np.uint8), 2, cv2.INPAINT_TELEA).astype(np.float32) / 255
    cleaned[cleaned < 0.12] = 0.0
    cells = _cells(bounds)
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
    rows = _groups((ink > 0.3).any(axis=1))
    if len(rows) < 2:
        return ink
    a, b = max(rows, key=lambda r: r[1] - r[0])
    out = np.zeros_like(ink)
    pad = max(1, (b - a) // 10)
    out[max(0, a - pad):b + pad] = ink[max(0, a - pad):b + pad]
    return out

