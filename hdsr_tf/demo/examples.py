"""The page's bundled examples, made from MNIST test digits (never a digit any model trained on).

Committed as PNG files under ``examples/``; :func:`make_examples` writes them again byte for byte
(a test checks), so anyone can see exactly what each one is.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).with_name("examples")
NAMES = ("digit_clean.png", "digit_7x7.png", "digit_noisy.png", "blank.png", "number.png", "comb_field.png")


def make_examples(out_dir: Path = HERE) -> list[Path]:
    """Writes the six examples: a clean 28x28 digit (as a scan: dark on light), the same digit at 7x7, a
    noisy one, a blank page, a five-digit number and a five-digit comb field; returns their paths."""
    from hdsr_tf.data import mnist
    from hdsr_tf.data.form_layouts import FormStyle, make_fields
    from hdsr_tf.evaluation.numbers import NumberCondition, make_set

    x, y = mnist.load_arrays("test")
    x = x.reshape(-1, 28, 28)
    rng = np.random.default_rng(0)
    digit = x[int(np.flatnonzero(y == 3)[0])]
    noisy = np.clip(x[int(np.flatnonzero(y == 5)[0])] + rng.normal(0, 60, (28, 28)), 0, 255).astype(np.uint8)
    images = {
        "digit_clean.png": 255 - digit,
        "digit_7x7.png": cv2.resize(digit, (7, 7), interpolation=cv2.INTER_AREA),  # light on dark, as MNIST
        "digit_noisy.png": noisy,
        "blank.png": np.full((64, 64), 236, np.uint8),
        "number.png": make_set(x[..., None], y, NumberCondition("separated", "full", "dark_on_light"), 1, seed=7)[0][0],
        "comb_field.png": make_fields(x, y, FormStyle("comb", "blue", "full"), 1, seed=7)[0][0],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in NAMES:
        paths.append(out_dir / name)
        cv2.imwrite(str(paths[-1]), images[name])
    return paths
