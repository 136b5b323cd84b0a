"""Back-projection: make a super-resolved digit agree exactly with the LR digit it came from.

Our LR digits are area-downsampled, so each LR pixel is the mean of an s x s
block of the HR digit. Adding to every block the gap between its LR pixel and
the block mean of the SR output is the orthogonal projection onto the set of
images that downsample to the LR input; the true HR digit lies in that set,
so the projection can only bring the output closer to it (never raises the
MSE). Clipping to [0, 1] is a projection onto another set holding the true
digit, so alternating the two (POCS) keeps that guarantee. This is the idea of
classic iterative back-projection and of Bahat & Michaeli's
consistency-enforcing module, applied after a trained generator.

It assumes area downsampling; for LR images made another way (bicubic, blur,
noise) it enforces the wrong model and should not be used.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="hdsr_tf")
class BackProjection(keras.layers.Layer):
    """[SR [B,sH,sW,1], LR [B,H,W,1]] -> SR whose s x s block means equal LR, clipped to [0, 1]."""

    def __init__(self, scale: int, iterations: int = 3, **kwargs):
        # Always float32, whatever the model's policy: the projection is exact arithmetic on the LR input,
        # and bfloat16 would round that input to 3 significant digits.
        super().__init__(**{**kwargs, "dtype": "float32"})
        self.scale = int(scale)
        self.iterations = int(iterations)

    def call(self, inputs):
        sr, lr = (tf.cast(t, tf.float32) for t in inputs)
        s = self.scale
        for _ in range(self.iterations):
            gap = lr - tf.nn.avg_pool2d(sr, s, s, "VALID")
            sr = tf.clip_by_value(sr + tf.repeat(tf.repeat(gap, s, axis=1), s, axis=2), 0.0, 1.0)
        return sr

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "iterations": self.iterations}
