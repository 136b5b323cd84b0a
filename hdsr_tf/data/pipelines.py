"""tf.data builders: classification batches and (LR, HR) super-resolution pairs.

Both take in-memory uint8 arrays (MNIST and DIDA fit in RAM many times over),
convert once to float32 in [0,1], cache, shuffle, batch and prefetch. All
randomness comes from the seed: shuffles use seeded reshuffling, and
augmentation draws come from ``Dataset.random(seed, rerandomize_each_iteration)``
so each epoch differs but every run repeats the same sequence.

Sources are in memory, so under a multi-worker strategy the datasets are
sharded by DATA (each worker keeps every n-th batch's examples), deliberately:
FILE sharding has no files to split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from hdsr_tf.data.blind import degrade_blind
from hdsr_tf.data.degrade import Degradation, degrade, downsample, transform
from hdsr_tf.data.recipe import Recipe

AUTOTUNE = tf.data.AUTOTUNE


@dataclass(frozen=True)
class Augmentation:
    """Small random affine changes that keep a digit a digit."""

    rotation_deg: float = 10.0
    shift: float = 0.1  # fraction of the side
    zoom: float = 0.1  # scale in [1 - zoom, 1 + zoom]


def _options() -> tf.data.Options:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    return options


def to_float(images: tf.Tensor) -> tf.Tensor:
    return tf.cast(images, tf.float32) / 255.0


def random_affine(images: tf.Tensor, key: tf.Tensor, aug: Augmentation) -> tf.Tensor:
    """Per-image random rotation, shift and zoom of a [B,H,W,1] batch (stateless)."""
    batch = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1:3], tf.float32)
    keys = tf.random.experimental.stateless_split(key, 4)
    angle = tf.random.stateless_uniform([batch], keys[0], -1.0, 1.0) * aug.rotation_deg * math.pi / 180
    zoom = 1.0 + tf.random.stateless_uniform([batch], keys[1], -aug.zoom, aug.zoom)
    ty = tf.random.stateless_uniform([batch], keys[2], -aug.shift, aug.shift) * size[0]
    tx = tf.random.stateless_uniform([batch], keys[3], -aug.shift, aug.shift) * size[1]
    cy, cx = (size[0] - 1) / 2, (size[1] - 1) / 2
    # Output pixel p samples input M (p - c) + c + t, M = rotation / zoom.
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    a2 = cx + tx - cos * cx + sin * cy
    b2 = cy + ty - sin * cx - cos * cy
    zeros = tf.zeros_like(cos)
    transforms = tf.stack([cos, -sin, a2, sin, cos, b2, zeros, zeros], axis=1)
    return transform(images, transforms, "BILINEAR")


def prefetch_to_device(ds: tf.data.Dataset, device: str | None = None) -> tf.data.Dataset:
    """Stages batches on ``device`` (default: the first GPU, if any) so the accelerator never
    waits for a host-to-device copy. With no GPU and no device given, returns ``ds`` unchanged.

    Under a tf.distribute strategy Keras already does this through the strategy's
    distributed dataset; this is for single-device training.
    """
    if device is None:
        gpus = tf.config.list_logical_devices("GPU")
        if not gpus:
            return ds
        device = gpus[0].name
    return ds.apply(tf.data.experimental.prefetch_to_device(device, buffer_size=AUTOTUNE))


def _float_batches(images: np.ndarray, labels: np.ndarray, batch_size: int, training: bool, seed: int,
                   drop_remainder: bool) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """(float [0,1] image, label) batches, cached and (training) reshuffled each epoch, and beside them a
    stream of random draws: fresh each training epoch; for evaluation batch i always gets draw i."""
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    ds = ds.map(lambda x, y: (to_float(x), y), num_parallel_calls=AUTOTUNE).cache()
    if training:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)
    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True) if training \
        else tf.data.Dataset.range(1 << 62)
    return ds, draws


def _blind_key(seed: int, draw: tf.Tensor) -> tf.Tensor:
    """The blind model's stateless key for one batch (offset from the seed the shuffle and affine use)."""
    return tf.stack([tf.cast(seed, tf.int64) + 7919, draw])


