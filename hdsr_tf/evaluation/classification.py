"""Classification reports, and predictions over whole arrays.

The classification report is scikit-learn's, so our numbers mean exactly what
the field means by them. Image-quality metrics (PSNR/SSIM) are in
:mod:`hdsr_tf.image_metrics`, which training uses too.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from sklearn.metrics import classification_report, confusion_matrix

CLASS_NAMES = [str(d) for d in range(10)]


def classification_summary(y_true, y_pred) -> dict:
    """Accuracy, error, the per-class report (as dict and text) and the confusion matrix."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = list(range(10))
    report = classification_report(y_true, y_pred, labels=labels, target_names=CLASS_NAMES,
                                   output_dict=True, zero_division=0, digits=4)
    text = classification_report(y_true, y_pred, labels=labels, target_names=CLASS_NAMES,
                                 zero_division=0, digits=4)
    accuracy = float(np.mean(y_true == y_pred))
    return {
        "accuracy": accuracy,
        "error": 1.0 - accuracy,
        "num_examples": int(len(y_true)),
        "macro_precision": report["macro avg"]["precision"],
        "macro_recall": report["macro avg"]["recall"],
        "macro_f1": report["macro avg"]["f1-score"],
        "report": report,
        "report_text": text,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def model_outputs(model, x: np.ndarray, batch_size: int = 250):
    """A Keras model's outputs for float images, as numpy (a dict for a dict-output model), in batches.

    Calls the model directly rather than ``predict``: under a multi-worker strategy ``predict`` would
    shard the test set across workers, and one ``tf.function`` over batches of 250 is faster (the 2x
    hybrid on the test set: 11 s against 15 s eagerly at batch 1024; the jointly fine-tuned 4x hybrid:
    see benchmarks/NOTES.md, session 16). Same outputs to 1e-6.
    """
    @tf.function(reduce_retracing=True)
    def run(batch):
        return model(batch, training=False)

    parts = [run(tf.constant(x[i:i + batch_size], tf.float32)) for i in range(0, len(x), batch_size)]
    if parts and isinstance(parts[0], dict):
        return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}
    return np.concatenate([np.asarray(p) for p in parts]) if parts else np.zeros((0,), np.float32)


def predict_labels(model, images: np.ndarray, batch_size: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """(predicted labels, probabilities) for uint8 or float images (a hybrid's ``probabilities`` output)."""
    x = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    out = model_outputs(model, x, batch_size) if len(x) else np.zeros((0, 10), np.float32)
    probs = out["probabilities"] if isinstance(out, dict) else out
    return np.argmax(probs, axis=1), probs
