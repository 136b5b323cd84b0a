import math

import numpy as np
import pytest
import tensorflow as tf

from hdsr_tf.models.cnn import build_recognizer
from hdsr_tf.training.losses import (
    PerceptualLoss,
    build_perceptual_loss,
    l1_per_example,
    psnr_loss_per_example,
    ragan_d_loss,
    ragan_g_loss,
    recognizer_features,
    ssim_loss_per_example,
)


def _bce(label, logit):
    p = 1 / (1 + math.exp(-logit))
    return -(label * math.log(p) + (1 - label) * math.log(1 - p))


def test_ragan_losses_against_hand_computation():
    real = tf.constant([[2.0], [0.0]])
    fake = tf.constant([[-1.0], [1.0]])
    mr, mf = 1.0, 0.0
    d = ragan_d_loss(real, fake).numpy()
    g = ragan_g_loss(real, fake).numpy()
    for i, (r, f) in enumerate(zip([2.0, 0.0], [-1.0, 1.0])):
        assert d[i] == pytest.approx(0.5 * (_bce(1, r - mf) + _bce(0, f - mr)), rel=1e-5)
        assert g[i] == pytest.approx(0.5 * (_bce(0, r - mf) + _bce(1, f - mr)), rel=1e-5)
    # explicit (global) means override the batch's
    d2 = ragan_d_loss(real, fake, tf.constant(0.0), tf.constant(0.0)).numpy()
    assert d2[0] == pytest.approx(0.5 * (_bce(1, 2.0) + _bce(0, -1.0)), rel=1e-5)


def test_l1_per_example():
    a = tf.zeros([2, 4, 4, 1])
    b = tf.concat([tf.zeros([1, 4, 4, 1]), tf.fill([1, 4, 4, 1], 0.5)], 0)
    np.testing.assert_allclose(l1_per_example(a, b).numpy(), [0.0, 0.5])


def test_perceptual_zero_for_identical_positive_otherwise():
    loss = PerceptualLoss(recognizer_features(build_recognizer()))
    x = tf.random.stateless_uniform([3, 28, 28, 1], [0, 1])
    y = tf.random.stateless_uniform([3, 28, 28, 1], [0, 2])
    np.testing.assert_allclose(loss(x, x).numpy(), 0.0, atol=1e-7)
    assert np.all(loss(x, y).numpy() > 0)


def test_perceptual_features_are_frozen():
    features = recognizer_features(build_recognizer())
    assert features.trainable is False and not features.trainable_weights


def test_missing_feature_network_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="trained recognizer"):
        build_perceptual_loss("recognizer", str(tmp_path / "none.keras"))
    with pytest.raises(FileNotFoundError, match="--vgg-weights"):
        build_perceptual_loss("vgg19", vgg_weights="")


@pytest.mark.slow
def test_vgg19_with_user_supplied_weights(tmp_path):
    import keras

    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(64, 64, 3))
    path = tmp_path / "vgg19.weights.h5"
    vgg.save_weights(path)
    loss = build_perceptual_loss("vgg19", vgg_weights=str(path))
    x = tf.random.stateless_uniform([2, 28, 28, 1], [0, 1])
    y = tf.random.stateless_uniform([2, 28, 28, 1], [0, 2])
    np.testing.assert_allclose(loss(x, x).numpy(), 0.0, atol=1e-6)
    assert np.all(loss(x, y).numpy() > 0)
    linear = loss.features.get_layer("block5_conv4_linear")
    np.testing.assert_array_equal(linear.get_weights()[0], vgg.get_layer("block5_conv4").get_weights()[0])


def test_ssim_loss_zero_for_identical_and_grows_with_damage():
    hr = tf.constant(np.random.default_rng(3).random((2, 28, 28, 1)), tf.float32)
    same = ssim_loss_per_example(hr, hr).numpy()
    np.testing.assert_allclose(same, 0.0, atol=1e-5)
    slight = ssim_loss_per_example(hr + 0.05, hr).numpy()
    heavy = ssim_loss_per_example(tf.zeros_like(hr), hr).numpy()
    assert np.all(slight > 0) and np.all(heavy > slight)


def test_psnr_loss_is_minus_a_tenth_of_tf_image_psnr():
    rng = np.random.default_rng(4)
    hr = tf.constant(rng.random((3, 28, 28, 1)), tf.float32)
    sr = tf.clip_by_value(hr + tf.constant(rng.normal(0, [[[[0.01]]], [[[0.05]]], [[[0.2]]]], (3, 28, 28, 1)),
                                           tf.float32), 0.0, 1.0)
    np.testing.assert_allclose(psnr_loss_per_example(sr, hr).numpy(),
                               -tf.image.psnr(sr, hr, max_val=1.0).numpy() / 10, rtol=1e-4)
