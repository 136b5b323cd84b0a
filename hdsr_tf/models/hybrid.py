"""The hybrid: any-size image -> LR size -> generator -> clip -> 28x28 -> recognizer.

Outputs ``probabilities`` [B,10], ``digit`` int64 [B], ``confidence`` [B] and
``sr_image`` [B,28,28,1]. The generator and recognizer are nested as they are,
so their weights stay shared with the models they came from (joint
fine-tuning trains them in place).
"""

from __future__ import annotations

import keras
from keras import layers

from hdsr_tf.models.layers import ArgMaxDigit, MaxConfidence, ResizeTo, SanitizeImage
from hdsr_tf.models.rrdb import generator_scale

HR_SIZE = 28


def build_hybrid(generator: keras.Model, recognizer: keras.Model, name: str = "hybrid") -> keras.Model:
    scale = generator_scale(generator)
    inputs = keras.Input((None, None, 1), name="image")
    x = SanitizeImage(name="sanitize")(inputs)
    x = ResizeTo(HR_SIZE // scale, name="to_lr_size")(x)
    sr = generator(x)
    sr = layers.ReLU(max_value=1.0, name="sr_image")(sr)  # clip to [0, 1]
    x = ResizeTo(HR_SIZE, name="to_hr_size")(sr)
    probs = layers.Identity(name="probabilities")(recognizer(x))
    outputs = {
        "probabilities": probs,
        "digit": ArgMaxDigit(name="digit")(probs),
        "confidence": MaxConfidence(name="confidence")(probs),
        "sr_image": sr,
    }
    return keras.Model(inputs, outputs, name=name)
