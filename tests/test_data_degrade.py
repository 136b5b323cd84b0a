import numpy as np
import pytest
import tensorflow as tf

from hdsr_tf.data.degrade import Degradation, degrade, downsample
from hdsr_tf.data.pipelines import sr_pair_dataset


@pytest.fixture
def hr_images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(20, 28, 28, 1), dtype=np.uint8)


@pytest.mark.parametrize("scale,lr_size", [(2, 14), (4, 7)])
@pytest.mark.parametrize("method", ["area", "bicubic"])
def test_pair_shapes_ranges_dtypes(hr_images, scale, lr_size, method):
    ds = sr_pair_dataset(hr_images, 8, training=False, degradation=Degradation(scale, method))
    lr, hr = next(iter(ds))
    assert lr.shape == (8, lr_size, lr_size, 1) and hr.shape == (8, 28, 28, 1)
    assert lr.dtype == tf.float32 and hr.dtype == tf.float32
    for t in (lr, hr):
        assert 0.0 <= float(tf.reduce_min(t)) and float(tf.reduce_max(t)) <= 1.0


def test_area_downsampling_is_block_average():
    hr = tf.random.stateless_uniform([1, 28, 28, 1], [1, 2])
    lr = downsample(hr, 4, "area")
    expected = tf.nn.avg_pool2d(hr, 4, 4, "VALID")
    np.testing.assert_allclose(lr.numpy(), expected.numpy(), atol=1e-5)


def test_blur_and_noise_are_seeded():
    hr = tf.random.stateless_uniform([28, 28, 1], [3, 4])
    cfg = Degradation(4, "area", blur_sigma=(0.5, 1.5), noise_sigma=(0.02, 0.1))
    a = degrade(hr, 5, cfg, seed=1)
    b = degrade(hr, 5, cfg, seed=1)
    c = degrade(hr, 5, cfg, seed=2)
    d = degrade(hr, 6, cfg, seed=1)
    plain = degrade(hr, 5, Degradation(4, "area"), seed=1)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), c.numpy()) and not np.allclose(a.numpy(), d.numpy())
    assert not np.allclose(a.numpy(), plain.numpy())


def test_pairs_are_identical_across_pipelines_for_a_seed(hr_images):
    def first(seed):
        cfg = Degradation(4, noise_sigma=(0.0, 0.1))
        return next(iter(sr_pair_dataset(hr_images, 20, training=True, degradation=cfg, seed=seed)))

    (lr1, hr1), (lr2, hr2), (lr3, _) = first(0), first(0), first(1)
    np.testing.assert_array_equal(lr1.numpy(), lr2.numpy())
    np.testing.assert_array_equal(hr1.numpy(), hr2.numpy())
    assert not np.array_equal(lr1.numpy(), lr3.numpy())


@pytest.mark.parametrize("kwargs", [{"scale": 3}, {"method": "nearest"}, {"blur_sigma": (2.0, 1.0)}])
def test_bad_degradation_settings(kwargs):
    with pytest.raises(ValueError):
        Degradation(**kwargs)
