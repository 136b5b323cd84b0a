import hashlib
import subprocess
import sys

import numpy as np
import pytest

from hdsr_tf.data.splits import load_digits, split_indices


def test_mnist_split_sizes_and_disjointness(mnist_ready):
    d = load_digits("mnist", seed=0)
    assert len(d.train[1]) == 54000 and len(d.val[1]) == 6000 and len(d.test[1]) == 10000
    train_idx, val_idx = split_indices(60000, (0.9, 0.1), 0)
    assert len(np.intersect1d(train_idx, val_idx)) == 0
    assert len(np.union1d(train_idx, val_idx)) == 60000


def test_split_depends_on_seed_only():
    a = split_indices(60000, (0.9, 0.1), 7)
    b = split_indices(60000, (0.9, 0.1), 7)
    c = split_indices(60000, (0.9, 0.1), 8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_split_is_identical_in_another_process():
    code = ("import hashlib; from hdsr_tf.data.splits import split_indices;"
            "print(hashlib.md5(split_indices(60000, (0.9, 0.1), 3)[1].tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    here = hashlib.md5(split_indices(60000, (0.9, 0.1), 3)[1].tobytes()).hexdigest()
    assert out == here


def test_limited_takes_the_first_n():
    d = load_digits.__globals__["Digits"](*((np.arange(10), np.arange(10)) for _ in range(3)))
    small = d.limited(4)
    assert small.train[0].tolist() == [0, 1, 2, 3] and small.test[1].tolist() == [0, 1, 2, 3]
    assert d.limited(0) is d


def test_unknown_dataset_and_missing_dida_dir_are_refused():
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_digits("emnist")
    with pytest.raises(ValueError, match="needs --dida-dir"):
        load_digits("combined")
