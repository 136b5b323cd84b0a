"""Image-quality metrics on [B,H,W,1] images in [0,1]: PSNR and SSIM, as TensorFlow ops.

A leaf module (TensorFlow only, no scikit-learn), so training steps, evaluation
and benchmarks all measure with the same code. SSIM uses Wang et al.'s 11x11
Gaussian window (sigma 1.5), the SR literature's and ``tf.image.ssim``'s
default; the 7x7 figure earlier reports used is available, labelled, beside it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

SSIM_WINDOW = 11


def psnr_ssim(sr: tf.Tensor, hr: tf.Tensor, window: int = SSIM_WINDOW) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-image PSNR (dB) and SSIM; ``sr`` is clipped to [0, 1] first, as a viewer would show it."""
    sr = tf.clip_by_value(tf.cast(sr, tf.float32), 0.0, 1.0)
    hr = tf.cast(hr, tf.float32)
    return tf.image.psnr(sr, hr, max_val=1.0), tf.image.ssim(sr, hr, max_val=1.0, filter_size=window)


def image_quality(sr: np.ndarray, hr: np.ndarray, chunk: int = 1000) -> dict:
    """Mean per-image PSNR, SSIM (11x11) and SSIM with a 7x7 window over whole arrays."""
    psnr, ssim, ssim7 = [], [], []
    for i in range(0, len(hr), chunk):
        a, b = tf.constant(sr[i:i + chunk]), tf.constant(hr[i:i + chunk])
        p, s = psnr_ssim(a, b)
        psnr.append(p.numpy())
        ssim.append(s.numpy())
        ssim7.append(tf.image.ssim(tf.clip_by_value(a, 0.0, 1.0), b, max_val=1.0, filter_size=7).numpy())
    return {"psnr": float(np.mean(np.concatenate(psnr))), "ssim": float(np.mean(np.concatenate(ssim))),
            "ssim_7x7": float(np.mean(np.concatenate(ssim7)))}


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE (Guo et al. 2017): over ``bins`` equal-width bins of top confidence, the example-weighted
    mean gap between each bin's accuracy and its mean confidence. 0 is perfectly calibrated."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    if len(labels) == 0:
        return 0.0
    confidence, correct = probs.max(axis=1), (probs.argmax(axis=1) == labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            gap += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(gap)
