"""The robustness benchmark: every reader on every condition (``conditions.py``), side by side in one run.

A reader is anything with ``predict(images [N,s,s,1] in [0,1]) -> probabilities``;
each brings an image to its own input size the way our export does (ResizeTo:
area to shrink, bicubic to enlarge), so a 28-px recognizer is "bicubic +
recognizer" on LR digits. A served model's answer is its ``digit`` output when
it has one: a digit it refuses ("no digit", -1) counts as wrong. Every reader
states which degradation families it saw in training: the report's claims of
generalization are only about the families it did not see.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from hdsr_tf.data.recipe import HR
from hdsr_tf.evaluation import mnist_c
from hdsr_tf.evaluation.conditions import (
    DETAIL_SIZES,
    LR_SIZES,
    SHORT,
    Condition,
    _float,
    full_resolution_conditions,
    low_resolution_conditions,
    named_conditions,
)
from hdsr_tf.export import load_version
from hdsr_tf.image_metrics import expected_calibration_error, image_quality
from hdsr_tf.models.layers import ResizeTo
from hdsr_tf.signatures import choose


# ------------------------------------------------------------------ readers
@dataclass
class ReaderUnderTest:
    """A model under test, with what it saw in training (shown on every report row).

    ``predict_fn`` maps a batch to a dict with ``probabilities`` and, for readers
    that super-resolve, the ``sr_image`` they read.
    """

    name: str
    seen: str
    predict_fn: object = None
    params: int | None = None
    extra: dict = field(default_factory=dict)

    def outputs(self, images: np.ndarray, batch: int = 1000) -> dict:
        parts = [self.predict_fn(images[i:i + batch]) for i in range(0, len(images), batch)]
        if not parts:
            return {"probabilities": np.zeros((0, 10), np.float32)}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.outputs(images)["probabilities"]


def keras_reader(name: str, model, seen: str) -> ReaderUnderTest:
    """A .keras classifier (28x28 or LR input; inputs are ResizeTo'd to its input size first) or a
    hybrid .keras (any input size; its dict output's probabilities and SR image are kept)."""
    size = model.input_shape[1]
    resize = ResizeTo(size) if size else (lambda x: x)

    @tf.function(reduce_retracing=True)
    def run(x):
        return model(resize(x), training=False)

    def outputs(x):
        out = run(tf.constant(x, tf.float32))
        if isinstance(out, dict):
            return {"probabilities": out["probabilities"].numpy(), "sr_image": out["sr_image"].numpy()}
        return {"probabilities": out.numpy()}

    return ReaderUnderTest(name, seen, outputs, int(model.count_params()))


def savedmodel_reader(name: str, path: Path, seen: str, draw: bool = True) -> ReaderUnderTest:
    """An exported hybrid, read through ``serving_default`` exactly as TF Serving would call it; every
    output is kept (``digit`` and, since version 4, ``no_digit`` beside the probabilities and SR image).
    ``draw=False`` calls its reading twin ``read`` instead, where the version has one (5 and later):
    the same answers without computing ``sr_image``."""
    signatures = load_version(path).signatures
    key = choose(signatures, "serving_default", draw)
    fn = signatures[key]

    def run(x):
        return {k: v.numpy() for k, v in fn(image=tf.constant(x, tf.float32)).items()}

    return ReaderUnderTest(name, seen, run, extra={"path": str(path), "signature": key})


def short_summary(reader: ReaderUnderTest, images: np.ndarray, labels: np.ndarray, seed: int = 0,
                  names=SHORT) -> list[dict]:
    """The main report's robustness summary (or any named conditions): one row per condition."""
    hr = _float(images)
    return [{"condition": c.name, "size": c.size,
             **score(reader, c, labels, hr if c.group == "low resolution" and c.size != str(HR) else None)}
            for c in named_conditions(images, names, seed)]


# ------------------------------------------------------------------ measuring
def score(reader: ReaderUnderTest, condition: Condition, labels: np.ndarray, hr: np.ndarray | None = None) -> dict:
    """Accuracy and ECE; with ``hr`` (LR conditions) and a reader that super-resolves, also the
    PSNR/SSIM of the image it read against the HR digit. The answer is the reader's ``digit`` output
    when it has one (a served model's, -1 for "no digit": wrong), else the argmax of its probabilities;
    ``refused`` is the share of "no digit" answers."""
    probs = np.zeros((len(labels), 10), np.float32)
    answer = np.full(len(labels), -1, np.int64)
    sr, served = None, False
    for idx, x in condition.parts:
        out = reader.outputs(x)
        served = served or "digit" in out
        probs[idx] = out["probabilities"]
        answer[idx] = out["digit"] if "digit" in out else np.argmax(out["probabilities"], 1)
        if hr is not None and "sr_image" in out:
            sr = np.zeros((len(labels), HR, HR, 1), np.float32) if sr is None else sr
            sr[idx] = out["sr_image"]
    result = {"accuracy": float((answer == labels).mean()), "ece": expected_calibration_error(probs, labels)}
    if served:
        result["refused"] = float((answer == -1).mean())
    if sr is not None:
        target = condition.targets if condition.targets is not None else hr
        result.update({k: v for k, v in image_quality(sr, target).items() if k in ("psnr", "ssim")})
    return result


def bicubic_quality(condition: Condition, hr: np.ndarray) -> dict:
    """The baseline an SR image must beat: the LR digit enlarged to 28 px by bicubic (as ResizeTo does)."""
    up = np.zeros((len(hr), HR, HR, 1), np.float32)
    for idx, x in condition.parts:
        up[idx] = ResizeTo(HR)(tf.constant(x)).numpy()
    target = condition.targets if condition.targets is not None else hr
    return {k: v for k, v in image_quality(up, target).items() if k in ("psnr", "ssim")}


def run(readers: list[ReaderUnderTest], images: np.ndarray, labels: np.ndarray, seed: int = 0, quick: bool = False,
        progress=print) -> dict:
    """Every reader on every condition; returns the study (JSON-ready)."""
    names = mnist_c.CORRUPTIONS
    sizes, details = (LR_SIZES, DETAIL_SIZES) if not quick else ((5, 7, 10, 28), (10,))
    rows = []
    start = time.perf_counter()
    clean = _float(images)
    for conditions in (full_resolution_conditions(images, seed, names),
                       low_resolution_conditions(images, seed, sizes, details)):
        for c in conditions:
            lr = c.group == "low resolution" and c.size != str(HR)
            hr = clean if lr else None
            row = {"group": c.group, "condition": c.name, "size": c.size, "note": c.note,
                   "results": {r.name: score(r, c, labels, hr) for r in readers}}
            if lr:
                row["bicubic"] = bicubic_quality(c, hr)
            rows.append(row)
            progress(f"  {c.group:15s} {c.name:42s} " + "  ".join(
                f"{v['accuracy']:.2%}" for v in row["results"].values()))
    return {"test_digits": int(len(labels)), "seed": seed, "quick": quick,
            "seconds": round(time.perf_counter() - start, 1),
            "readers": [{"name": r.name, "seen": r.seen, "params": r.params, **r.extra} for r in readers],
            "rows": rows, "summary": summarize(rows, [r.name for r in readers])}


def summarize(rows: list[dict], names: list[str]) -> dict:
    """Means per group, and how many MNIST-C corruptions each reader leads the keras.io convnet on."""
    out = {}
    for name in names:
        def mean(pred):
            vals = [r["results"][name]["accuracy"] for r in rows if pred(r)]
            return float(np.mean(vals)) if vals else None

        out[name] = {"mnist_c_mean": mean(lambda r: r["group"] == "MNIST-C"),
                     "mnist_c_held_out_mean": mean(lambda r: r["group"] == "MNIST-C" and r["note"].startswith("held")),
                     "mnist_c_held_out_or_near_mean": mean(
                         lambda r: r["group"] == "MNIST-C" and not r["note"].startswith("seen")),
                     "low_resolution_mean": mean(lambda r: r["group"] == "low resolution"),
                     "clean": mean(lambda r: r["condition"] == "clean")}
    convnet = next((n for n in names if "keras.io" in n), None)
    if convnet:
        for name in names:
            out[name]["mnist_c_ahead_of_convnet"] = sum(
                r["results"][name]["accuracy"] > r["results"][convnet]["accuracy"]
                for r in rows if r["group"] == "MNIST-C")
    return out
