"""A form's printed lines, found in a mask of its ink: rules, box edges, table lines, comb ticks, walls.

What makes a line printed rather than written (``forms.py`` says how it is
used): it is straight, long (one run across most of the writing's width, or
equal runs evenly spaced, like the edges of separate boxes), has no writing
beside a good share of it, and its walls or ticks are all of one height on an
even pitch. Handwriting's strokes are neither that long, that equal, nor that
lonely.
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_SKEW = 6.0  # degrees searched when straightening
LINE_SHARE = 0.6  # a printed line spans this share of the ink's width (a label beside it takes the rest)
LONE_SHARE = 0.33  # this share of a printed line's columns has no writing within LONE_ROWS x height of it
LONE_ROWS = 0.1
RUN_SHARE = 0.25  # each run counted towards a line is at least this share of the image's height
MIN_TICKS = 4  # a comb: at least three cells, and four of its ticks seen
MIN_WALLS = 3  # walls of equal height that make a comb, a row of boxes or of cells


def skew(mask: np.ndarray) -> float:
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

    level = longest([0.0])[0]
    if level >= 0.8 * w:  # a printed line already level: most scans
        return 0.0
    coarse = np.arange(-MAX_SKEW, MAX_SKEW + 1e-6, 0.5)
    counts = longest(coarse)
    a0 = float(coarse[int(np.argmax(counts))])
    fine = np.arange(a0 - 0.4, a0 + 0.41, 0.1)
    counts_fine = longest(fine)
    angle = float(fine[int(np.argmax(counts_fine))])
    if counts_fine.max() < max(0.35 * w, 1.15 * level) or abs(angle) < 0.5:
        return 0.0
    return angle


def rotate(image: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """``image`` rotated so that a line at ``angle`` degrees becomes horizontal, on a canvas that keeps
    every corner; (result, 2x3 matrix)."""
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(np.ceil(w * cos + h * sin)), int(np.ceil(h * cos + w * sin))
    matrix[:, 2] += ((nw - w) / 2, (nh - h) / 2)
    return cv2.warpAffine(image, matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0.0), matrix


def stretches(flags: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in a 1-D array: [(start, stop), ...]."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def horizontal_lines(mask: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
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
    for y0, y1 in stretches(rows):  # one thick or blurred line may show as two runs of rows
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
        above = mask[max(0, y0 - edge - near):max(0, y0 - edge)].any(axis=0)
        below = mask[y1 + edge:y1 + edge + near].any(axis=0)
        lone = (span & ~(above | below)).sum() >= LONE_SHARE * span.sum()
        # the outer edge of a row of boxes or cells, thick and shrunk: its walls and digits fill the side
        # within, but nothing lies on the side without, all along one run as wide as the ink
        outer = len(stretches(span)) == 1 and span.sum() >= 0.9 * extent \
            and min(above[span].mean(), below[span].mean()) <= 0.1
        if lone or outer:
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
    lengths = np.array([b - a for a, b in stretches(row)])
    if lengths.max() >= LINE_SHARE * extent:
        return True
    runs = stretches(row)
    usual = float(np.median(lengths))
    gaps = np.array([c - b for (_, b), (c, _) in zip(runs[:-1], runs[1:])])
    return len(lengths) >= MIN_WALLS and lengths.min() >= 0.8 * usual and lengths.max() <= 1.25 * usual \
        and gaps.max() <= 1.5 * max(1.0, float(gaps.min())) + 2  # evenly spaced, like boxes


def _components(runs: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """Connected pieces of a mask as (label, x0, x1, y0, y1), and the label image."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    return [(i, int(x), int(x + bw), int(y), int(y + bh)) for i, (x, y, bw, bh, _) in enumerate(stats) if i], labels


def walls(mask: np.ndarray, lines: np.ndarray, groups: list[tuple[int, int]]) -> tuple[np.ndarray, list[float]]:
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
    boxes = [x for box in _box_edges(lines, top, bottom) for x in box]
    if len(walls) < 2:
        return (none[0], boxes) if boxes else none
    found = _straight(labels, walls)
    return found, boxes or [(a + b) / 2 for a, b in stretches(found.any(axis=0))]


