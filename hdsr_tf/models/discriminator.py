"""ESRGAN's VGG-style discriminator, sized for 28x28 (or 56x56) digits.

Pairs of 3x3 (stride 1) and 4x4 (stride 2) convs with batch norm and
LeakyReLU 0.2 halve the image twice, then a dense head gives one raw logit per
image: the RaGAN loss needs logits, not probabilities. Batch norm is
synchronized across replicas so a multi-replica step sees the same statistics
as a single replica on the same global batch.
"""

from __future__ import annotations

import keras
from keras import layers


def build_discriminator(hr_size: int = 28, filters: int = 32, name: str = "discriminator") -> keras.Model:
    """input ``hr_image`` [B,hr_size,hr_size,1] -> output ``logit`` [B,1]."""
    inputs = keras.Input((hr_size, hr_size, 1), name="hr_image")
    x = layers.Conv2D(filters, 3, padding="same", name="conv0_0")(inputs)
    x = layers.LeakyReLU(0.2, name="lrelu0_0")(x)
    widths = [filters, filters * 2, filters * 4]
    for i, width in enumerate(widths):
        if i > 0:
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i}_0")(x)
            x = layers.BatchNormalization(synchronized=True, name=f"bn{i}_0")(x)
            x = layers.LeakyReLU(0.2, name=f"lrelu{i}_0")(x)
        if i < len(widths) - 1:
            x = layers.Conv2D(width, 4, strides=2, padding="same", use_bias=False, name=f"conv{i}_1")(x)
            x = layers.BatchNormalization(synchronized=True, name=f"bn{i}_1")(x)
            x = layers.LeakyReLU(0.2, name=f"lrelu{i}_1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(100, name="fc1")(x)
    x = layers.LeakyReLU(0.2, name="lrelu_fc1")(x)
    outputs = layers.Dense(1, name="logit")(x)
    return keras.Model(inputs, outputs, name=name)
