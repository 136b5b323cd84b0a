"""CTC's conventions for the line reader, in numpy only: the blank, the stride, greedy decoding.

Kept apart from the Keras model so that the serving client, which decodes the
frames TF Serving returns, imports no TensorFlow.
"""

from __future__ import annotations

import numpy as np

BLANK = 10  # the CTC blank's class index; digits are 0-9
STRIDE = 4  # input columns per output frame


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float32)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def decode_frames(probs: np.ndarray) -> tuple[list[int], list[float], list[tuple[int, int]], float]:
    """Greedy CTC decoding of one line's frame probabilities [T, 11] -> (digits, each digit's confidence
    (its best frame's probability), each digit's frames [first, last], the reading's confidence: its
    probability summed over every alignment, :func:`sequence_probability`)."""
    best = probs.argmax(axis=-1)
    digits, confidences, spans = [], [], []
    previous = BLANK
    for t, c in enumerate(best):
        c = int(c)
        if c != BLANK and c == previous:
            spans[-1] = (spans[-1][0], t)
            confidences[-1] = max(confidences[-1], float(probs[t, c]))
        elif c != BLANK:
            digits.append(c)
            confidences.append(float(probs[t, c]))
            spans.append((t, t))
        previous = c
    return digits, confidences, spans, sequence_probability(probs, digits)


def sequence_probability(probs: np.ndarray, digits: list[int]) -> float:
    """P(digits | frames): CTC's forward algorithm, every alignment of the digits to the frames summed
    (with a blank between repeats), rescaled each frame. The most likely alignment alone (the product of
    every frame's top probability) understated it: on validation numbers its mean was 0.53 where 89% of
    the readings were right."""
    probs = np.asarray(probs, np.float64)
    labels = [BLANK]
    for d in digits:
        labels += [d, BLANK]
    states = len(labels)
    alpha = np.zeros(states)
    alpha[0] = probs[0, BLANK]
    if states > 1:
        alpha[1] = probs[0, labels[1]]
    skip = np.array([s >= 2 and labels[s] != BLANK and labels[s] != labels[s - 2] for s in range(states)])
    log_scale = 0.0
    for t in range(1, len(probs)):
        total = alpha.sum()
        if total <= 0:
            return 0.0
        alpha, log_scale = alpha / total, log_scale + np.log(total)
        moved = alpha.copy()
        moved[1:] += alpha[:-1]
        moved[2:] += np.where(skip[2:], alpha[:-2], 0.0)
        alpha = moved * probs[t, labels]
    end = alpha[-1] + (alpha[-2] if states > 1 else 0.0)
    return float(np.exp(np.log(max(end, 1e-300)) + log_scale)) if end > 0 else 0.0
