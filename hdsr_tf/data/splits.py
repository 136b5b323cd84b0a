"""Which digits a job trains, validates and tests on: MNIST, DIDA or both.

The 9:1 train/validation split is a seeded permutation of the 60,000 MNIST
training images (numpy's PCG64 seeded from the config), so it is identical
across runs, processes and machines. The test set is never part of it.
DIDA has no official test set; a user folder is split 8:1:1 with the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hdsr_tf.data import dida, mnist
from hdsr_tf.errors import UsageError

DATASETS = ("mnist", "dida", "combined")


@dataclass
class Digits:
    """uint8 [N,28,28,1] images and int64 [N] labels for each split."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]

    def limited(self, n: int) -> "Digits":
        """The first ``n`` digits of each split (all when n is 0): for quick runs and tests."""
        if n <= 0:
            return self
        return Digits(*((x[:n], y[:n]) for x, y in (self.train, self.val, self.test)))


def split_indices(n: int, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """A seeded permutation of range(n) cut by ``fractions`` (the last part takes the rest)."""
    order = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    cuts = np.cumsum([int(round(f * n)) for f in fractions[:-1]])
    return np.split(order, cuts)


def _take(arrays, idx):
    return arrays[0][idx], arrays[1][idx]


def mnist_digits(seed: int = 0, val_fraction: float = 0.1, data_dir=None) -> Digits:
    train_all = mnist.load_arrays("train", data_dir)
    test = mnist.load_arrays("test", data_dir)
    train_idx, val_idx = split_indices(len(train_all[1]), (1 - val_fraction, val_fraction), seed)
    return Digits(_take(train_all, train_idx), _take(train_all, val_idx), test)


def dida_digits(root, seed: int = 0) -> Digits:
    arrays = dida.load_arrays(root)
    parts = split_indices(len(arrays[1]), (0.8, 0.1, 0.1), seed)
    return Digits(*(_take(arrays, p) for p in parts))


def check_dataset(dataset: str, dida_dir=None) -> None:
    """Fails with a clear message, before anything loads, on a bad --dataset or --dida-dir."""
    if dataset not in DATASETS:
        raise UsageError(f"--dataset must be one of {', '.join(DATASETS)}, not {dataset!r}")
    if dataset in ("dida", "combined"):
        if not dida_dir:
            raise UsageError(f"--dataset {dataset} needs --dida-dir")
        dida.list_files(dida_dir)  # a missing, empty or misnamed folder


def load_digits(dataset: str = "mnist", dida_dir=None, seed: int = 0, data_dir=None) -> Digits:
    """The splits for ``dataset`` in DATASETS; 'combined' concatenates MNIST and DIDA per split."""
    check_dataset(dataset, dida_dir)
    if dataset == "mnist":
        return mnist_digits(seed, data_dir=data_dir)
    if dataset == "dida":
        return dida_digits(dida_dir, seed)
    a, b = mnist_digits(seed, data_dir=data_dir), dida_digits(dida_dir, seed)

    def cat(x, y):
        return np.concatenate([x[0], y[0]]), np.concatenate([x[1], y[1]])

    return Digits(cat(a.train, b.train), cat(a.val, b.val), cat(a.test, b.test))


def recognizer_input(images: np.ndarray, lr_scale: int = 0) -> np.ndarray:
    """Test digits as a model trained with ``lr_scale`` reads them: uint8 28x28, or float32
    area-downsampled by 2 or 4 (the direct low-resolution rival's input)."""
    if not lr_scale:
        return images
    from hdsr_tf.data.degrade import downsample

    return downsample(images.astype(np.float32) / 255.0, lr_scale, "area").numpy()
