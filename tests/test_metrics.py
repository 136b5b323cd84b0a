import numpy as np
import pytest
import tensorflow as tf

from hdsr_tf.image_metrics import expected_calibration_error, image_quality, psnr_ssim


def test_psnr_ssim_identical_and_known_error():
    hr = tf.random.stateless_uniform([2, 28, 28, 1], [0, 1])
    psnr, ssim = psnr_ssim(hr, hr)
    assert np.all(np.isinf(psnr.numpy()) | (psnr.numpy() > 100)) and np.allclose(ssim.numpy(), 1.0)
    psnr, _ = psnr_ssim(tf.clip_by_value(hr + 0.1, 0, 1), tf.clip_by_value(hr, 0, 0.9))
    np.testing.assert_allclose(psnr.numpy(), 20.0, atol=0.01)  # MSE 0.01 -> 20 dB


def test_ssim_uses_the_standard_11x11_window_and_7x7_differs():
    hr = tf.random.stateless_uniform([3, 28, 28, 1], [0, 2])
    sr = tf.clip_by_value(hr + tf.random.stateless_normal([3, 28, 28, 1], [0, 3], stddev=0.1), 0, 1)
    standard = tf.image.ssim(sr, hr, max_val=1.0)  # filter_size 11, sigma 1.5: Wang et al.
    np.testing.assert_allclose(psnr_ssim(sr, hr)[1].numpy(), standard.numpy(), rtol=1e-6)
    assert not np.allclose(psnr_ssim(sr, hr, window=7)[1].numpy(), standard.numpy(), atol=1e-4)


def test_image_quality_is_the_mean_over_every_image_whatever_the_chunk():
    rng = np.random.default_rng(0)
    hr = rng.random((7, 28, 28, 1)).astype(np.float32)
    sr = np.clip(hr + rng.normal(0, 0.05, hr.shape), 0, 1).astype(np.float32)
    whole, chunked = image_quality(sr, hr, chunk=100), image_quality(sr, hr, chunk=3)
    psnr, ssim = psnr_ssim(sr, hr)
    assert whole["psnr"] == chunked["psnr"] and abs(whole["psnr"] - float(np.mean(psnr))) < 1e-4
    assert abs(whole["ssim"] - float(np.mean(ssim))) < 1e-6 and abs(whole["ssim"] - chunked["ssim"]) < 1e-6


def test_ece_is_the_weighted_gap_between_confidence_and_accuracy():
    labels = np.zeros(10, int)
    right = np.tile([[0.9, 0.1]], (10, 1))
    assert expected_calibration_error(right, labels) == pytest.approx(0.1)  # 90% sure, always right
    mixed = np.array([[0.8, 0.2]] * 8 + [[0.2, 0.8]] * 2)  # always 80% sure, right 8 times in 10: calibrated
    assert expected_calibration_error(mixed, np.zeros(10, int)) == pytest.approx(0.0)
    bold = np.array([[0.95, 0.05]] * 4 + [[0.6, 0.4]] * 6)  # 95% sure and right half the time; 60% sure, always right
    truth = np.array([0, 0, 1, 1] + [0] * 6)
    assert expected_calibration_error(bold, truth) == pytest.approx(0.4 * 0.45 + 0.6 * 0.4)
    calibrated = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(calibrated, np.array([0, 0, 0, 1])) == pytest.approx(0.0)
    assert expected_calibration_error(np.zeros((0, 10)), np.zeros(0, int)) == 0.0
