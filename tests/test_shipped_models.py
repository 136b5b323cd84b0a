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


def test_shipped_lowres_rival_matches_its_metrics(mnist_ready):
    import tensorflow as tf

    from hdsr_tf.data.degrade import downsample

    metrics = json.loads((SHIPPED / "lowres_cnn_x4" / "metrics.json").read_text())
    model = keras.saving.load_model(SHIPPED / "lowres_cnn_x4" / "recognizer.keras", safe_mode=True)
    x, y = mnist.load_arrays("test")
    lr = downsample(tf.constant(x, tf.float32) / 255.0, 4, "area").numpy()
    pred, _ = predict_labels(model, lr)
    assert float(np.mean(pred == y)) == pytest.approx(metrics["accuracy"], abs=0.0005)
