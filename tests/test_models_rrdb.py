import keras
import numpy as np
import pytest

from hdsr_tf.models.discriminator import build_discriminator
from hdsr_tf.models.rrdb import build_generator, deepened, generator_settings, interpolate_generators


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
    g = build_generator(4, nf=8, gc=8, num_blocks=1)
    x = np.random.default_rng(0).random((2, 7, 7, 1)).astype(np.float32)
    g.save(tmp_path / "g.keras")
    again = keras.saving.load_model(tmp_path / "g.keras", safe_mode=True)
    np.testing.assert_allclose(again(x).numpy(), g(x).numpy(), atol=1e-5)


@pytest.mark.parametrize("back_projection", [False, True])
def test_deepened_generator_starts_as_the_same_function(back_projection):
    g = build_generator(2, nf=8, gc=4, num_blocks=1, back_projection=back_projection)
    # move the weights off their near-identity start, so that an unchanged output means something
    rng = np.random.default_rng(0)
    g.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in g.get_weights()])
    x = rng.random((3, 14, 14, 1)).astype(np.float32)
    grown = deepened(g, 2)
    assert generator_settings(grown) == {**generator_settings(g), "num_blocks": 3}
    np.testing.assert_allclose(grown(x).numpy(), g(x).numpy(), atol=1e-5)
    # the kept layers keep their weights (conv_trunk's kernel is rescaled), the new RRDBs are live
    np.testing.assert_array_equal(grown.get_layer("rrdb1_rdb2_conv3").kernel.numpy(),
                                  g.get_layer("rrdb1_rdb2_conv3").kernel.numpy())
    assert np.abs(grown.get_layer("rrdb3_rdb1_conv1").kernel.numpy()).max() > 0
    assert not np.any(grown.get_layer("rrdb3_rdb1_conv5").kernel.numpy())
    with pytest.raises(ValueError, match="at least 1"):
        deepened(g, 0)


def test_interpolation_endpoints_and_midpoint():
    a = build_generator(4, nf=8, gc=8, num_blocks=1)
    b = build_generator(4, nf=8, gc=8, num_blocks=1)
    for alpha, expect in ((0.0, a), (1.0, b)):
        blended = interpolate_generators(a, b, alpha)
        for w, e in zip(blended.get_weights(), expect.get_weights()):
            np.testing.assert_allclose(w, e, atol=1e-7)
    half = interpolate_generators(a, b, 0.5).get_weights()[0]
    np.testing.assert_allclose(half, (a.get_weights()[0] + b.get_weights()[0]) / 2, atol=1e-7)
    with pytest.raises(ValueError):
        interpolate_generators(a, b, 1.5)


def test_discriminator_outputs_logits():
    d = build_discriminator(28, 8)
    out = d(np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32))
    assert out.shape == (3, 1) and d.output_names == ["logit"]
    assert d.layers[-1].activation.__name__ == "linear"
