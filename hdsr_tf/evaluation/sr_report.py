"""Super-resolution and hybrid evaluation: one row per way of reading LR digits.

A row gives accuracy, macro precision/recall/F1 and, where an image is made,
PSNR and SSIM against the HR digit. Rows are written as JSON and as a markdown
table, with a comparison figure in the style of the paper's figure 1.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from hdsr_tf.data.degrade import downsample
from hdsr_tf.evaluation.classification import classification_summary, model_outputs, predict_labels
from hdsr_tf.evaluation.plots import plot_sr_grid
from hdsr_tf.image_metrics import expected_calibration_error, image_quality


def lr_test_images(hr_uint8: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """(LR, HR) float32 test images; LR by area downsampling, as in training."""
    hr = hr_uint8.astype(np.float32) / 255.0
    return downsample(tf.constant(hr), scale, "area").numpy(), hr


def bicubic(lr: np.ndarray, size: int = 28) -> np.ndarray:
    return np.clip(tf.image.resize(lr, [size, size], method="bicubic").numpy(), 0.0, 1.0)


def super_resolve(generator, lr: np.ndarray, batch_size: int = 250) -> np.ndarray:
    """SR images in [0, 1], through one ``tf.function`` rather than Keras' ``predict()``: the same
    outputs (to 1e-7), measured 1.0-1.7x faster here (the wide 2x generator on the test set: 25 s
    against 41 s for ``predict`` at batch 500)."""
    return np.clip(model_outputs(generator, lr, batch_size), 0.0, 1.0)


def recognition_row(name: str, probs: np.ndarray, labels: np.ndarray, images: np.ndarray | None = None,
                    hr: np.ndarray | None = None, answers: np.ndarray | None = None, **extra) -> dict:
    """One report row. ``answers``: a served model's digits (-1, "no digit", is wrong), when it gives them;
    else the argmax of ``probs``."""
    s = classification_summary(labels, np.argmax(probs, axis=1) if answers is None else answers)
    row = {"name": name, "accuracy": s["accuracy"], "macro_precision": s["macro_precision"],
           "macro_recall": s["macro_recall"], "macro_f1": s["macro_f1"], "psnr": None, "ssim": None,
           "ssim_7x7": None, "ece": expected_calibration_error(probs, labels)}
    if images is not None and hr is not None:
        row.update(image_quality(images, hr))
    row.update(extra)
    return row


def predict_probs(model, x: np.ndarray, batch_size: int = 250) -> np.ndarray:
    return predict_labels(model, x, batch_size)[1]


def hybrid_figures(generator, recognizer, images: np.ndarray, labels: np.ndarray, scale: int) -> dict:
    """A generator + recognizer pair on area-downsampled digits: LR accuracy, the recognizer's HR
    accuracy, and the SR digits' quality."""
    lr, hr = lr_test_images(images, scale)
    sr = super_resolve(generator, lr)
    return {"hybrid_lr_accuracy": float(np.mean(np.argmax(predict_probs(recognizer, sr), 1) == labels)),
            "recognizer_hr_accuracy": float(np.mean(np.argmax(predict_probs(recognizer, hr), 1) == labels)),
            **image_quality(sr, hr)}


def markdown_table(rows: list[dict]) -> str:
    head = ("| | accuracy | macro precision | macro recall | macro F1 | PSNR (dB) | SSIM (11x11) | SSIM (7x7) |\n"
            "|---|---|---|---|---|---|---|---|\n")

    def fmt(v, pct=False):
        if v is None:
            return "—"
        return f"{v:.2%}" if pct else f"{v:.4f}" if v < 1.5 else f"{v:.2f}"

    return head + "".join(
        f"| {r['name']} | {fmt(r['accuracy'], True)} | {fmt(r['macro_precision'])} | {fmt(r['macro_recall'])} "
        f"| {fmt(r['macro_f1'])} | {fmt(r['psnr'])} | {fmt(r['ssim'])} | {fmt(r.get('ssim_7x7'))} |\n"
        for r in rows)


def comparison_figure(lr: np.ndarray, columns: dict[str, np.ndarray], hr: np.ndarray, out_path: Path,
                      n: int = 8, title: str = "") -> None:
    big_lr = tf.image.resize(lr[:n], hr.shape[1:3], method="nearest").numpy()
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    plot_sr_grid({"LR": big_lr, **{k: v[:n] for k, v in columns.items()}, "HR": hr[:n]}, out_path, title)


def side_by_side_speed(fns: dict, input_name: str, examples: dict, batch_sizes=(1, 256), repeats: int = 20) -> dict:
    """Median latency (ms) and throughput (images/s) of several signatures per batch size, timed in turns
    (one call of each, round after round) so that a slow spell of a shared machine falls on all of them
    alike: {name: {batch: {p50_ms, images_per_s}}}.
    Timed one after the other, version 4 over version 1 measured 0.86x and 0.96x in two runs minutes apart."""
    out = {name: {} for name in fns}
    for b in batch_sizes:
        xs = {name: tf.constant(np.resize(examples[name], (b,) + examples[name].shape[1:]).astype(np.float32))
              for name in fns}
        for name, fn in fns.items():
            fn(**{input_name: xs[name]})  # warm-up / trace
        times = {name: [] for name in fns}
        for _ in range(repeats if b == 1 else max(3, repeats // 4)):
            for name, fn in fns.items():
                t = time.perf_counter()
                fn(**{input_name: xs[name]})
                times[name].append(time.perf_counter() - t)
        for name in fns:
            med = float(np.median(times[name]))
            out[name][str(b)] = {"p50_ms": med * 1000, "images_per_s": b / med}
    return out


def serving_speed(fn, input_name: str, example: np.ndarray, batch_sizes=(1, 256), repeats: int = 20) -> dict:
    """One signature's :func:`side_by_side_speed`: {batch: {p50_ms, images_per_s}}."""
    return side_by_side_speed({"fn": fn}, input_name, {"fn": example}, batch_sizes, repeats)["fn"]
