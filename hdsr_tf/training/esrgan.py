"""ESRGAN as a keras.Model: G and D, two optimizers, a custom train_step, fit().

One class serves both stages. With ``adversarial=False`` (the PSNR stage) only
G trains, on L1. With ``adversarial=True`` each step first updates D on the
RaGAN loss, then G on perceptual + GAN + L1, each with its own GradientTape.

Distribution: every loss is computed per example and divided by the *global*
batch size, so summing gradients over replicas (what Keras' optimizers do
under tf.distribute) gives the gradient of the global mean. RaGAN's batch means
E[D(x_r)] and E[D(x_f)] are all-reduced across replicas, and D's batch norm is
synchronized, so two replicas on a global batch compute the same gradients as
one replica on it (tests/test_training_esrgan.py checks that).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from hdsr_tf.evaluation.metrics import psnr_ssim
from hdsr_tf.training.losses import (
    PIXEL_LOSSES,
    PerceptualLoss,
    RecognitionLoss,
    l1_per_example,
    ragan_d_loss,
    ragan_g_loss,
    ssim_loss_per_example,
)


def _replica_context():
    return tf.distribute.get_replica_context()


def global_batch(local: tf.Tensor) -> tf.Tensor:
    """Sum of the local batch sizes over replicas (handles a short last batch)."""
    n = tf.cast(tf.shape(local)[0], tf.float32)
    ctx = _replica_context()
    return ctx.all_reduce("sum", n) if ctx is not None and ctx.num_replicas_in_sync > 1 else n


def _global_mean(x: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
    total = tf.reduce_sum(x)
    ctx = _replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        total = ctx.all_reduce("sum", total)
    return total / n


class ESRGAN(keras.Model):
    def __init__(self, generator: keras.Model, discriminator: keras.Model | None = None,
                 adversarial: bool = True, **kwargs):
        super().__init__(**kwargs)
        if adversarial and discriminator is None:
            raise ValueError("the GAN stage needs a discriminator")
        self.generator = generator
        self.discriminator = discriminator
        self.adversarial = adversarial
        names = ["g_loss", "l1", "psnr", "ssim"]
        if adversarial:
            names += ["d_loss", "perceptual", "gan", "d_real", "d_fake"]
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.built = True  # G and D are built functional models; nothing is created lazily

    def compile(self, g_optimizer, d_optimizer=None, perceptual_loss: PerceptualLoss | None = None,
                perceptual_weight: float = 1.0, gan_weight: float = 5e-3, l1_weight: float = 1e-2,
                pixel_loss: str = "l1", ssim_weight: float = 0.0,
                recognition_loss: RecognitionLoss | None = None, recognition_weight: float = 0.0, **kwargs):
        """PSNR stage loss: ``pixel_loss`` (ESRGAN: l1; or psnr) + ``ssim_weight * (1 - SSIM)``.

        GAN stage loss: ESRGAN's perceptual + GAN + L1, plus ``recognition_weight``
        times ``recognition_loss`` when one is given (an addition of ours).
        """
        super().compile(**kwargs)
        if self.adversarial and (d_optimizer is None or perceptual_loss is None):
            raise ValueError("the GAN stage needs d_optimizer and perceptual_loss")
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.perceptual_loss = perceptual_loss
        self.perceptual_weight = perceptual_weight
        self.gan_weight = gan_weight
        self.l1_weight = l1_weight
        if pixel_loss not in PIXEL_LOSSES:
            raise ValueError(f"pixel_loss must be one of {sorted(PIXEL_LOSSES)}, not {pixel_loss!r}")
        self.pixel_loss = PIXEL_LOSSES[pixel_loss]
        self.ssim_weight = ssim_weight
        if recognition_weight and (recognition_loss is None or not self.adversarial):
            raise ValueError("recognition_weight > 0 needs a recognition_loss and the GAN stage")
        self.recognition_loss = recognition_loss if recognition_weight else None
        self.recognition_weight = recognition_weight
        if self.recognition_loss is not None:
            self.trackers["recognition"] = keras.metrics.Mean(name="recognition")

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, lr, training=False):
        return self.generator(lr, training=training)

    def build_optimizers(self):
        """Creates optimizer slots so a checkpoint can be loaded before the first step."""
        self.g_optimizer.build(self.generator.trainable_variables)
        if self.adversarial:
            self.d_optimizer.build(self.discriminator.trainable_variables)

    # ------------------------------------------------------------ gradients
    def d_gradients(self, lr, hr):
        """(per-example loss, real logits, fake logits, gradients) of one D step."""
        sr = self.generator(lr, training=False)
        n = global_batch(hr)
        with tf.GradientTape() as tape:
            real = self.discriminator(hr, training=True)
            fake = self.discriminator(sr, training=True)
            per_example = ragan_d_loss(real, fake, _global_mean(real, n), _global_mean(fake, n))
            loss = tf.reduce_sum(per_example) / n
        grads = tape.gradient(loss, self.discriminator.trainable_variables)
        return per_example, real, fake, grads

    def g_gradients(self, lr, hr):
        """(per-example total, per-example terms, SR batch, gradients) of one G step."""
        n = global_batch(hr)
        with tf.GradientTape() as tape:
            sr = self.generator(lr, training=True)
            l1 = l1_per_example(sr, hr)
            terms = {"l1": l1}
            if self.adversarial:
                real = self.discriminator(hr, training=False)
                fake = self.discriminator(sr, training=False)
                terms["perceptual"] = self.perceptual_loss(sr, hr)
                terms["gan"] = ragan_g_loss(real, fake, _global_mean(real, n), _global_mean(fake, n))
                total = (self.perceptual_weight * terms["perceptual"] + self.gan_weight * terms["gan"]
                         + self.l1_weight * l1)
                if self.recognition_loss is not None:
                    terms["recognition"] = self.recognition_loss(sr, hr)
                    total += self.recognition_weight * terms["recognition"]
            else:
                total = l1 if self.pixel_loss is l1_per_example else self.pixel_loss(sr, hr)
                if self.ssim_weight:
                    total += self.ssim_weight * ssim_loss_per_example(sr, hr)
            loss = tf.reduce_sum(total) / n
        grads = tape.gradient(loss, self.generator.trainable_variables)
        return total, terms, sr, grads

    # ------------------------------------------------------------ steps
    def train_step(self, data):
        lr, hr = data
        if self.adversarial:
            d_per_example, real, fake, d_grads = self.d_gradients(lr, hr)
            self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_variables))
            self.trackers["d_loss"].update_state(d_per_example)
            self.trackers["d_real"].update_state(tf.reshape(real, [-1]))
            self.trackers["d_fake"].update_state(tf.reshape(fake, [-1]))
        total, terms, sr, g_grads = self.g_gradients(lr, hr)
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))
        self.trackers["g_loss"].update_state(total)
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        psnr, ssim = psnr_ssim(sr, hr)
        self.trackers["psnr"].update_state(psnr)
        self.trackers["ssim"].update_state(ssim)
        return {name: t.result() for name, t in self.trackers.items()}

    def test_step(self, data):
        lr, hr = data
        sr = self.generator(lr, training=False)
        psnr, ssim = psnr_ssim(sr, hr)
        self.trackers["psnr"].update_state(psnr)
        self.trackers["ssim"].update_state(ssim)
        self.trackers["l1"].update_state(l1_per_example(sr, hr))
        return {n: self.trackers[n].result() for n in ("psnr", "ssim", "l1")}
