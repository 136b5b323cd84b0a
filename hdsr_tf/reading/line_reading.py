"""Reading a number with the line reader: an image -> its ink as one line -> digits, boxes and confidences.

The cut-and-read path in ``numbers.py`` has to decide where one digit ends;
the line reader (``models/line_reader.py``) does not, so touching and
overlapping digits cost it little. What it gives up is a box per digit: CTC
says *which* frames emitted a digit, not where the digit's ink is. A digit's
box here spans the columns from the least-inked column between it and its
left neighbour's frames to the same column on its right, shrunk to the pieces
of ink there that reach the columns where the reader saw the digit: exact for
separated digits, a fair split of a touching pair, and a stray mark beside a
digit stays out of its box.

It is taught to pass over stray marks rather than guess a digit for them: it
learned from lines holding letters and smudges that no label names
(``data/lines.py``). Erasing the blobs that the served model's detector calls "no digit"
before reading was measured and removed: the detector also refuses two
touching digits, and erasing those cost more than the marks it caught
(benchmarks/NOTES.md, session 11).

The reading's confidence is its CTC probability, every alignment summed
(``models/ctc.py``); each digit's is its best frame's probability, or, for a
digit the SavedModel read again, the two readings' product (:func:`_fuse`).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from hdsr_tf.data.framing import to_ink
from hdsr_tf.data.lines import MAX_WIDTH, line_input, pad_lines
from hdsr_tf.models.ctc import BLANK, STRIDE, decode_frames, softmax
from hdsr_tf.reading.cut_reader import CropReads, DigitRead, NumberRead, Reader, mnist_frame

MARGIN = 4  # line_input's left margin, in line columns


class LineReading:
    """Reads numbers given ``frames``: lines float32 [N, HEIGHT, W, 1] -> frame probabilities [N, W/4, 11].
    :class:`LineReader` computes them with a Keras model; ``serving.ServedLineReader`` asks TF Serving."""

    def frames(self, lines: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def read(self, images: list[np.ndarray], crop_reader: Reader | None = None) -> list[NumberRead]:
        """Images of numbers -> one :class:`NumberRead` each, every line read in one batch. With
        ``crop_reader`` (the SavedModel's ``serving_default``), each digit that stands alone is also
        read as an MNIST-framed crop, all crops in one batch, and :func:`_fuse`d with the line's reading."""
        return self.read_inks([to_ink(image) for image in images], crop_reader)

    def read_inks(self, inks: list[np.ndarray], crop_reader: Reader | None = None) -> list[NumberRead]:
        """:meth:`read` for images already turned into light-on-dark ink (``framing.to_ink``), e.g. with a
        form's printed structure taken away (``reading/forms.py``)."""
        placed = [line_input(ink) for ink in inks]
        probs = self.frames(pad_lines([line for line, _ in placed], MAX_WIDTH))
        found = [_number(p, line, mapping, ink) if line.max() > 0 else (NumberRead(), [])  # no ink: nothing
                 for p, (line, mapping), ink in zip(probs, placed, inks)]
        alone = [(i, k, dist, own) for i, (_, digits) in enumerate(found) for k, (dist, own) in enumerate(digits)
                 if own is not None]
        if crop_reader is not None and alone:
            crops = np.stack([mnist_frame(own) for *_, own in alone])[..., None]
            crop_probs = CropReads.of(crop_reader(crops)).probs
            for (i, k, dist, _), p in zip(alone, crop_probs):
                _fuse(found[i][0], k, dist, p)
        return [read for read, _ in found]


class LineReader(LineReading):
    """A trained line reader (``line_reader.keras``), loaded with safe_mode on."""

    def __init__(self, path: str | Path):
        import tensorflow as tf

        from hdsr_tf.models import load_model

        self.path = Path(path)
        self.model = load_model(self.path)
        # traced once per batch shape rather than run op by op: eager calls were a quarter of a forms read
        self._logits = tf.function(lambda lines: self.model(lines, training=False), reduce_retracing=True)

    def frames(self, lines: np.ndarray, batch_size: int = 256) -> np.ndarray:
        out = [np.asarray(self._logits(lines[i:i + batch_size]))
               for i in range(0, len(lines), batch_size)]
        return softmax(np.concatenate(out)) if out else np.zeros((0, lines.shape[2] // STRIDE, 11), np.float32)


def load(path: str | Path) -> LineReader | None:
    """A ``--line-reader`` value: the line reader at ``path``, or None for 'none' (each number is then
    cut into digits that the SavedModel reads)."""
    return None if str(path) == "none" else LineReader(path)


def _number(probs: np.ndarray, line: np.ndarray, mapping: tuple[float, int, int],
            ink: np.ndarray) -> tuple[NumberRead, list]:
    """One line's reading, and for each digit (the line's distribution over 0-9 at its best frame, its own
    ink cut to its box when it stands alone, else None)."""
    digits, confidences, spans, path = decode_frames(probs)
    if not digits:
        return NumberRead(), []
    scale, x0, _ = mapping
    profile = line.sum(axis=0)
    width = line.shape[1]
    centres = [int(round((a + b + 1) / 2 * STRIDE)) for a, b in spans]
    # a digit's columns: from the least-inked column between its frames and its left neighbour's, to the next one
    edges = [0] + [lo + int(np.argmin(profile[lo:hi])) if hi > lo else lo
                   for lo, hi in zip(centres[:-1], centres[1:])] + [width]
    def to_input(c):  # a line column -> an input column
        return x0 + (c - MARGIN) / scale

    reads, extras = [], []
    for digit, confidence, a, b, centre, (t0, t1) in zip(digits, confidences, edges[:-1], edges[1:], centres, spans):
        # clamped into the image: a band of no columns crashed OpenCV's connectedComponents (a segfault)
        xa = min(ink.shape[1] - 1, max(0, int(np.floor(to_input(a)))))
        xb = min(ink.shape[1], max(xa + 1, int(np.ceil(to_input(b)))))
        reach = max(1.0, STRIDE / scale)  # a frame's width in input pixels
        near = (int(np.floor(to_input(centre) - reach)) - xa, int(np.ceil(to_input(centre) + reach)) - xa)
        box, own = _ink_box(ink, xa, xb, near)
        reads.append(DigitRead(digit, confidence, box))
        best = t0 + int(np.argmax(probs[t0:t1 + 1, digit]))
        extras.append((probs[best, :BLANK] / max(float(probs[best, :BLANK].sum()), 1e-12), own))
    return NumberRead("".join(map(str, digits)), path, reads), extras


def _fuse(read: NumberRead, k: int, line_dist: np.ndarray, crop_probs: np.ndarray) -> None:
    """Digit ``k`` of ``read`` becomes the most likely under both readings (their product, renormalized);
    the number's confidence trades the line's belief in the old digit for the fused belief in the new."""
    fused = line_dist * crop_probs
    if fused.sum() <= 0:
        return
    fused = fused / fused.sum()
    old, new = read.digits[k].digit, int(np.argmax(fused))
    read.confidence = float(min(1.0, read.confidence * fused[new] / max(float(line_dist[old]), 1e-12)))
    read.digits[k].digit, read.digits[k].confidence = new, float(fused[new])
    read.number = "".join(str(d.digit) for d in read.digits)


def _ink_box(ink: np.ndarray, xa: int, xb: int, near: tuple[int, int]) -> tuple[list[int], np.ndarray | None]:
    """[x, y, width, height] of the digit's ink in columns [xa, xb): the pieces of ink (pixels above 0.3,
    connected) that reach the columns ``near`` (relative to xa) where the reader saw it, so a mark beside
    the digit stays out of its box; all the band's ink when no piece reaches them; the whole band when
    it holds none. Also the digit's own ink (with its anti-aliased rim) cut to that box when it stands
    alone (its pieces touch neither edge of the band), else None."""
    band = (ink[:, xa:xb] > 0.3).astype(np.uint8)
    count, labels = cv2.connectedComponents(band, connectivity=8)
    lo, hi = max(0, near[0]), min(band.shape[1], max(near[1], near[0] + 1))
    reaching = np.zeros(count, bool)  # a lookup by label: np.isin was a tenth of a forms read
    reaching[labels[:, lo:hi]] = True
    reaching[0] = False
    mine = bool(reaching.any())
    keep = reaching[labels] if mine else band.astype(bool)
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    if not rows.size:
        return [xa, 0, xb - xa, ink.shape[0]], None
    y0, y1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    own = None
    if mine and c0 > 0 and c1 < band.shape[1]:  # stands alone
        rim = cv2.dilate(keep.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        own = np.where(rim, ink[:, xa:xb], 0.0)[y0:y1, c0:c1]
    return [xa + c0, y0, c1 - c0, y1 - y0], own
