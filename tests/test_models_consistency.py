"""Back-projection: SR outputs that agree with their area-downsampled LR input."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_reloads_the_same

from hdsr_tf.data.degrade import downsample
from hdsr_tf.models.consistency import BackProjection
from hdsr_tf.models.rrdb import build_generator, generator_settings, with_back_projection


def _mse(a, b):
    return np.mean((a - b) ** 2, axis=(1, 2, 3))


@pytest.mark.parametrize("scale", [2, 4])
def test_projected_output_downsamples_to_the_input(scale):
    rng = np.random.default_rng(0)
    hr = rng.uniform(0.3, 0.7, (3, 28, 28, 1)).astype(np.float32)  # away from 0 and 1: clipping never binds
    lr = downsample(tf.constant(hr), scale).numpy()
    sr = hr + rng.normal(0, 0.05, hr.shape).astype(np.float32)
    out = BackProjection(scale)([sr, lr]).numpy()
    np.testing.assert_allclose(downsample(tf.constant(out), scale).numpy(), lr, atol=1e-5)
    assert np.all(_mse(out, hr) < _mse(sr, hr))


def test_projection_never_moves_an_output_away_from_the_truth():
    rng = np.random.default_rng(1)
    hr = (rng.random((16, 28, 28, 1)) > 0.7).astype(np.float32)  # binary digits-like images: clipping binds
    lr = downsample(tf.constant(hr), 2).numpy()
    sr = hr + rng.normal(0, 0.3, hr.shape).astype(np.float32)
    out = BackProjection(2)([sr, lr]).numpy()
    assert out.min() >= 0 and out.max() <= 1
    assert np.all(_mse(out, hr) <= _mse(np.clip(sr, 0, 1), hr) + 1e-7)
    np.testing.assert_array_equal(BackProjection(2)([hr, lr]).numpy(), hr)  # the truth is a fixed point


def test_generator_with_back_projection_keeps_weights_names_and_reloads(tmp_path):
    g = build_generator(2, nf=8, gc=4, num_blocks=2)
    assert generator_settings(g) == {"scale": 2, "nf": 8, "gc": 4, "num_blocks": 2, "global_skip": True,
                                     "back_projection": False}
    p = with_back_projection(g)
    assert generator_settings(p)["back_projection"] and with_back_projection(p) is p
    assert p.input.name == "lr_image" and p.output_names == ["sr_image"]
    x = np.random.default_rng(2).random((2, 14, 14, 1)).astype(np.float32)
    np.testing.assert_allclose(p(x).numpy(), BackProjection(2)([g(x), x]).numpy(), atol=1e-6)
    again = assert_reloads_the_same(p, x, tmp_path)
    assert isinstance(again.get_layer("sr_image"), BackProjection) and again.count_params() == g.count_params()
