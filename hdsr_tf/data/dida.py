"""DIDA-style digit folders supplied by the user: ``<root>/<0-9>/<image files>``.

DIDA (historical Swedish handwritten digits) cannot be downloaded here, so we
read any folder laid out that way. Images may be JPEG, PNG or BMP, RGB or gray,
of any size, dark ink on light paper; each is normalized the way MNIST was made
(see :mod:`hdsr_tf.data.normalize`). Files that cannot be decoded are skipped
and reported in one warning, because one bad scan must not sink a 250k load.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf

from hdsr_tf.data.normalize import mnist_normalize, to_gray_float
from hdsr_tf.errors import DatasetFolderError, InputError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp"}
CLASSES = [str(d) for d in range(10)]


def list_files(root: str | Path) -> list[tuple[Path, int]]:
    """(path, label) for every image file, sorted, after checking the layout."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetFolderError(f"DIDA folder {root} does not exist or is not a folder")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir())
    if not subdirs:
        raise DatasetFolderError(f"DIDA folder {root} is empty: expected class folders 0..9")
    bad = [p.name for p in subdirs if p.name not in CLASSES]
    if bad:
        raise DatasetFolderError(
            f"DIDA folder {root} has class folders not named 0-9: {', '.join(bad[:5])}")
    files = [(p, int(d.name)) for d in subdirs for p in sorted(d.iterdir())
             if p.is_file() and p.suffix.lower() in EXTENSIONS]
    if not files:
        raise DatasetFolderError(f"DIDA folder {root} holds no PNG, JPEG or BMP files")
    return files


def decode_file(path: Path, invert: bool = True) -> np.ndarray:
    """One file -> uint8 [28,28,1]; raises ValueError when it is not a decodable image."""
    data = path.read_bytes()
    if not data:
        raise InputError("empty file")
    try:
        image = tf.io.decode_image(data, channels=0, expand_animations=False, dtype=tf.uint8)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
        raise InputError(str(e).splitlines()[0]) from None
    gray = to_gray_float(image)
    if min(gray.shape[0], gray.shape[1]) < 1:
        raise InputError("image has no pixels")
    out = mnist_normalize(gray, tf.constant(invert))
    return np.rint(out.numpy() * 255).astype(np.uint8)


def load_arrays(root: str | Path, invert: bool = True, verbose: bool = True):
    """(uint8 [N,28,28,1], int64 [N]) for every readable image under root."""
    from keras.utils import Progbar

    files = list_files(root)
    images, labels, failed = [], [], []
    bar = Progbar(len(files), verbose=1 if verbose and len(files) > 1000 else 0)
    for i, (path, label) in enumerate(files):
        try:
            images.append(decode_file(path, invert))
            labels.append(label)
        except (ValueError, OSError) as e:
            failed.append((path, e))
        bar.update(i + 1)
    if failed:
        shown = "; ".join(f"{p} ({e})" for p, e in failed[:5])
        warnings.warn(f"skipped {len(failed)} unreadable file(s) in {root}: {shown}"
                      + (" ..." if len(failed) > 5 else ""), stacklevel=2)
    if not images:
        raise DatasetFolderError(f"no readable images in {root}")
    return np.stack(images), np.asarray(labels, np.int64)

