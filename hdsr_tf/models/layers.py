"""Small custom layers of the hybrid, registered so saved models load with safe_mode on.

Each does one graph-level job a built-in layer cannot: sanitize pixels, resize
to a size that depends on the input, turn probabilities into the digit and
its confidence, and turn a gray digit into VGG's input format.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="hdsr_tf")
class SanitizeImage(keras.layers.Layer):
    """NaN pixels become 0 (background), +-inf and everything else is clipped to [0, 1].

    A serving endpoint must answer for any float it is sent; this is the
    documented answer for values outside an image's range.
    """

    def call(self, x):
        x = tf.cast(x, tf.float32)
        x = tf.where(tf.math.is_nan(x), tf.zeros_like(x), x)
        return tf.clip_by_value(x, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="hdsr_tf")
class ResizeTo(keras.layers.Layer):
    """Resizes [B,H,W,C] of any H, W to [B,size,size,C]: area when shrinking, bicubic when enlarging.

    Area averaging is how the LR digits were made (and does not alias);
    bicubic is the usual choice for enlarging.
    """

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, x):
        target = [self.size, self.size]
        hw = tf.shape(x)[1:3]
        same = tf.reduce_all(tf.equal(hw, self.size))
        shrink = tf.reduce_prod(hw) >= self.size * self.size
        out = tf.case([(same, lambda: tf.identity(x)),
                       (shrink, lambda: tf.image.resize(x, target, method="area", antialias=True))],
                      default=lambda: tf.clip_by_value(tf.image.resize(x, target, method="bicubic"), 0.0, 1.0))
        return tf.ensure_shape(out, [None, self.size, self.size, x.shape[-1]])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="hdsr_tf")
class PixelUnshuffle(keras.layers.Layer):
    """[B,H,W,C] -> [B,H/f,W/f,C*f*f]: every pixel kept, moved into channels (space-to-depth).

    Lets a generator that works on an image already enlarged to its target size run its
    trunk at a quarter of the side (Real-ESRGAN's trick for its x1 and x2 models).
    """

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return tf.nn.space_to_depth(x, self.factor)

    def compute_output_shape(self, input_shape):
        f = self.factor
        side = [None if d is None else d // f for d in input_shape[1:3]]
        return (input_shape[0], *side, input_shape[-1] * f * f)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="hdsr_tf")
class ArgMaxDigit(keras.layers.Layer):
    """Probabilities [B,10] -> the predicted digit, int64 [B]."""

    def call(self, probs):
        return tf.argmax(probs, axis=-1, output_type=tf.int64)

    def compute_output_spec(self, probs):
        return keras.KerasTensor(probs.shape[:-1], dtype="int64")


@keras.saving.register_keras_serializable(package="hdsr_tf")
class MaxConfidence(keras.layers.Layer):
    """Probabilities [B,10] -> the top probability, float32 [B]."""

    def call(self, probs):
        return tf.reduce_max(probs, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]


@keras.saving.register_keras_serializable(package="hdsr_tf")
class GrayToVGGInput(keras.layers.Layer):
    """[B,H,W,1] in [0,1] -> [B,H,W,3] as VGG's 'caffe' preprocessing wants (BGR, 0-255, mean removed)."""

    MEAN_BGR = (103.939, 116.779, 123.68)

    def call(self, x):
        rgb = tf.repeat(x * 255.0, 3, axis=-1)
        return rgb - tf.constant(self.MEAN_BGR, dtype=x.dtype)
