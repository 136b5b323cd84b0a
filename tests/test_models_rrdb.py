import numpy as np
import pytest
from conftest import assert_reloads_the_same

from hdsr_tf.models.discriminator import build_discriminator
from hdsr_tf.models.rrdb import (
    build_generator,
    generator_scale,
    generator_settings,
    interpolate_generators,
)


@pytest.mark.parametrize("scale,lr,hr", [(2, 14, 28), (4, 7, 28)])
def test_generator_shapes_and_names(scale, lr, hr):
    g = build_generator(scale, nf=8, gc=8, num_blocks=1)
    assert g.input.name == "lr_image" and g.output_names == ["sr_image"]
    assert g(np.zeros((2, lr, lr, 1), np.float32)).shape == (2, hr, hr, 1)
    assert g(np.zeros((1, 5, 9, 1), np.float32)).shape == (1, 5 * scale, 9 * scale, 1)  # fully convolutional


def test_generator_structure_follows_esrgan():
    g = build_generator(4, nf=8, gc=4, num_blocks=2, global_skip=False)
    names = [layer.name for layer in g.layers]
    assert sum(n.endswith("_conv5") for n in names) == 2 * 3  # 3 dense blocks per RRDB
    assert "rrdb2_rdb3_conv4" in names and "conv_up2" in names and "conv_up3" not in names
    assert g.get_layer("rrdb1_scale").scale == pytest.approx(0.2)
    assert g.get_layer("rrdb1_rdb1_scale").scale == pytest.approx(0.2)
    # dense-block convs start 10x smaller than He-normal, the others do not
    dense = np.std(g.get_layer("rrdb1_rdb1_conv1").kernel.numpy())
    first = np.std(g.get_layer("conv_trunk").kernel.numpy())
    assert dense < first / 4


def test_generator_reloads_in_safe_mode(tmp_path):
    x = np.random.default_rng(0).random((2, 7, 7, 1)).astype(np.float32)
    assert_reloads_the_same(build_generator(4, nf=8, gc=8, num_blocks=1), x, tmp_path, atol=1e-5)


@pytest.mark.parametrize("settings", [dict(scale=2, nf=8, gc=4, num_blocks=2, global_skip=False, back_projection=False),
                                      dict(scale=4, nf=16, gc=8, num_blocks=1, global_skip=True, back_projection=True),
                                      dict(scale=1, nf=8, gc=4, num_blocks=1, global_skip=True, back_projection=False)])
def test_settings_and_scale_are_read_back_from_the_layers(settings):
    g = build_generator(**settings)
    assert generator_settings(g) == settings and generator_scale(g) == settings["scale"]


def test_interpolation_endpoints_and_midpoint():
    a = build_generator(4, nf=8, gc=8, num_blocks=1)
    b = build_generator(4, nf=8, gc=8, num_blocks=1)
    for alpha, expect in ((0.0, a), (1.0, b)):
        blended = interpolate_generators(a, b, alpha)
        for w, e in zip(blended.get_weights(), expect.get_weights()):
            np.testing.assert_allclose(w, e, atol=1e-7)
    half = interpolate_generators(a, b, 0.5).get_weights()[0]
    np.testing.assert_allclose(half, (a.get_weights()[0] + b.get_weights()[0]) / 2, atol=1e-7)
    with pytest.raises(ValueError, match="alpha"):
        interpolate_generators(a, b, 1.5)
    with pytest.raises(ValueError, match="one architecture"):
        interpolate_generators(a, build_generator(4, nf=8, gc=8, num_blocks=2), 0.5)


def test_discriminator_outputs_logits():
    d = build_discriminator(28, 8)
    out = d(np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32))
    assert out.shape == (3, 1) and d.output_names == ["logit"]
    assert d.layers[-1].activation.__name__ == "linear"


def test_the_any_size_generator_keeps_its_input_size_and_learns_a_residual(tmp_path):
    """Scale 1: the input is the image already enlarged to its target size; the trunk runs on it pixel-
    unshuffled (every pixel kept, at a quarter of the side), and a zero detail branch returns the input."""
    g = build_generator(1, nf=8, gc=8, num_blocks=1)
    assert generator_scale(g) == 1 and g.get_layer("unshuffle").factor == 4
    assert g.get_layer("conv_first").input.shape[1:] == (None, None, 16)
    x = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    assert g(x).shape == (2, 28, 28, 1) and g(np.zeros((1, 12, 20, 1), np.float32)).shape == (1, 12, 20, 1)
    last = g.get_layer("conv_last")
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    np.testing.assert_allclose(g(x).numpy(), x, atol=1e-6)
    assert_reloads_the_same(g, x, tmp_path)
    with pytest.raises(ValueError, match="residual"):
        build_generator(1, global_skip=False)


def test_mixed_precision_copies_can_keep_the_layers_that_read_the_pixels_in_float32():
    from hdsr_tf.models.cnn import build_recognizer
    from hdsr_tf.models.precision import with_dtype_policy

    model = build_recognizer(filters=(4, 4, 8))
    copy = with_dtype_policy(model, "mixed_bfloat16", inputs_in_float32=True)
    policies = {layer.name: layer.dtype_policy.name for layer in copy.layers}
    assert policies["conv1a"] == "float32" and policies[copy.layers[-1].name] == "float32"
    assert policies["conv1b"] == "mixed_bfloat16"
    assert with_dtype_policy(model, "mixed_bfloat16").get_layer("conv1a").dtype_policy.name == "mixed_bfloat16"
