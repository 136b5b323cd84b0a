"""Switching a built model between float32 and a mixed-precision compute dtype.

Keras stores each layer's dtype policy in the saved model, so a generator
trained under ``mixed_bfloat16`` would also *evaluate* in bfloat16. Training
converts the generator to the mixed policy (bfloat16 convolutions trained
1.0-2.0x faster on this AVX512-BF16 CPU, benchmarks/NOTES.md) and
converts it back before saving, so shipped generators always compute in float32.
Variables are float32 under either policy, so weights and checkpoints carry over.
"""

from __future__ import annotations

import keras


def with_dtype_policy(model: keras.Model, policy: str) -> keras.Model:
    """A copy of a functional ``model`` whose layers compute under ``policy``, with the same weights."""
    if all(layer.dtype_policy.name == policy for layer in model.layers):
        return model

    def relayer(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": policy})

    copy = keras.models.clone_model(model, clone_function=relayer)
    copy.set_weights(model.get_weights())
    return copy