def classification_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, *,
                           training: bool, seed: int = 0, augment: Augmentation | None = None,
                           drop_remainder: bool = False, lr_scale: int = 0,
                           recipe: Recipe | None = None) -> tf.data.Dataset:
    """Batches of (float32 [B,S,S,1] in [0,1], int64 [B]); S = 28, or 28 / ``lr_scale``.

    With ``lr_scale`` 2 or 4 the (augmented) digits are area-downsampled by that
    factor: the input of a classifier that reads low-resolution digits directly.
    With a ``recipe`` they are degraded by the blind model instead and brought
    to S the way the export's ResizeTo does; training batches draw fresh
    degradations every epoch, evaluation batches the same ones every time.
    """
    ds, draws = _float_batches(images, labels, batch_size, training, seed, drop_remainder)
    if training and augment is not None:
        ds = tf.data.Dataset.zip(ds, draws).map(
            lambda batch, r: (random_affine(batch[0], tf.stack([tf.cast(seed, tf.int64), r]), augment),
                              batch[1]),
            num_parallel_calls=AUTOTUNE)
    size = 28 // lr_scale if lr_scale else 28
    if recipe is not None:
        ds = tf.data.Dataset.zip(ds, draws).map(
            lambda batch, r: (degrade_blind(batch[0], _blind_key(seed, r), recipe, size)[0], batch[1]),
            num_parallel_calls=AUTOTUNE)
    elif lr_scale:
        ds = ds.map(lambda x, y: (downsample(x, lr_scale, "area"), y), num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE).with_options(_options())


