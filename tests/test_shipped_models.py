"""The committed models must still score what their metrics files say, on the real test set."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from hdsr_tf.data import mnist
from hdsr_tf.evaluation.metrics import predict_labels

SHIPPED = Path(__file__).resolve().parents[1] / "saved_models"


def test_shipped_recognizer_matches_its_metrics(mnist_ready):
    metrics = json.loads((SHIPPED / "cnn" / "metrics.json").read_text())
    model = keras.saving.load_model(SHIPPED / "cnn" / "recognizer.keras", safe_mode=True)
    x, y = mnist.load_arrays("test")
    pred, _ = predict_labels(model, x)
    accuracy = float(np.mean(pred == y))
    assert accuracy == pytest.approx(metrics["accuracy"], abs=0.0005)  # +-0.05 points
    assert accuracy >= 0.995
    assert metrics["num_examples"] == 10000
