"""Reading a number wherever it is written: a plain line, or a form field with its printed structure.

Every image first goes through ``form_structure.find``. When the structure cuts the
field into cells (a comb, a row of boxes, table cells), the cells say where one
digit ends and the next begins: each cell's ink is framed as MNIST was and
read by the SavedModel (``reader``), and an empty cell is no digit. Otherwise the ink, rules and guides taken
away and only its tallest row of writing kept (a label printed above goes), is
read whole by the line reader, or cut into digits by the segmenter
(``segmenter.py``, read by ``cut_reader.py``) when there is none.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from hdsr_tf.data.framing import to_ink
from hdsr_tf.reading import cut_reader, form_structure
from hdsr_tf.reading.cut_reader import DigitRead, NumberRead, Reader
from hdsr_tf.reading.files import load_image

WORD_GAP = 0.45  # a gap this many row heights wide parts two words (a label and the number)
SMALL_WORD = 0.8  # an outer word under this share of the tallest word's height is a printed label
MIN_CELLS = 3  # fewer cells than this do not say where one digit ends and the next begins


def _read_cells(pieces: list[list], reader: Reader) -> list[NumberRead]:
    """Each field's cell pieces (``Field.cell_inks``) -> the number read cell by cell, boxes in the field's
    frame: every non-empty cell of every field read in one batch."""
    slots, crops = [], []
    for cell_pieces in pieces:
        filled = [p for p in cell_pieces if p is not None]
        slots.append([(box, len(crops) + k) for k, (_, box) in enumerate(filled)])
        crops += [cut_reader.mnist_frame(ink) for ink, _ in filled]
    reads = cut_reader.read_crops(reader, np.stack(crops)[..., None]) if crops else None
    out = []
    for cells in slots:
        digits = [DigitRead(int(np.argmax(reads.probs[k])), float(np.max(reads.probs[k])), box) for box, k in cells]
        confidence = float(np.prod([d.confidence for d in digits])) if digits else 0.0
        out.append(NumberRead("".join(str(d.digit) for d in digits), confidence, digits))
    return out


def _fits_cells(read: NumberRead, cells: list[tuple[int, int]], filled: list[bool]) -> bool:
    """Whether the line reader's digits fit the cells: exactly one in each non-empty cell, and any other
    one where the cell step may have lost a digit: in a cell it found empty, or past either end of the
    cells and as tall as the others (a box it missed). Fewer than three cells are no evidence at all."""
    if len(cells) < MIN_CELLS:
        return True
    centres = [d.box[0] + d.box[2] / 2 for d in read.digits]
    owners = [next((k for k, (a, b) in enumerate(cells) if a <= c < b), -1) for c in centres]
    kept = [k for k in owners if k >= 0 and filled[k]]
    if kept != [k for k in range(len(cells)) if filled[k]]:
        return False
    if not read.digits:
        return True  # no digit, and no cell holds one
    tall = SMALL_WORD * float(np.median([d.box[3] for d in read.digits]))
    return all(k >= 0 or ((c < cells[0][0] or c >= cells[-1][1]) and d.box[3] >= tall)
               for k, c, d in zip(owners, centres, read.digits))


def _words(ink: np.ndarray, guide: np.ndarray | None = None) -> tuple[np.ndarray, list[list[int]]]:
    """(component labels of the ink's pieces above 0.3, its words: the pieces' labels grouped left to right,
    a new word after a gap wider than WORD_GAP x the row's height); specks are left out. A ``guide`` (a
    printed line left in the ink) is not ink here: digits written on it would be one piece with it."""
    strong = ink > 0.3
    if guide is not None:
        strong &= ~guide
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strong.astype(np.uint8), connectivity=8)
    if count <= 2:
        return labels, []
    areas = stats[1:, cv2.CC_STAT_AREA]
    pieces = sorted((int(stats[i, 0]), int(stats[i, 0] + stats[i, 2]), i) for i in range(1, count)
                    if areas[i - 1] >= 0.08 * areas.max())
    rows = np.flatnonzero(strong.any(axis=1))
    gap = WORD_GAP * (rows[-1] - rows[0] + 1)
    words, right = [], -1e9
    for x0, x1, i in pieces:
        if x0 - right > gap:
            words.append([])
        words[-1].append(i)
        right = max(right, x1)
    return labels, words


def drop_labels(inks: list[np.ndarray], reader: Reader, guides: list | None = None) -> list[np.ndarray]:
    """Erases a printed label beside a number: the first or last word of a line (two pieces or more, set
    apart by a wide gap) when the SavedModel calls most of its pieces "no digit", or any of them when
    the word is printed smaller than the tallest one (labels are set in small type, and a label's
    O, I or l reads as a digit; a small word may be one piece when its letters run together, shrunk).
    ``guides``: each ink's printed line left in it (``Field.guide``), or None. All pieces asked about go
    to ``reader`` in one batch."""
    asks = []  # (image, labels, every word's pieces, the word, its first crop, whether it is small)
    crops = []
    for n, ink in enumerate(inks):
        guide = guides[n] if guides else None
        labels, words = _words(ink, guide)
        if len(words) < 2:
            continue
        heights = [_word_height(labels, w, guide) for w in words]
        members = [i for w in words for i in w]
        for k in {0, len(words) - 1}:
            word, small = words[k], heights[k] < SMALL_WORD * max(heights)
            if len(word) < 2 and not (small and _run_together(labels, word[0])):
                continue
            asks.append((n, labels, members, word, len(crops), small))
            crops += [cut_reader.mnist_frame(np.where(labels == i, ink, 0.0)[_box(labels == i)]) for i in word]
    refused = cut_reader.read_crops(reader, np.stack(crops)[..., None]).refused if crops else np.zeros(0, bool)
    out = list(inks)
    for n, labels, pieces, word, first, small in asks:
        share = refused[first:first + len(word)].mean()
        if share > 0.5 or (small and share > 0):
            gone = np.isin(labels, word)
            span = _box(gone)[1]
            within = labels[:, span]  # a label's small letters and dots (too small to count as pieces) go too
            gone[:, span] |= (within > 0) & ~np.isin(within, pieces)
            gone = cv2.dilate(gone.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            out[n] = np.where(gone, 0.0, out[n])
    return out


def _run_together(labels: np.ndarray, piece: int) -> bool:
    """Whether one piece is as wide as letters run together (a shrunk label): 1.5x its height or more. The
    remnant of a digit cut by a rule, or a lone small digit, is narrower."""
    rows, cols = _box(labels == piece)
    return cols.stop - cols.start >= 1.5 * (rows.stop - rows.start)


def _word_height(labels: np.ndarray, word: list[int], guide: np.ndarray | None = None) -> int:
    """Rows from a word's top to its bottom; with a ``guide``, the line under its columns counts too (a digit
    written across it was cut in two by leaving it out, and is no shorter for that)."""
    mask = np.isin(labels, word)
    if guide is not None:
        span = _box(mask)[1]
        mask[:, span] |= guide[:, span]
    rows = np.flatnonzero(mask.any(axis=1))
    return int(rows[-1] - rows[0] + 1)


def _box(mask: np.ndarray) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _unread_ink(ink: np.ndarray, left: DigitRead, right: DigitRead, height: float) -> bool:
    """Whether ink that no digit was read from lies between two digits' boxes, set apart by white space
    and as wide as a digit is high (the rest of a printed word: a lone stray mark is narrower, and small
    touching digits join the next digit)."""
    a, b = left.box[0] + left.box[2], right.box[0]
    cols = (ink[:, a:b] > 0.3).any(axis=0)
    return b > a and int(cols.sum()) >= height and not cols.all()


def _without_small_ends(read: NumberRead, ink: np.ndarray) -> NumberRead:
    """A run of two or more digits at either end whose boxes are under SMALL_WORD of the others' median
    height, set apart from them by a wider gap than theirs, is a printed label the line reader spelled
    as digits: it is left out. So is one such digit when ink that was read as no digit lies between it
    and the rest (the O of "Amount", its other letters unread)."""
    digits = read.digits
    if len(digits) < 4:
        return read
    heights = np.array([d.box[3] for d in digits], np.float32)
    small = heights < SMALL_WORD * float(np.median(heights))
    lo, hi = 0, len(digits)
    while lo < hi and small[lo]:
        lo += 1
    while hi > lo and small[hi - 1]:
        hi -= 1
    tall = float(np.median(heights))
    lo = lo if lo >= 2 or (lo == 1 and _unread_ink(ink, digits[0], digits[1], tall)) else 0
    hi = hi if len(digits) - hi >= 2 or (len(digits) - hi == 1 and _unread_ink(ink, digits[-2], digits[-1], tall)) \
        else len(digits)
    if hi - lo < 2:
        return read
    left = [d.box[0] for d in digits]
    right = [d.box[0] + d.box[2] for d in digits]
    gaps = [left[k + 1] - right[k] for k in range(lo, hi - 1)]
    wide = max(1.5 * float(np.median(gaps)), 0.3 * float(np.median(heights[lo:hi])))
    if lo and left[lo] - right[lo - 1] < wide:  # set apart as a label is, or part of the number
        lo = 0
    if hi < len(digits) and left[hi] - right[hi - 1] < wide:
        hi = len(digits)
    if (lo, hi) == (0, len(digits)):
        return read
    kept = digits[lo:hi]
    dropped = digits[:lo] + digits[hi:]
    confidence = read.confidence / max(float(np.prod([d.confidence for d in dropped])), 1e-12)
    return NumberRead("".join(str(d.digit) for d in kept), float(min(1.0, confidence)), kept)


def read_fields(images: list[np.ndarray], reader: Reader | None, line_reader=None,
                structure: bool = True) -> tuple[list[NumberRead], list[form_structure.Field | None]]:
    """Images of numbers (gray or BGR) -> (one :class:`NumberRead` each, boxes in input pixels; the
    :class:`form_structure.Field` found in each, None with ``structure=False``, which reads the image as it is).

    A field with cells is read both ways: the line reader's reading stands when its digits fit the cells
    (:func:`_fits_cells`; it reads a broken or crossing digit better than a crop does); otherwise the
    cells' reading does (the line reader took a wall's remnant for a one, or joined two cells)."""
    if structure and len(images) > 1:  # OpenCV and numpy release the GIL: 1.45x on 2 cores
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            fields = list(pool.map(form_structure.find, images))
    else:
        fields = [form_structure.find(image) if structure else None for image in images]
    inks = [form_structure.main_row(f.ink) if f is not None else to_ink(image) for f, image in zip(fields, images)]
    if structure and reader is not None:
        inks = drop_labels(inks, reader, [f.guide if f is not None else None for f in fields])
    reads = line_reader.read_inks(inks, crop_reader=reader) if line_reader is not None \
        else cut_reader.read_inks(inks, reader)
    if structure:
        reads = [_without_small_ends(r, ink) for r, ink in zip(reads, inks)]
    # cells are read only where the line reader's digits do not fit them
    pieces = {i: f.cell_inks() for i, f in enumerate(fields) if f is not None and f.cells and reader is not None}
    celled = [i for i, cell_pieces in pieces.items()
              if not _fits_cells(reads[i], fields[i].cells, [p is not None for p in cell_pieces])]
    for i, by_cell in zip(celled, _read_cells([pieces[i] for i in celled], reader) if celled else []):
        reads[i] = by_cell
    for f, read in zip(fields, reads):
        if f is not None:
            for d in read.digits:
                d.box = f.to_input(d.box)
    return reads, fields


def draw_boxes(image: np.ndarray, read: NumberRead, path: Path, field: form_structure.Field | None = None) -> None:
    """Writes ``image`` with each digit's box and reading drawn on it, and the printed structure that was
    taken away (``field``) tinted faintly, so a user can see what was removed."""
    canvas = np.asarray(image)
    if canvas.dtype != np.uint8:
        canvas = np.round(np.clip(canvas.astype(np.float32) / max(1.0, float(canvas.max())), 0, 1) * 255)
        canvas = canvas.astype(np.uint8)
    if canvas.ndim == 2:
        canvas = cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)
    canvas = np.ascontiguousarray(canvas[..., :3])
    if field is not None and field.structure.any():
        removed = field.structure.astype(np.uint8)
        if field.matrix is not None:
            back = cv2.invertAffineTransform(field.matrix)
            removed = cv2.warpAffine(removed, back, (canvas.shape[1], canvas.shape[0]), flags=cv2.INTER_NEAREST)
        tint = canvas.astype(np.float32)
        tint[removed > 0] = 0.7 * tint[removed > 0] + 0.3 * np.array([255, 200, 0], np.float32)  # faint cyan
        canvas = np.round(tint).astype(np.uint8)
    scale = max(1, 96 // max(1, canvas.shape[0]))  # small numbers are drawn enlarged, so the labels can be read
    if scale > 1:
        canvas = cv2.resize(canvas, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    canvas = cv2.copyMakeBorder(canvas, 16, 0, 0, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    for d in read.digits:
        x, y, w, h = (v * scale for v in d.box)
        cv2.rectangle(canvas, (x, y + 16), (x + w - 1, y + h - 1 + 16), (0, 0, 255), 1)
        cv2.putText(canvas, str(d.digit), (x, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 255), 1, cv2.LINE_AA)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), canvas)


def read_number_files(reader: Reader | None, paths, boxes_dir=None, chunk: int = 256, line_reader=None,
                      structure: bool = True) -> list[dict]:
    """Each file -> {path, number, confidence, digits, error}; ``chunk`` files are read in one batch by
    :func:`read_fields`. Files are loaded by the one loader (``files.load_image``: header checked, pixel
    limit), so a hostile file gets its own error line and the others their numbers.

    With ``boxes_dir`` each image is also written there with its boxes, digits and removed structure
    drawn on it, under its own path (so that equal names in different folders never overwrite each other).
    """
    paths = [Path(p) for p in paths]
    results = []
    for start in range(0, len(paths), chunk):
        images, records = {}, []
        for path in paths[start:start + chunk]:
            record = {"path": str(path), "number": None, "confidence": None, "digits": None, "error": None}
            try:
                images[len(records)] = load_image(path)
            except ValueError as e:
                record["error"] = str(e)
            records.append(record)
        keys = list(images)
        reads, fields = read_fields([images[k] for k in keys], reader, line_reader, structure)
        for key, read, field in zip(keys, reads, fields):
            records[key].update(number=read.number, confidence=read.confidence,
                                digits=[vars(d) for d in read.digits])
            if boxes_dir:
                path = Path(records[key]["path"]).resolve()
                relative = path.relative_to(path.anchor)
                draw_boxes(images[key], read, Path(boxes_dir) / relative.parent / f"{relative.name}.boxes.png",
                           field)
        results += records
    return results

