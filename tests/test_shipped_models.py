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


@pytest.mark.parametrize("folder,scale,name,key", [("esrgan_x4", 4, "generator_psnr.keras", "PSNR model"),
                                                   ("esrgan_x4", 4, "generator_gan.keras", "GAN model"),
                                                   ("esrgan_x4_wide", 4, "generator_psnr.keras", "PSNR model"),
                                                   ("esrgan_x2", 2, "generator_psnr.keras", "PSNR model"),
                                                   ("esrgan_x2_wide", 2, "generator_psnr.keras", "PSNR model")])
def test_shipped_generators_match_their_psnr(mnist_ready, folder, scale, name, key):
    from hdsr_tf.evaluation import sr_report as sr
    from hdsr_tf.models import load_model

    folder = SHIPPED / folder
    if not (folder / name).exists():
        pytest.skip(f"{name} not shipped")
    rows = {r["name"]: r for r in json.loads((folder / "sr_metrics.json").read_text())["mnist"]}
    x, _ = mnist.load_arrays("test")
    lr, hr = sr.lr_test_images(x[:1000], scale)
    psnr, ssim = sr.quality(sr.super_resolve(load_model(folder / name), lr), hr)
    assert psnr == pytest.approx(rows[key]["psnr_first1000"], abs=0.1)
    assert ssim == pytest.approx(rows[key]["ssim_first1000"], abs=0.005)


def test_shipped_hybrid_and_its_savedmodel_match_their_metrics(mnist_ready):
    import tensorflow as tf

    from hdsr_tf.evaluation import sr_report as sr
    from hdsr_tf.export import latest_version
    from hdsr_tf.models import load_model

    folder = SHIPPED / "hybrid_x4"
    if not (folder / "hybrid.keras").exists():
        pytest.skip("hybrid not shipped")
    metrics = json.loads((folder / "metrics.json").read_text())
    x, y = mnist.load_arrays("test")
    lr, _ = sr.lr_test_images(x, 4)
    hybrid = load_model(folder / "hybrid.keras")
    probs = sr.predict_probs(hybrid, lr)
    accuracy = float(np.mean(np.argmax(probs, 1) == y))
    assert accuracy == pytest.approx(metrics["after"]["hybrid_lr_accuracy"], abs=0.0005)
    # Joint fine-tuning may retrain the recognizer inside the hybrid; on full-resolution
    # digits it must stay within 0.1 points of the shipped CNN.
    hr_pred, _ = predict_labels(hybrid.get_layer("recognizer"), x)
    hr_accuracy = float(np.mean(hr_pred == y))
    assert hr_accuracy == pytest.approx(metrics["after"]["recognizer_hr_accuracy"], abs=0.0005)
    cnn = json.loads((SHIPPED / "cnn" / "metrics.json").read_text())["accuracy"]
    assert hr_accuracy >= cnn - 0.001
    fn = tf.saved_model.load(str(latest_version(SHIPPED / "hybrid"))).signatures["serving_default"]
    served = np.concatenate([fn(image=tf.constant(lr[i:i + 1000]))["probabilities"].numpy()
                             for i in range(0, len(lr), 1000)])
    np.testing.assert_array_equal(np.argmax(served, 1), np.argmax(probs, 1))
