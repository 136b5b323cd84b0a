import numpy as np
import tensorflow as tf

from hdsr_tf.data.pipelines import Augmentation, classification_dataset, random_affine


def _data(n=64):
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8), rng.integers(0, 10, n).astype(np.int64)


def test_batches_are_float_in_unit_range():
    x, y = _data()
    images, labels = next(iter(classification_dataset(x, y, 16, training=False)))
    assert images.dtype == tf.float32 and images.shape == (16, 28, 28, 1) and labels.dtype == tf.int64
    np.testing.assert_allclose(images.numpy(), x[:16] / 255.0, rtol=1e-6)


def test_same_seed_same_batches_and_epochs_differ():
    x, y = _data()

    def epochs(seed):
        ds = classification_dataset(x, y, 16, training=True, seed=seed, augment=Augmentation())
        return [[b[0].numpy() for b in ds] for _ in range(2)]

    a, b, c = epochs(0), epochs(0), epochs(1)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[1][2], b[1][2])
    assert not np.array_equal(a[0][0], a[1][0])  # reshuffled and re-augmented each epoch
    assert not np.array_equal(a[0][0], c[0][0])


def test_augmentation_moves_pixels_but_keeps_the_digit():
    x, _ = _data(8)
    images = tf.constant(x / 255.0, tf.float32)
    out = random_affine(images, tf.constant([0, 1], tf.int64), Augmentation())
    assert out.shape == images.shape
    assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0
    assert not np.allclose(out.numpy(), images.numpy())
    none = random_affine(images, tf.constant([0, 1], tf.int64), Augmentation(0.0, 0.0, 0.0))
    np.testing.assert_allclose(none.numpy(), images.numpy(), atol=1e-5)


def test_pipelines_are_deterministic_and_shard_by_data():
    from hdsr_tf.data.pipelines import sr_pair_dataset

    x, y = _data()
    for ds in (classification_dataset(x, y, 16, training=True), sr_pair_dataset(x, 16, training=True)):
        options = ds.options()
        assert options.deterministic is True
        assert options.experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA


def test_prefetch_to_device_forced_on_cpu_keeps_batches():
    from hdsr_tf.data.pipelines import prefetch_to_device

    x, y = _data()
    plain = classification_dataset(x, y, 16, training=False)
    staged = prefetch_to_device(plain, "/cpu:0")
    assert staged is not plain
    for (a, b), (c, d) in zip(plain, staged):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
    if not tf.config.list_logical_devices("GPU"):
        assert prefetch_to_device(plain) is plain  # nothing to stage to


def test_random_shift_moves_whole_pixels_exactly():
    from hdsr_tf.data.pipelines import random_shift

    x = np.zeros((6, 28, 28, 1), np.float32)
    x[:, 8:20, 8:20] = np.random.default_rng(2).random((6, 12, 12, 1))
    out = random_shift(tf.constant(x), tf.constant([3, 4], tf.int64), 3).numpy()
    moved = 0
    for original, shifted in zip(x, out):
        offsets = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)
                   if np.array_equal(np.roll(original, (dy, dx), (0, 1)), shifted)]
        assert len(offsets) == 1  # an exact copy, no interpolation blur
        moved += offsets[0] != (0, 0)
    assert moved > 0


def test_shifted_sr_pairs_are_consistent_and_fresh_each_epoch():
    from hdsr_tf.data.degrade import Degradation, downsample
    from hdsr_tf.data.pipelines import sr_pair_dataset

    x, y = _data(32)
    x[:, :4], x[:, -4:], x[:, :, :4], x[:, :, -4:] = 0, 0, 0, 0  # digits keep a border, as in MNIST
    ds = sr_pair_dataset(x, 16, training=True, degradation=Degradation(4), labels=y, shift=3)
    first, second = [[b for b in ds] for _ in range(2)]
    (lr, hr), labels = first[0]
    assert lr.shape == (16, 7, 7, 1) and hr.shape == (16, 28, 28, 1)
    np.testing.assert_allclose(lr.numpy(), downsample(hr, 4).numpy(), atol=1e-6)  # LR made from the moved HR
    assert all(np.sum(hr_i) > 0 for hr_i in hr.numpy())
    # Every moved digit still carries its own label: shifts never cross examples.
    for image, label in zip(hr.numpy(), labels.numpy()):
        matches = [i for i in range(32) if any(
            np.array_equal(np.roll(x[i] / 255.0, (dy, dx), (0, 1)).astype(np.float32), image)
            for dy in range(-3, 4) for dx in range(-3, 4))]
        assert matches and y[matches[0]] == label
    assert not np.array_equal(first[0][0][1].numpy(), second[0][0][1].numpy())
