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


def test_pipelines_prefetch():
    x, y = _data()
    ds = classification_dataset(x, y, 16, training=True)
    assert "Prefetch" in type(ds._input_dataset).__name__ or "Prefetch" in type(ds).__name__


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
