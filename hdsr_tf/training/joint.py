"""Joint fine-tuning of the hybrid: the paper's "jointly training and optimizing both components".

The task loss is the recognizer's cross-entropy on the super-resolved digit.
``mode`` says who learns from it:

- ``generator``: G learns to draw digits the (frozen) recognizer reads, with
  L1 keeping it faithful to the HR digit. The recognizer is untouched, so its
  full-resolution accuracy cannot drop.
- ``recognizer``: G is frozen; the recognizer trains on a mix of HR digits and
  SR digits, so it learns the SR artefacts without forgetting clean digits.
- ``both``: both at once.

With a ``teacher`` (a frozen copy of the recognizer, reading the HR digit) and
``distill_weight`` > 0, the SR prediction also learns the teacher's softened
probabilities (Hinton et al.'s knowledge distillation): the teacher says which
wrong digits a blurry 7x7 input resembles, which hard labels cannot.

Losses are per example over the global batch, as in :mod:`hdsr_tf.training.esrgan`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from hdsr_tf.image_metrics import psnr_ssim
from hdsr_tf.training.distribute import global_batch
from hdsr_tf.training.losses import distillation_per_example, l1_per_example

MODES = ("generator", "recognizer", "both")


class JointTrainer(keras.Model):
    def __init__(self, generator: keras.Model, recognizer: keras.Model, mode: str = "generator",
                 teacher: keras.Model | None = None, **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.generator = generator
        self.recognizer = recognizer
        self.mode = mode
        self.train_g = mode in ("generator", "both")  # G learns
        self.train_r = mode in ("recognizer", "both")  # the recognizer learns
        self.teacher = teacher
        if teacher is not None:
            teacher.trainable = False
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("loss", "l1", "task", "psnr")}
        self.sr_accuracy = keras.metrics.SparseCategoricalAccuracy(name="sr_accuracy")
        self.hr_accuracy = keras.metrics.SparseCategoricalAccuracy(name="hr_accuracy")
        self.built = True

    def compile(self, optimizer, task_weight: float = 1.0, l1_weight: float = 1.0, hr_weight: float = 1.0,
                distill_weight: float = 0.0, temperature: float = 4.0, **kw):
        super().compile(optimizer=optimizer, **kw)
        self.task_weight, self.l1_weight, self.hr_weight = task_weight, l1_weight, hr_weight
        if distill_weight and self.teacher is None:
            raise ValueError("distill_weight > 0 needs a teacher")
        self.distill_weight, self.temperature = distill_weight, temperature

    @property
    def metrics(self):
        return [*self.trackers.values(), self.sr_accuracy, self.hr_accuracy]

    def call(self, lr, training=False):
        return self.recognizer(tf.clip_by_value(self.generator(lr, training=training), 0.0, 1.0), training=training)

    @property
    def trainable_weights(self):
        """What the optimizer updates, which depends on ``mode``: the one definition of it."""
        return ((self.generator.trainable_variables if self.train_g else [])
                + (self.recognizer.trainable_variables if self.train_r else []))

    def build_optimizers(self):
        self.optimizer.build(self.trainable_weights)

    def train_step(self, data):
        (lr, hr), y = data
        n = global_batch(y)
        train_g, train_r = self.train_g, self.train_r
        variables = self.trainable_weights
        with tf.GradientTape() as tape:
            sr = self.generator(lr, training=train_g)
            sr_clip = tf.clip_by_value(sr, 0.0, 1.0)
            if not train_g:
                sr_clip = tf.stop_gradient(sr_clip)
            probs_sr = self.recognizer(sr_clip, training=train_r)
            task = keras.losses.sparse_categorical_crossentropy(y, probs_sr)
            l1 = l1_per_example(sr, hr)
            per_example = self.task_weight * task + (self.l1_weight * l1 if train_g else 0.0)
            if self.distill_weight:
                per_example += self.distill_weight * distillation_per_example(
                    self.teacher(hr, training=False), probs_sr, self.temperature)
            if train_r:
                probs_hr = self.recognizer(hr, training=True)
                per_example += self.hr_weight * keras.losses.sparse_categorical_crossentropy(y, probs_hr)
                self.hr_accuracy.update_state(y, probs_hr)
            loss = tf.reduce_sum(per_example) / n
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        for name, value in (("loss", per_example), ("l1", l1), ("task", task)):
            self.trackers[name].update_state(value)
        self.trackers["psnr"].update_state(psnr_ssim(sr, hr)[0])
        self.sr_accuracy.update_state(y, probs_sr)
        return {m.name: m.result() for m in self.metrics if m.name != "hr_accuracy" or train_r}

    def test_step(self, data):
        (lr, hr), y = data
        sr = self.generator(lr, training=False)
        probs = self.recognizer(tf.clip_by_value(sr, 0.0, 1.0), training=False)
        self.sr_accuracy.update_state(y, probs)
        self.hr_accuracy.update_state(y, self.recognizer(hr, training=False))
        self.trackers["psnr"].update_state(psnr_ssim(sr, hr)[0])
        return {"sr_accuracy": self.sr_accuracy.result(), "hr_accuracy": self.hr_accuracy.result(),
                "psnr": self.trackers["psnr"].result()}
