"""ESRGAN's losses: relativistic average GAN, L1 pixel, and perceptual.

All return one value per example, so the training step can scale by the
*global* batch size and stay correct under tf.distribute.

The perceptual loss compares feature maps of a frozen network, taken before
activation (ESRGAN's choice: pre-activation features keep more information).
ImageNet VGG19 weights cannot be downloaded here, so the default network is our
own digit recognizer, tapped at its conv layers (``FEATURE_LAYERS``); a user
who has VGG19 weights can pass them instead.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from hdsr_tf.image_metrics import psnr_ssim
from hdsr_tf.models.cnn import FEATURE_LAYERS
from hdsr_tf.models.layers import GrayToVGGInput


# ------------------------------------------------------------------ RaGAN
def _bce_logits(label: float, logits: tf.Tensor) -> tf.Tensor:
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), label), logits=logits)


def ragan_d_loss(real: tf.Tensor, fake: tf.Tensor, real_mean=None, fake_mean=None) -> tf.Tensor:
    """Per-example D loss: real should beat the average fake, fake lose to the average real.

    0.5 * [BCE(1, D(x_r) - E[D(x_f)]) + BCE(0, D(x_f) - E[D(x_r)])]. The means
    default to this batch's; a distributed step passes the global ones.
    """
    real_mean = tf.reduce_mean(real) if real_mean is None else real_mean
    fake_mean = tf.reduce_mean(fake) if fake_mean is None else fake_mean
    loss = 0.5 * (_bce_logits(1.0, real - fake_mean) + _bce_logits(0.0, fake - real_mean))
    return tf.reshape(loss, [-1])


def ragan_g_loss(real: tf.Tensor, fake: tf.Tensor, real_mean=None, fake_mean=None) -> tf.Tensor:
    """Per-example G loss: the reverse of :func:`ragan_d_loss` (both terms carry gradient to G)."""
    real_mean = tf.reduce_mean(real) if real_mean is None else real_mean
    fake_mean = tf.reduce_mean(fake) if fake_mean is None else fake_mean
    loss = 0.5 * (_bce_logits(0.0, real - fake_mean) + _bce_logits(1.0, fake - real_mean))
    return tf.reshape(loss, [-1])


# ------------------------------------------------------------------ pixel
def l1_per_example(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.abs(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)), axis=[1, 2, 3])


def psnr_loss_per_example(sr: tf.Tensor, hr: tf.Tensor) -> tf.Tensor:
    """-PSNR / 10 dB = log10(MSE): the per-image PSNR that evaluation averages, as a loss.

    Its gradient weighs each image by 1 / MSE, so already-good digits are not
    neglected the way a plain mean-squared error neglects them (HINet trains on this loss).
    """
    mse = tf.reduce_mean(tf.square(tf.cast(sr, tf.float32) - tf.cast(hr, tf.float32)), axis=[1, 2, 3])
    return tf.math.log(mse + 1e-10) / tf.math.log(10.0)


PIXEL_LOSSES = {"l1": l1_per_example, "psnr": psnr_loss_per_example}


def ssim_loss_per_example(sr: tf.Tensor, hr: tf.Tensor) -> tf.Tensor:
    """1 - SSIM with a 7x7 window (the reports use 11x11; the shipped generators were trained on 7x7).

    L1 alone weighs every pixel alike; on digits most pixels are empty background,
    so stroke structure (what SSIM measures) gets little of the gradient.
    """
    return 1.0 - psnr_ssim(sr, hr, window=7)[1]


# ------------------------------------------------------------------ distillation
def distillation_per_example(teacher_probs: tf.Tensor, student_probs: tf.Tensor, temperature: float) -> tf.Tensor:
    """T^2 * KL(teacher || student) between probabilities softened by temperature T.

    The recognizer outputs probabilities, not logits; log-probabilities differ
    from the logits by a per-example constant, which softmax ignores.
    """
    eps = keras.backend.epsilon()
    log_t = tf.nn.log_softmax(tf.math.log(teacher_probs + eps) / temperature)
    log_s = tf.nn.log_softmax(tf.math.log(student_probs + eps) / temperature)
    return temperature ** 2 * tf.reduce_sum(tf.exp(log_t) * (log_t - log_s), axis=-1)


# ------------------------------------------------------------------ perceptual
def recognizer_features(recognizer: keras.Model, names=FEATURE_LAYERS) -> keras.Model:
    """The recognizer's pre-activation conv outputs as a frozen multi-output model."""
    outputs = [recognizer.get_layer(n).output for n in names]
    model = keras.Model(recognizer.inputs, outputs, name="recognizer_features")
    model.trainable = False
    return model


def vgg19_features(weights_path: str, size: int = 28, layer: str = "block5_conv4",
                   vgg_size: int = 64) -> keras.Model:
    """VGG19 up to ``layer``, that layer taken before its ReLU, with user-supplied weights.

    Digits are enlarged to ``vgg_size`` first: VGG pools four times before
    block5, which would leave a 28x28 digit a single pixel.
    """
    inputs = keras.Input((size, size, 1), name="image")
    x = layers.Resizing(vgg_size, vgg_size, interpolation="bilinear", name="to_vgg_size")(inputs)
    x = GrayToVGGInput(name="to_vgg")(x)
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(vgg_size, vgg_size, 3))
    vgg.load_weights(weights_path)
    for lay in vgg.layers[1:]:
        if lay.name == layer:
            linear = layers.Conv2D(lay.filters, lay.kernel_size, padding=lay.padding, name=f"{layer}_linear")
            x = linear(x)
            linear.set_weights(lay.get_weights())
            break
        x = lay(x)
    else:
        raise ValueError(f"VGG19 has no layer {layer!r}")
    model = keras.Model(inputs, [x], name="vgg19_features")
    model.trainable = False
    return model


class PerceptualLoss:
    """Per-example L1 between feature maps of SR and HR, averaged over the tapped layers."""

    def __init__(self, feature_model: keras.Model):
        self.features = feature_model

    def __call__(self, sr: tf.Tensor, hr: tf.Tensor) -> tf.Tensor:
        f_sr = self.features(sr, training=False)
        f_hr = self.features(hr, training=False)
        if not isinstance(f_sr, (list, tuple)):
            f_sr, f_hr = [f_sr], [f_hr]
        terms = [tf.reduce_mean(tf.abs(a - tf.stop_gradient(b)), axis=[1, 2, 3]) for a, b in zip(f_sr, f_hr)]
        return tf.add_n(terms) / len(terms)


def build_perceptual_loss(kind: str = "recognizer", recognizer_path: str = "", vgg_weights: str = "",
                          hr_size: int = 28) -> PerceptualLoss:
    from pathlib import Path

    if kind == "recognizer":
        if not Path(recognizer_path).is_file():
            raise FileNotFoundError(f"perceptual loss needs a trained recognizer: {recognizer_path} not found "
                                    "(train one with scripts/train_cnn.py, or pass --recognizer)")
        from hdsr_tf.models import load_model

        recognizer = load_model(recognizer_path)
        return PerceptualLoss(recognizer_features(recognizer))
    if kind == "vgg19":
        if not vgg_weights or not Path(vgg_weights).is_file():
            raise FileNotFoundError("--perceptual vgg19 needs --vgg-weights PATH to a VGG19 weights file "
                                    "(ImageNet weights cannot be downloaded here)")
        return PerceptualLoss(vgg19_features(vgg_weights, hr_size))
    raise ValueError(f"--perceptual must be recognizer or vgg19, not {kind!r}")
