"""Copies of a built model that compute in another dtype policy, with the same weights.

Keras stores each layer's dtype policy in the saved model, so a model trained
under ``mixed_bfloat16`` would also *evaluate* in bfloat16. Training jobs
therefore build or load every model in float32, train a mixed-precision copy
(:func:`with_dtype_policy`) and save a float32 copy again: shipped models always
compute in float32, and no global Keras policy is ever changed. Variables are
float32 under every policy, so weights and checkpoints carry over unchanged.
"""

from __future__ import annotations

import keras


def with_dtype_policy(model: keras.Model, policy: str, inputs_in_float32: bool = False) -> keras.Model:
    """A copy of a functional ``model`` whose layers compute under ``policy``.

    The layers that produce the model's outputs stay float32, as mixed-precision
    training wants: softmax, losses and the SR image keep full precision. With
    ``inputs_in_float32`` the layers that read the model's inputs do too: rounding the
    pixels themselves to bfloat16 flipped 7 of 10,000 5-px test digits against
    float32, computing the first convolution in float32 only 3 (benchmarks/NOTES.md).
    """
    outputs = {id(t._keras_history.operation) for t in keras.tree.flatten(model.outputs)}
    if inputs_in_float32:
        sources = {id(t._keras_history.operation) for t in keras.tree.flatten(model.inputs)}
        outputs |= {id(layer) for layer in model.layers
                    if any(id(t._keras_history.operation) in sources for node in layer._inbound_nodes
                           for t in keras.tree.flatten(node.input_tensors))}
    wanted = {layer.name: "float32" if id(layer) in outputs else policy for layer in model.layers}
    if all(layer.dtype_policy.name == wanted[layer.name] for layer in model.layers):
        return model

    def relayer(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": wanted[layer.name]})

    copy = keras.models.clone_model(model, clone_function=relayer)
    copy.set_weights(model.get_weights())
    return copy
