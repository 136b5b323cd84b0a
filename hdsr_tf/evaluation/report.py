"""The recognizer's evaluation report, written into a run directory.

Files: metrics.json (accuracy, error, macro scores, the full report),
classification_report.txt, confusion_matrix.png, misclassified.png and, when a
training log exists, accuracy.png and loss.png.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hdsr_tf.evaluation import plots
from hdsr_tf.evaluation.classification import classification_summary, predict_labels
from hdsr_tf.io import write_json


def write_classifier_report(model, images: np.ndarray, labels: np.ndarray, out_dir: str | Path,
                            history_csv: str | Path | None = None, name: str = "test",
                            extra: dict | None = None) -> dict:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pred, probs = predict_labels(model, images)
    summary = classification_summary(labels, pred)
    metrics = {k: v for k, v in summary.items() if k != "report_text"}
    metrics["split"] = name
    metrics.update(extra or {})
    write_json(out / "metrics.json", metrics)
    (out / "classification_report.txt").write_text(
        f"accuracy {summary['accuracy']:.4%}  error {summary['error']:.4%}  ({name}, n={len(labels)})\n\n"
        + summary["report_text"])
    plots.plot_confusion(summary["confusion_matrix"], out / "confusion_matrix.png",
                         f"Confusion matrix ({name}, accuracy {summary['accuracy']:.2%})")
    wrong = np.flatnonzero(pred != labels)[:50]
    plots.plot_digit_grid(images[wrong], [f"true {labels[i]} / pred {pred[i]}" for i in wrong],
                          out / "misclassified.png", suptitle=f"{len(np.flatnonzero(pred != labels))} "
                          f"misclassified {name} digits (first {len(wrong)})")
    if history_csv and Path(history_csv).exists():
        history = plots.read_history(history_csv)
        if history:
            plots.plot_curves(history, out / "accuracy.png", "accuracy", "Accuracy per epoch")
            plots.plot_curves(history, out / "loss.png", "loss", "Loss per epoch")
    print(f"{name} accuracy {summary['accuracy']:.4%}  error {summary['error']:.4%}")
    print(summary["report_text"])
    return metrics
