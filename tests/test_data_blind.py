"""The blind degradation model: each family does what it says, ranges hold, draws are seeded."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from hdsr_tf.data import blind as dg
from hdsr_tf.data import recipe as rc
from hdsr_tf.data.pipelines import classification_dataset, sr_pair_dataset
from hdsr_tf.evaluation import mnist_c
from hdsr_tf.models.layers import ResizeTo

KEY = tf.constant([3, 4], tf.int64)


@pytest.fixture(scope="module")
def digits():
    """Digit-like images: strokes of ink on black, 28x28."""
    rng = np.random.default_rng(0)
    x = np.zeros((32, 28, 28, 1), np.float32)
    for i in range(32):
        r = rng.integers(6, 12)
        x[i, 14 - r:14 + r, 12:16] = 1.0  # a vertical bar
        x[i, 8:11, 8:20] = 1.0  # and a cap
    return tf.constant(x)


def only(**changes) -> rc.Recipe:
    """A recipe that keeps 28 px and applies only the given changes."""
    first = changes.pop("first", {})
    return rc.Recipe(name="test", lr_sizes=(28, 28), first=rc.Pass(**first), **changes)


def run(x, recipe, out_size=28, key=KEY):
    out, size, target = dg.degrade_blind(x, key, recipe, out_size)
    return out.numpy(), size.numpy(), target.numpy()


def test_a_recipe_with_nothing_on_returns_the_digits(digits):
    out, size, _ = run(digits, only())
    np.testing.assert_allclose(out, digits.numpy(), atol=1e-5)
    assert (size == 28).all()


@pytest.mark.parametrize("method", rc.RESIZE_METHODS)
@pytest.mark.parametrize("size", [5, 7, 10, 14, 27])
def test_matrix_resize_equals_tf_image_resize(digits, method, size):
    table = dg._resize_matrices(method)
    got = dg._resize(digits[..., 0], tf.constant(np.repeat(table[28, size][None], len(digits), 0))).numpy()
    ref = tf.image.resize(digits, [size, size], method=method, antialias=True)[..., 0].numpy()
    np.testing.assert_allclose(got[:, :size, :size], ref, atol=1e-5)
    assert np.abs(got[:, size:, :]).max() == 0 and np.abs(got[:, :, size:]).max() == 0


@pytest.mark.parametrize("size", [5, 9, 14, 27])
@pytest.mark.parametrize("out_size", [7, 28])
def test_images_reach_the_model_as_the_export_resizes_them(digits, size, out_size):
    """The training input at out_size equals ResizeTo(out_size) applied to the LR image."""
    recipe = dataclasses.replace(only(), lr_sizes=(size, size), resize_methods=("bilinear",))
    out, sizes, _ = run(digits, recipe, out_size)
    raw, _, _ = run(digits, recipe, None)
    expected = ResizeTo(out_size)(tf.constant(raw[:, :size, :size]))
    assert out.shape == (len(digits), out_size, out_size, 1) and (sizes == size).all()
    np.testing.assert_allclose(out, expected.numpy(), atol=1e-4)


def test_lr_sizes_stay_in_range_and_vary(digits):
    recipe = dataclasses.replace(rc.load_recipe("blind"), name="t")
    sizes = np.concatenate([run(digits, recipe, 7, tf.constant([1, k], tf.int64))[1] for k in range(8)])
    assert sizes.min() >= 5 and sizes.max() <= 14 and len(np.unique(sizes)) >= 8
    full = dataclasses.replace(recipe, full_resolution_prob=1.0)
    assert (run(digits, full)[1] == 28).all()


def test_same_key_same_draw_other_key_other_draw(digits):
    recipe = rc.load_recipe("blind")
    a, b = run(digits, recipe, 7)[0], run(digits, recipe, 7)[0]
    c = run(digits, recipe, 7, tf.constant([3, 5], tf.int64))[0]
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.1


def test_blur_spreads_ink_and_keeps_its_mass(digits):
    out, _, _ = run(digits, only(first={"blur_prob": 1.0, "blur_sigma": (1.5, 1.5), "kernel_sizes": (9, 9)}))
    x = digits.numpy()
    assert np.abs(out.sum((1, 2, 3)) - x.sum((1, 2, 3))).max() < 0.02 * x.sum((1, 2, 3)).min()
    assert (out > 0.01).sum() > 1.5 * (x > 0.01).sum()  # ink reaches more pixels
    assert out.max() < 1.0  # and no pixel keeps full ink


def test_anisotropic_blur_is_stronger_along_one_axis():
    k = dg.blur_kernels(tf.constant([2.0]), tf.constant([0.5]), tf.constant([0.0]), tf.constant([4]))[0].numpy()
    assert abs(k.sum() - 1) < 1e-5
    assert k[4, 1] > 100 * k[1, 4]  # 3 px off centre: still weight along x, almost none along y
    rotated = dg.blur_kernels(tf.constant([2.0]), tf.constant([0.5]), tf.constant([np.pi / 2]), tf.constant([4]))
    np.testing.assert_allclose(rotated[0].numpy(), k.T, atol=1e-6)


def test_kernel_size_truncates_the_blur():
    k = dg.blur_kernels(tf.constant([3.0]), tf.constant([3.0]), tf.constant([0.0]), tf.constant([1]))[0].numpy()
    assert k[3:6, 3:6].sum() == pytest.approx(1.0) and k[0].sum() == 0


def test_gaussian_noise_has_the_drawn_sigma(digits):
    x = tf.fill([16, 28, 28, 1], 0.5)
    out, _, _ = run(x, only(first={"gaussian_noise_prob": 1.0, "gaussian_noise": (0.1, 0.1)}))
    assert (out - 0.5).std() == pytest.approx(0.1, rel=0.05)


def test_poisson_noise_grows_with_fewer_photons():
    x = tf.fill([16, 28, 28, 1], 0.5)
    few = run(x, only(first={"poisson_prob": 1.0, "poisson_photons": (10.0, 10.0)}))[0]
    many = run(x, only(first={"poisson_prob": 1.0, "poisson_photons": (1000.0, 1000.0)}))[0]
    assert few.std() > 5 * many.std() > 0
    assert abs(few.mean() - 0.5) < 0.02  # unbiased


def test_jpeg_changes_the_image_a_little(digits):
    low = run(digits, only(first={"jpeg_prob": 1.0, "jpeg_quality": (30, 30)}))[0]
    high = run(digits, only(first={"jpeg_prob": 1.0, "jpeg_quality": (95, 95)}))[0]
    x = digits.numpy()
    assert 0 < np.abs(high - x).mean() < np.abs(low - x).mean() < 0.1


def test_stroke_changes_thicken_or_thin_the_ink(digits):
    thick = run(digits, only(stroke_prob=1.0, stroke_range=(1.0, 1.0)))[0]
    thin = run(digits, only(stroke_prob=1.0, stroke_range=(-0.5, -0.5)))[0]
    mass = digits.numpy().sum()
    assert thick.sum() > 1.3 * mass and thin.sum() < 0.9 * mass


def test_affine_moves_ink_and_the_target_follows(digits):
    recipe = only(affine_prob=1.0, rotation_deg=30, shift=2.0)
    out, _, target = run(digits, recipe)
    assert np.abs(out - digits.numpy()).mean() > 0.02
    np.testing.assert_allclose(out, target, atol=1e-5)  # a content change, not a loss of quality


def test_target_is_the_digit_before_quality_loss(digits):
    recipe = rc.load_recipe("blind")
    out, _, target = run(digits, dataclasses.replace(recipe, affine_prob=0.0, stroke_prob=0.0), 7)
    np.testing.assert_allclose(target, digits.numpy())
    assert out.shape[1] == 7


def test_photometric_lifts_the_background_and_dims_the_ink(digits):
    out, _, _ = run(digits, only(photometric_prob=1.0, background=(0.3, 0.3), ink=(0.7, 0.7)))
    x = digits.numpy()
    np.testing.assert_allclose(out[x == 0], 0.3, atol=1e-5)
    np.testing.assert_allclose(out[x == 1], 0.7, atol=1e-5)


def test_second_pass_goes_through_an_intermediate_size(digits):
    """With a second pass, nearest-neighbour at both steps still ends at the final size, and the
    result differs from one direct resize (it went through a size in between)."""
    base = dataclasses.replace(only(), lr_sizes=(7, 7), resize_methods=("nearest",))
    direct = run(digits, base, None)[0]
    twice = run(digits, dataclasses.replace(base, second_pass_prob=1.0), None)[0]
    assert np.abs(twice[:, 7:]).max() == 0 and np.abs(twice[:, :, 7:]).max() == 0
    assert np.abs(twice - direct).max() > 0.1


def test_shipped_recipes_load_and_keep_mnist_c_held_out_families_out():
    held_out = {"impulse", "glass", "motion", "stripe", "fog", "spatter", "dotted", "zigzag", "canny", "edge"}
    for path in sorted(rc.RECIPE_DIR.glob("*.json")):
        recipe = rc.load_recipe(path.stem)
        text = " ".join(recipe.families()).lower()
        assert not any(word in text for word in held_out), (path.stem, recipe.families())
    assert set(mnist_c.CORRUPTIONS) - mnist_c.IN_TRAINING >= {"impulse_noise", "glass_blur", "fog", "canny_edges"}
    assert rc.load_recipe("clean_x4").families() == ["resize(area, 7-7 px)"]


def test_bad_recipes_are_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="shipped recipes: .*blind"):
        rc.load_recipe("no_such_recipe")
    bad = tmp_path / "bad.json"
    bad.write_text('{"lr_sizes": [3, 40]}')
    with pytest.raises(ValueError, match="lr_sizes"):
        rc.load_recipe(str(bad))
    bad.write_text('{"first": {"blurr_prob": 1}}')
    with pytest.raises(ValueError, match="blurr_prob"):
        rc.load_recipe(str(bad))


@pytest.mark.slow
def test_training_batches_get_fresh_draws_and_evaluation_batches_fixed_ones():
    rng = np.random.default_rng(1)
    images, labels = rng.integers(0, 256, (64, 28, 28, 1), np.uint8), rng.integers(0, 10, 64)
    recipe = rc.load_recipe("blind")
    val = classification_dataset(images, labels, 32, training=False, recipe=recipe, lr_scale=4)
    first, again = [next(iter(val))[0].numpy() for _ in range(2)]
    np.testing.assert_array_equal(first, again)
    assert first.shape == (32, 7, 7, 1)
    train = classification_dataset(images, labels, 64, training=True, recipe=recipe)
    it = iter(train.repeat(2))
    (a, ya), (b, yb) = next(it), next(it)
    order = np.argsort(ya.numpy(), kind="stable"), np.argsort(yb.numpy(), kind="stable")
    assert a.shape == (64, 28, 28, 1) and not np.allclose(a.numpy()[order[0]], b.numpy()[order[1]])
    pairs = sr_pair_dataset(images, 16, training=False, recipe=recipe, labels=labels)
    (lr, hr), y = next(iter(pairs))
    assert lr.shape == (16, 7, 7, 1) and hr.shape == (16, 28, 28, 1) and y.shape == (16,)
