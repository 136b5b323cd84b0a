import numpy as np
import pytest
import tensorflow as tf

from hdsr_tf.data import dida
from hdsr_tf.data.normalize import mnist_normalize
from hdsr_tf.data.splits import load_digits
from hdsr_tf.errors import DatasetFolderError


def test_fixture_tree_loads_and_bad_files_are_reported(dida_dir):
    with pytest.warns(UserWarning) as record:
        images, labels = dida.load_arrays(dida_dir, verbose=False)
    assert images.shape == (30, 28, 28, 1) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [3] * 10
    message = str(record[0].message)
    assert "skipped 2 unreadable" in message
    assert "corrupt.jpg" in message and "notes.png" in message


def test_normalized_digits_look_like_mnist(dida_dir):
    with pytest.warns(UserWarning):
        images, _ = dida.load_arrays(dida_dir, verbose=False)
    x = images[..., 0].astype(np.float32) / 255
    for img in x:
        rows, cols = np.nonzero(img > 0.25)
        assert rows.max() - rows.min() < 21 and cols.max() - cols.min() < 21  # fits the 20x20 box
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) >= 18  # and fills it
        yy, xx = np.mgrid[:28, :28]
        cy, cx = (img * yy).sum() / img.sum(), (img * xx).sum() / img.sum()
        assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0  # centre of mass at the centre
        assert img[0].max() == 0 and img[:, 0].max() == 0  # white ink on black: border is background


def test_blank_image_normalizes_to_zeros():
    out = mnist_normalize(tf.ones([40, 30, 1]), tf.constant(True))
    assert out.shape == (28, 28, 1) and float(tf.reduce_max(out)) == 0.0


def test_array_types(dida_dir):
    with pytest.warns(UserWarning):
        images, labels = dida.load_arrays(dida_dir)
    assert images.dtype == np.uint8 and images.shape[1:] == (28, 28, 1) and labels.dtype == np.int64


def test_combined_adds_dida_to_each_mnist_split(dida_dir, mnist_ready):
    with pytest.warns(UserWarning):
        d = load_digits("combined", dida_dir, seed=0)
    assert len(d.train[1]) == 54000 + 24 and len(d.val[1]) == 6000 + 3 and len(d.test[1]) == 10000 + 3


def test_missing_root(tmp_path):
    with pytest.raises(DatasetFolderError, match="does not exist"):
        dida.list_files(tmp_path / "nope")


def test_empty_root(tmp_path):
    with pytest.raises(DatasetFolderError, match="is empty"):
        dida.list_files(tmp_path)


def test_wrong_class_folders(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "1").mkdir()
    with pytest.raises(DatasetFolderError, match="not named 0-9: cats"):
        dida.list_files(tmp_path)


def test_folders_without_images(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "a.txt").write_text("x")
    with pytest.raises(DatasetFolderError, match="no PNG, JPEG or BMP"):
        dida.list_files(tmp_path)
