"""Reading a number cut into digits: every candidate crop in one batch, then the best path.

5. each candidate from ``segmenter.segment`` framed the way MNIST was made
   (fitted into 20x20, centred by centre of mass in 28x28), and all crops of
   all images read in one batch by a *reader* (the SavedModel's reading
   signature);
6. each blob read along its most plausible path through its lattice: the
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

import numpy as np

from hdsr_tf.data.framing import SIZE, fit_and_centre, to_ink
from hdsr_tf.reading.segmenter import Lattice, segment


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


# ------------------------------------------------------------------ crops
def mnist_frame(crop: np.ndarray, size: int = SIZE) -> np.ndarray:
    """A digit's ink [h,w] -> float32 [size,size]: its strokes stretched to full ink (MNIST's strokes are
    saturated; a small or faint digit's are not), fitted into 20/28 of the side, centred by centre of mass."""
    crop = crop.astype(np.float32)
    strokes = crop[crop > 0.05]
    if strokes.size > 3:
        crop = np.clip(crop / max(_percentile_90(strokes), 1e-3), 0, 1)
    return fit_and_centre(crop, size)


def _percentile_90(values: np.ndarray) -> float:
    """``np.percentile(values, 90)`` (linear) from a partial sort of the two values it lies between: a
    tenth of the time of numpy's general function, which took half of ``mnist_frame``'s."""
    at = 0.9 * (values.size - 1)
    lo = int(at)
    hi = min(lo + 1, values.size - 1)
    part = np.partition(values, (lo, hi))
    return float(part[lo] + (part[hi] - part[lo]) * (at - lo))


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
