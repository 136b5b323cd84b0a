"""Converting a model between float32 and mixed-precision compute."""

import keras
import numpy as np
import pytest

from hdsr_tf.models.cnn import build_recognizer
from hdsr_tf.models.precision import with_dtype_policy
from hdsr_tf.models.rrdb import build_generator


@pytest.mark.parametrize("policy,compute", [("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")])
def test_mixed_copy_shares_weights_and_keeps_its_outputs_in_float32(policy, compute):
    g = build_generator(2, nf=8, gc=8, num_blocks=1)
    b = with_dtype_policy(g, policy)
    assert b is not g and b.get_layer("conv_first").compute_dtype == compute
    assert b.get_layer("sr_image").compute_dtype == "float32"  # the output layer stays full precision
    assert all(v.dtype == "float32" for v in b.weights)  # variables stay float32
    for x, y in zip(g.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)
    assert b.input.name == "lr_image" and b.output_names == ["sr_image"]
    x = np.random.default_rng(0).random((2, 14, 14, 1)).astype(np.float32)
    out, ref = b(x), g(x).numpy()
    assert out.dtype == "float32" and 0 < np.abs(out.numpy() - ref).max() < 0.1
    r = with_dtype_policy(build_recognizer(), policy)
    assert r.get_layer("conv1a").compute_dtype == compute and r.get_layer("probabilities").compute_dtype == "float32"


def test_back_to_float32_is_exact_and_saves_as_float32(tmp_path):
    g = build_generator(2, nf=8, gc=8, num_blocks=1)
    assert with_dtype_policy(g, "float32") is g  # nothing to convert
    back = with_dtype_policy(with_dtype_policy(g, "mixed_bfloat16"), "float32")
    x = np.random.default_rng(1).random((2, 14, 14, 1)).astype(np.float32)
    np.testing.assert_array_equal(back(x).numpy(), g(x).numpy())
    back.save(tmp_path / "g.keras")
    again = keras.saving.load_model(tmp_path / "g.keras", safe_mode=True)
    assert {layer.dtype_policy.name for layer in again.layers} == {"float32"}
