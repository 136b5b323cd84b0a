"""MNIST-C's 15 corruptions: seeded, shape and range kept, the image changed as defined."""

import numpy as np
import pytest
from scipy import ndimage

from hdsr_tf.evaluation import mnist_c


@pytest.fixture(scope="module")
def digits():
    """A blocky "digit" per image, off-centre, uint8 like MNIST."""
    x = np.zeros((12, 28, 28), np.uint8)
    for i in range(12):
        x[i, 6:22, 10 + i % 3:14 + i % 3] = 255
        x[i, 6:9, 8:20] = 200
    return x


RANDOM = {"shot_noise", "impulse_noise", "glass_blur", "motion_blur", "shear", "rotate", "translate", "fog",
          "spatter", "dotted_line", "zigzag"}


@pytest.mark.parametrize("name", mnist_c.CORRUPTIONS)
def test_shape_range_change_and_seed(digits, name):
    a = mnist_c.corrupt(name, digits, seed=1)
    assert a.shape == (12, 28, 28, 1) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    assert np.abs(a[..., 0] - digits / 255).mean() > 0.005
    np.testing.assert_array_equal(a, mnist_c.corrupt(name, digits, seed=1))
    if name in RANDOM:
        assert not np.array_equal(a, mnist_c.corrupt(name, digits, seed=2))


def test_unknown_corruption_is_refused(digits):
    with pytest.raises(ValueError, match="one of shot_noise"):
        mnist_c.corrupt("frost", digits)


def centre_of_mass(x):
    return np.array([ndimage.center_of_mass(img[..., 0]) for img in x])


def test_translate_moves_every_digit_3_px_on_both_axes(digits):
    moved = mnist_c.corrupt("translate", digits)
    shift = np.abs(centre_of_mass(moved) - centre_of_mass(digits[..., None] / 255.0))
    np.testing.assert_allclose(shift, 3.0, atol=0.05)


def test_scale_shrinks_the_digit_to_70_percent(digits):
    small = mnist_c.corrupt("scale", digits)
    height = lambda img: np.ptp(np.flatnonzero(img.max(axis=1) > 0.5))  # noqa: E731
    ratios = [height(s[..., 0]) / height(d / 255) for s, d in zip(small, digits)]
    assert np.mean(ratios) == pytest.approx(0.7, abs=0.06)


def test_rotate_and_shear_keep_the_centre_and_mass(digits):
    for name in ("rotate", "shear"):
        out = mnist_c.corrupt(name, digits)[..., 0]
        assert out.sum() == pytest.approx((digits / 255).sum(), rel=0.1)
        assert np.abs(out - digits / 255).mean() > 0.03


def test_brightness_adds_one_half(digits):
    np.testing.assert_allclose(mnist_c.corrupt("brightness", digits)[..., 0], np.clip(digits / 255 + 0.5, 0, 1),
                               atol=1e-6)


def test_stripe_inverts_the_outer_columns_only(digits):
    out = mnist_c.corrupt("stripe", digits)[..., 0]
    x = digits / 255
    np.testing.assert_allclose(out[:, :, :7], 1 - x[:, :, :7], atol=1e-6)
    np.testing.assert_allclose(out[:, :, 7:21], x[:, :, 7:21], atol=1e-6)


def test_impulse_noise_replaces_about_17_percent_with_black_or_white():
    grey = np.full((50, 28, 28), 128, np.uint8)
    out = mnist_c.corrupt("impulse_noise", grey)[..., 0]
    hit = np.abs(out - 128 / 255) > 1e-6
    assert hit.mean() == pytest.approx(0.17, abs=0.01)
    assert set(np.unique(out[hit])) == {0.0, 1.0}


def test_shot_noise_is_poisson_with_three_photons():
    grey = np.full((50, 28, 28), 255, np.uint8)
    out = mnist_c.corrupt("shot_noise", grey)[..., 0]
    values = np.unique(out)
    assert set(np.round(values * 3, 5)) <= {0.0, 1.0, 2.0, 3.0}  # Poisson(3) / 3, clipped at 1
    assert (out < 1).mean() == pytest.approx(0.423, abs=0.02)  # P(Poisson(3) < 3) = 8.5 e^-3


def test_canny_edges_are_binary_outlines(digits):
    out = mnist_c.corrupt("canny_edges", digits)[..., 0]
    assert set(np.unique(out)) <= {0.0, 1.0}
    x = digits / 255
    assert out[x == 0].sum() > 0  # edges sit around the strokes
    assert out.sum() < (x > 0).sum()  # outlines, not filled shapes


def test_dotted_line_and_zigzag_only_add_ink(digits):
    for name in ("dotted_line", "zigzag"):
        out = mnist_c.corrupt(name, digits)[..., 0]
        assert (out >= digits / 255 - 1e-6).all()
    dotted = mnist_c.corrupt("dotted_line", digits)[..., 0] - digits / 255
    assert np.abs(dotted[:, :, 0:2]).max() == 0 and np.abs(dotted[:, :, 2:4]).max() > 0  # dashes 2 px


def test_fog_lifts_the_background_unevenly(digits):
    out = mnist_c.corrupt("fog", digits)[..., 0]
    background = out[digits == 0]
    assert background.mean() > 0.3 and background.std() > 0.02