def _box_edges(lines: np.ndarray, top: tuple[int, int], bottom: tuple[int, int]) -> list[tuple[int, int]]:
    """Separate boxes, from their edges: the top and the bottom line are each a row of runs of one length,
    one per box, lined up. The runs' ends are the boxes' sides, even a side too faint or broken to be
    found as a wall (at 10 px a box's wall is a gray smear). [] when the lines are not such rows (a
    table's lines run through)."""
    edges = []
    for y0, y1 in (top, bottom):
        runs = stretches(lines[y0:y1].any(axis=0))
        longest = max((b - a for a, b in runs), default=0)
        edges.append([(a, b) for a, b in runs if b - a >= 0.5 * longest])
    upper, lower = edges
    if len(upper) != len(lower) or len(upper) < MIN_WALLS:
        return []
    lengths = np.array([b - a for a, b in upper])
    if lengths.min() < 0.8 * np.median(lengths) or lengths.max() > 1.25 * np.median(lengths):
        return []
    slack = 0.15 * float(np.median(lengths))
    if any(abs(a - c) > slack or abs(b - d) > slack for (a, b), (c, d) in zip(upper, lower)):
        return []
    return [(min(a, c), max(b, d)) for (a, b), (c, d) in zip(upper, lower)]


def _ticks(closed: np.ndarray, lines: np.ndarray, group: tuple[int, int]) -> tuple[np.ndarray, list[float]]:
    """A comb's ticks on the line ``group``: columns whose ink runs straight up from the line (or down
    from it) for the same length, in narrow bands at an even pitch, with a tick at each end of the line
    (a few may be hidden by digits that cross them). (mask, the cell boundaries on that pitch)."""
    h, w = closed.shape
    g0, g1 = group
    tol = 2
    cols = np.flatnonzero(lines[g0:g1].any(axis=0))
    widest = max(6, 0.02 * w, 1.5 * (g1 - g0))  # a tick is printed with the pen of its line, enlarged or not
    for up in (True, False):  # ticks standing on the line, then hanging from it
        side = closed[:g0][::-1] if up else closed[g1:]
        run = np.cumprod(side > 0, axis=0).sum(axis=0) if side.size else np.zeros(w, int)
        shortest = max(3, int(round(0.08 * h)))
        bands = []
        for a, b in stretches(run >= shortest):  # split where the run length jumps (a tick beside a digit)
            cuts = [a] + [x for x in range(a + 1, b) if abs(int(run[x]) - int(run[x - 1])) > tol] + [b]
            bands += [(c, d) for c, d in zip(cuts[:-1], cuts[1:]) if d - c <= widest]
        lengths = [int(np.median(run[a:b])) for a, b in bands]
        best = []
        for length in set(lengths):
            same = [band for band, n in zip(bands, lengths) if abs(n - length) <= tol]
            best = same if len(same) > len(best) else best
        if len(best) < MIN_WALLS:
            continue
        length = int(np.median([int(np.median(run[a:b])) for a, b in best]))
        # a tick that a digit's stroke touches runs on past the others: on the pitch, it is still a tick
        best = [band for band, n in zip(bands, lengths) if n >= length - tol]
        centres = np.array([(a + b) / 2 for a, b in best])
        bounds = _even(centres, cols[0], cols[-1])
        rows_inked = np.flatnonzero(side.any(axis=1))
        if bounds is None or length < 0.2 * (rows_inked[-1] + 1):  # a comb's ticks: a good share of the writing's
            continue  # height (a digit's stroke hanging from the bar of touching 5s and 7s is not)
        reach = _pitch_slack(bounds[1] - bounds[0])
        found = np.zeros_like(closed, bool)
        rows = slice(max(0, g0 - length), g0) if up else slice(g1, g1 + length)
        for (a, b), c in zip(best, centres):
            if np.abs(np.asarray(bounds) - c).min() <= reach:  # only its own length: the digit stays
                found[rows, a:b] = closed[rows, a:b] > 0
        return found, bounds
    return np.zeros_like(closed, bool), []


def _pitch_slack(pitch: float) -> float:
    """How far a tick may sit from its place on a comb's pitch and still count as on it."""
    return max(2.0, 0.12 * pitch)


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
        near = np.abs(centres[:, None] - grid[None, :]) <= _pitch_slack(pitch)
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


def cells(bounds: list[float]) -> list[tuple[int, int]]:
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
