"""Reading numbers on forms, measured: five-digit numbers of MNIST *test* digits written in form fields.

Each row is one layout (``data/forms.py``: a comb, separate boxes, table
cells, a rule, a dotted or dashed guide, a comb or boxes in a dropout colour, a
printed label beside or above), one ink (dark or blue) and one look (full size,
digits about 10 px high, or a phone photo: rotated a few degrees, unevenly lit,
blurred, JPEG). Every field is read twice on the same images: with the form
step (``reading/forms.py``) and as the reader did before it, so the gain shows.
"""

from __future__ import annotations

import numpy as np

from hdsr_tf.data.form_layouts import INKS, LAYOUTS, LOOKS, FormStyle, make_fields
from hdsr_tf.evaluation.numbers import score
from hdsr_tf.reading.fields import read_fields


def styles(layouts=LAYOUTS, inks=INKS, looks=LOOKS) -> list[FormStyle]:
    return [FormStyle(layout, ink, look) for look in looks for layout in layouts for ink in inks]


def label_digits_added(predicted: list[str], truth: list[str]) -> float:
    """Share of images whose answer holds more digits than the number: a label read as digits."""
    return float(np.mean([len(p) > len(t) for p, t in zip(predicted, truth)]))


def evaluate(images: np.ndarray, labels: np.ndarray, reader, line_reader, rows: list[FormStyle], n: int,
             seed: int = 0, progress=None) -> list[dict]:
    """One dict per style: string and digit accuracy with the form step and without (``before_*``)."""
    out = []
    for style in rows:
        fields, truth = make_fields(images, labels, style, n, seed)
        now = [r.number for r in read_fields(fields, reader, line_reader)[0]]
        before = [r.number for r in read_fields(fields, reader, line_reader, structure=False)[0]]
        row = {"condition": style.name, "layout": style.layout, "ink": style.ink, "look": style.look,
               **score(now, truth)}
        was = score(before, truth)
        row["before_string_accuracy"], row["before_digit_accuracy"] = was["string_accuracy"], was["digit_accuracy"]
        row["extra_digits"] = label_digits_added(now, truth)
        out.append(row)
        if progress:
            progress(row)
    return out


def markdown(rows: list[dict]) -> str:
    """Every row, then the mean string accuracy of each look's rows (with and without the form step)."""
    looks = [look for look in LOOKS if any(r["look"] == look for r in rows)]
    means = ["| look | rows | mean string accuracy | before the form step |", "|---|---|---|---|"]
    for look in looks:
        mine = [r for r in rows if r["look"] == look]
        means.append(f"| {look} | {len(mine)} | {np.mean([r['string_accuracy'] for r in mine]):.1%} | "
                     f"{np.mean([r['before_string_accuracy'] for r in mine]):.1%} |")
    lines = ["| layout | ink | look | n | string accuracy | before the form step | digit accuracy | more digits "
             "than written |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['layout']} | {r['ink']} | {r['look']} | {r['n']} | {r['string_accuracy']:.1%} | "
              f"{r['before_string_accuracy']:.1%} | {r['digit_accuracy']:.1%} | {r['extra_digits']:.1%} |"
              for r in rows]
    return "\n".join(lines) + "\n\n" + "\n".join(means) + "\n"
