"""One printer for every reading script: a result per file, as text, CSV or JSON.

Digits (``predict.py``, ``serving_client.py``): path, answer (the digit, "-"
for no digit, "unsure" under ``--min-confidence``) and confidence. Numbers
(``--number``): path, number and its confidence. A file that could not be read
gets its error in place of an answer. Imports nothing heavy, so a script can
report refused files before any model loads.
"""

from __future__ import annotations

import csv
import json
import sys

NO_DIGIT, UNSURE = "-", "unsure"


def answer(digit: int, confidence: float, min_confidence: float = 0.0) -> str:
    """What a person is told: the digit, "-" when the model says there is no digit (digit -1, exports with
    a detector), "unsure" when its confidence is under ``min_confidence``."""
    if digit < 0:
        return NO_DIGIT
    return UNSURE if confidence < min_confidence else str(digit)


def print_results(results: list[dict], fmt: str = "text", fields: tuple = (), text=None) -> None:
    """JSON: every key; CSV: ``fields``; text: ``text(result)`` per line, or its error."""
    if fmt == "json":
        print(json.dumps(results, indent=2))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, list(fields), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(results)
    else:
        for r in results:
            print(f"{r['path']}\terror: {r['error']}" if r["error"] else f"{r['path']}\t{text(r)}")


def print_digit_results(results: list[dict], fmt: str = "text", min_confidence: float = 0.0) -> None:
    """Text: path, answer, confidence. JSON and CSV also hold ``answer``."""
    for r in results:
        r["answer"] = None if r["error"] else answer(r["digit"], r["confidence"], min_confidence)
    print_results(results, fmt, ("path", "answer", "digit", "confidence", "no_digit", "error"),
                  lambda r: f"{r['answer']}\t{r['confidence']:.4f}")


def print_number_results(results: list[dict], fmt: str = "text") -> None:
    """Text: path, number, confidence (the chance that every digit is right)."""
    print_results(results, fmt, ("path", "number", "confidence", "error"),
                  lambda r: f"{r['number']}\t{r['confidence']:.4f}")
