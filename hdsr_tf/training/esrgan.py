"""ESRGAN as a keras.Model: G and D, two optimizers, a custom train_step, fit().

One class serves both stages. With ``adversarial=False`` (the PSNR stage) only
G trains, on its pixel loss. With ``adversarial=True`` each step runs G once:
G's loss (perceptual + RaGAN + L1) reads D on that SR batch, and D's RaGAN loss
reads the same batch through ``stop_gradient``, as BasicSR detaches it; both
networks are then updated, each from its own GradientTape.

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

from hdsr_tf.image_metrics import psnr_ssim
from hdsr_tf.training.distribute import global_batch, global_mean
from hdsr_tf.training.losses import (
    PIXEL_LOSSES,
    PerceptualLoss,
    l1_per_example,
    ragan_d_loss,
    ragan_g_loss,
    ssim_loss_per_example,
)


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
                pixel_loss: str = "l1", ssim_weight: float = 0.0, **kwargs):
        """PSNR stage loss: ``pixel_loss`` (ESRGAN: l1; or psnr) + ``ssim_weight * (1 - SSIM)``.

        GAN stage loss: ESRGAN's perceptual + GAN + L1.
        """
        super().compile(**kwargs)
        if self.adversarial and (d_optimizer is None or perceptual_loss is None):
            raise ValueError("the GAN stage needs d_optimizer and perceptual_loss")
        if pixel_loss not in PIXEL_LOSSES:
            raise ValueError(f"pixel_loss must be one of {sorted(PIXEL_LOSSES)}, not {pixel_loss!r}")
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.perceptual_loss, self.perceptual_weight = perceptual_loss, perceptual_weight
        self.gan_weight, self.l1_weight = gan_weight, l1_weight
        self.pixel_loss, self.ssim_weight = PIXEL_LOSSES[pixel_loss], ssim_weight

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
    def _g_terms(self, sr, hr, n):
        """(per-example G loss, its named terms) for an SR batch."""
        l1 = l1_per_example(sr, hr)
        terms = {"l1": l1}
        if not self.adversarial:
            total = l1 if self.pixel_loss is l1_per_example else self.pixel_loss(sr, hr)
            if self.ssim_weight:
                total += self.ssim_weight * ssim_loss_per_example(sr, hr)
            return total, terms
        real = self.discriminator(hr, training=False)
        fake = self.discriminator(sr, training=False)
        terms["perceptual"] = self.perceptual_loss(sr, hr)
        terms["gan"] = ragan_g_loss(real, fake, global_mean(real, n), global_mean(fake, n))
        total = (self.perceptual_weight * terms["perceptual"] + self.gan_weight * terms["gan"]
                 + self.l1_weight * l1)
        return total, terms

    def gradients(self, lr, hr) -> dict:
        """One step's losses and gradients, from a single generator forward pass.

        Keys: ``sr``, ``g_loss`` (per example), ``terms``, ``g_grads``; in the GAN
        stage also ``d_loss`` (per example), ``d_real``, ``d_fake`` and ``d_grads``.
        """
        n = global_batch(hr)
        with tf.GradientTape() as tape:
            sr = self.generator(lr, training=True)
            total, terms = self._g_terms(sr, hr, n)
            loss = tf.reduce_sum(total) / n
        out = {"sr": sr, "g_loss": total, "terms": terms,
               "g_grads": tape.gradient(loss, self.generator.trainable_variables)}
        if self.adversarial:
            fake_input = tf.stop_gradient(sr)
            with tf.GradientTape() as tape:
                real = self.discriminator(hr, training=True)
                fake = self.discriminator(fake_input, training=True)
                per_example = ragan_d_loss(real, fake, global_mean(real, n), global_mean(fake, n))
                loss = tf.reduce_sum(per_example) / n
            out.update(d_loss=per_example, d_real=real, d_fake=fake,
                       d_grads=tape.gradient(loss, self.discriminator.trainable_variables))
        return out

    # ------------------------------------------------------------ steps
    def train_step(self, data):
        lr, hr = data
        step = self.gradients(lr, hr)
        self.g_optimizer.apply_gradients(zip(step["g_grads"], self.generator.trainable_variables))
        if self.adversarial:
            self.d_optimizer.apply_gradients(zip(step["d_grads"], self.discriminator.trainable_variables))
            self.trackers["d_loss"].update_state(step["d_loss"])
            self.trackers["d_real"].update_state(tf.reshape(step["d_real"], [-1]))
            self.trackers["d_fake"].update_state(tf.reshape(step["d_fake"], [-1]))
        self.trackers["g_loss"].update_state(step["g_loss"])
        for name, value in step["terms"].items():
            self.trackers[name].update_state(value)
        self._track_quality(step["sr"], hr)
        return {name: t.result() for name, t in self.trackers.items()}

    def _track_quality(self, sr, hr):
        psnr, ssim = psnr_ssim(sr, hr)
        self.trackers["psnr"].update_state(psnr)
        self.trackers["ssim"].update_state(ssim)

    def test_step(self, data):
        lr, hr = data
        sr = self.generator(lr, training=False)
        self._track_quality(sr, hr)
        self.trackers["l1"].update_state(l1_per_example(sr, hr))
        return {n: self.trackers[n].result() for n in ("psnr", "ssim", "l1")}
