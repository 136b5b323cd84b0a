"""TF Serving's folder layout: ``<base>/<version>/`` written atomically, versions numbered upward."""

from __future__ import annotations

import functools
import os
import re
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from hdsr_tf.errors import MissingFileError, VersionExistsError

LABELS = [str(d) for d in range(10)]


def _versions(base: Path) -> list[tuple[int, Path]]:
    return sorted((int(p.name), p) for p in base.iterdir() if p.is_dir() and re.fullmatch(r"\d+", p.name)) \
        if base.exists() else []


def next_version(base: Path) -> int:
    return max((v for v, _ in _versions(Path(base))), default=0) + 1


def latest_version(base: Path) -> Path:
    """The highest numbered folder under ``base`` that holds a SavedModel."""
    base = Path(base)
    if not base.is_dir():
        raise MissingFileError(f"no exported models under {base}")
    versions = [p for _, p in _versions(base) if (p / "saved_model.pb").exists()]
    if not versions:
        raise MissingFileError(f"no exported version (a numbered folder with saved_model.pb) under {base}")
    return versions[-1]


@functools.lru_cache(maxsize=8)
def _load(path: str, written: int):
    return tf.saved_model.load(path)


def load_version(path: str | Path):
    """``tf.saved_model.load`` once per process for one version folder: loading the served version takes
    seconds, and the main report reads it four ways (its drawing and reading signatures, numbers, the
    robustness summary). A folder written again since is loaded again."""
    path = Path(path).resolve()
    return _load(str(path), (path / "saved_model.pb").stat().st_mtime_ns)


def new_version(base_dir: str | Path, version: int | None) -> tuple[Path, int]:
    """The model base folder (created) and the version to write: the next free integer unless given; a
    version that exists already is refused, never overwritten."""
    base = Path(base_dir)
    base.mkdir(parents=True, exist_ok=True)
    version = next_version(base) if version is None else int(version)
    if (base / str(version)).exists():
        raise VersionExistsError(f"{base / str(version)} already exists; choose another --version")
    return base, version


def write_archive(archive: keras.export.ExportArchive, base: Path, version: int) -> Path:
    """Writes ``archive`` to ``base/<version>`` with its labels, atomically: everything goes to a hidden
    folder beside the target, renamed only when complete, so a server watching ``base`` never sees half
    a version."""
    target = base / str(version)
    tmp = base / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        archive.write_out(str(tmp), verbose=False)
        (tmp / "assets").mkdir(exist_ok=True)
        (tmp / "assets" / "labels.txt").write_text("\n".join(LABELS) + "\n")
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