def detection_dataset(images: np.ndarray, no_digit: np.ndarray, batch_size: int, *, training: bool,
                      recipes: list[Recipe], seed: int = 0, digit_weight: float = 1.0) -> tf.data.Dataset:
    """Batches of (float32 [B,28,28,1], no-digit label float32 [B,1], loss weight [B]) for the detector.

    Each batch is degraded by one of ``recipes`` (training: drawn at random; evaluation: every image
    once per recipe, in order), digits and non-digits alike.
    """
    streams = [classification_dataset(images, no_digit, batch_size, training=training, seed=seed + 101 * i,
                                      recipe=recipe) for i, recipe in enumerate(recipes)]
    if training:
        ds = tf.data.Dataset.sample_from_datasets(streams, seed=seed, rerandomize_each_iteration=True)
    else:
        ds = streams[0]
        for stream in streams[1:]:
            ds = ds.concatenate(stream)

    def weighted(x, y):
        label = tf.cast(y, tf.float32)[:, None]
        return x, label, tf.where(label[:, 0] > 0.5, 1.0, digit_weight)

    return ds.map(weighted, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


def random_shift(images: tf.Tensor, key: tf.Tensor, max_shift: int) -> tf.Tensor:
    """Per-image random shift of a [B,H,W,1] batch by whole pixels in [-max_shift, max_shift], zero fill.

    Whole-pixel moves copy pixels exactly, so the HR digits keep MNIST's sharp
    strokes; only where the 4x4 (or 2x2) area cells fall on them changes. Any
    interpolating transform (rotation, zoom) would soften the HR targets and
    teach the generator to draw softer digits (measured: see benchmarks/NOTES.md).
    """
    batch = tf.shape(images)[0]
    shifts = tf.random.stateless_uniform([batch, 2], key, -max_shift, max_shift + 1, dtype=tf.int32)
    shifts = tf.cast(shifts, tf.float32)
    ones, zeros = tf.ones([batch]), tf.zeros([batch])
    transforms = tf.stack([ones, zeros, -shifts[:, 1], zeros, ones, -shifts[:, 0], zeros, zeros], axis=1)
    return transform(images, transforms, "NEAREST")


def _degrade_batch(hr: tf.Tensor, index: tf.Tensor, degradation: Degradation, seed: int) -> tf.Tensor:
    """LR versions of a [B,H,W,1] batch; each example's random draws keyed by its index."""
    if degradation.blur_sigma[1] == 0 and degradation.noise_sigma[1] == 0:
        return downsample(hr, degradation.scale, degradation.method)  # no draws: one batched op
    return tf.map_fn(lambda args: degrade(args[0], args[1], degradation, seed), (hr, index),
                     fn_output_signature=tf.TensorSpec(
                         [hr.shape[1] // degradation.scale, hr.shape[2] // degradation.scale, 1], tf.float32))


def sr_pair_dataset(images: np.ndarray, batch_size: int, *, training: bool,
                    degradation: Degradation = Degradation(), seed: int = 0,
                    labels: np.ndarray | None = None, drop_remainder: bool = False,
                    shift: int = 0, recipe: Recipe | None = None) -> tf.data.Dataset:
    """Batches of (LR, HR) float32 pairs; with ``labels``, of ((LR, HR), label).

    With a blind ``recipe`` the LR image is a draw of that recipe brought to
    28 / ``degradation.scale`` px (as the export's ResizeTo would), and HR the
    clean digit after the recipe's stroke and affine changes; see
    :func:`blind_pairs`.

    Without ``shift`` the LR image of example i depends only on (seed, i), so
    pairs are cached after the first pass and every run sees the same ones.
    With ``shift`` (training only) each epoch moves the HR digits by fresh
    random whole-pixel shifts before degrading them, so the generator sees new
    LR sampling phases of each digit instead of memorising fixed pairs.
    """
    if recipe is not None:
        return blind_pairs(images, batch_size, recipe, 28 // degradation.scale, training=training, seed=seed,
                           labels=labels, drop_remainder=drop_remainder)
    if training and shift > 0:
        return _shifted_pairs(images, batch_size, degradation, seed, labels, drop_remainder, shift)
    ds = tf.data.Dataset.from_tensor_slices(images).enumerate()

    def pair(i, x):
        hr = to_float(x)
        return degrade(hr, i, degradation, seed), hr

    ds = ds.map(pair, num_parallel_calls=AUTOTUNE)
    if labels is not None:
        ds = tf.data.Dataset.zip(ds, tf.data.Dataset.from_tensor_slices(labels))
    ds = ds.cache()
    if training:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE).with_options(_options())


def _shifted_pairs(images, batch_size, degradation, seed, labels, drop_remainder, shift):
    keep_labels = labels is not None
    if not keep_labels:
        labels = np.zeros(len(images), np.int64)  # carried along, dropped at the end
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).enumerate()
    ds = ds.map(lambda i, xy: (i, to_float(xy[0]), xy[1]), num_parallel_calls=AUTOTUNE).cache()
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=AUTOTUNE)
    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def pairs(batch, r):
        index, hr, y = batch
        hr = random_shift(hr, tf.stack([tf.cast(seed, tf.int64), r]), shift)
        lr = _degrade_batch(hr, index, degradation, seed)
        return ((lr, hr), y) if keep_labels else (lr, hr)

    ds = tf.data.Dataset.zip(ds, draws).map(pairs, num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE).with_options(_options())


def blind_pairs(images: np.ndarray, batch_size: int, recipe: Recipe, lr_size: int, *, training: bool,
                seed: int = 0, labels: np.ndarray | None = None, drop_remainder: bool = False) -> tf.data.Dataset:
    """(LR, HR) pairs from the blind degradation model: fresh draws every training epoch,
    the same draws for batch i of an evaluation set every time."""
    keep_labels = labels is not None
    if not keep_labels:
        labels = np.zeros(len(images), np.int64)
    ds, draws = _float_batches(images, labels, batch_size, training, seed, drop_remainder)

    def pairs(batch, r):
        hr, y = batch
        lr, _, target = degrade_blind(hr, _blind_key(seed, r), recipe, lr_size)
        return ((lr, target), y) if keep_labels else (lr, target)

    ds = tf.data.Dataset.zip(ds, draws).map(pairs, num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE).with_options(_options())
