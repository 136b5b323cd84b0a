"""Files written so that a kill never leaves half of one: atomic text, JSON, models; md5 checksums.

A leaf module: it imports only hdsr_tf.errors, so every layer may use it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from hdsr_tf.errors import InputError


def atomic_write_text(path: str | Path, text: str) -> None:
    """Writes to a temporary file beside ``path``, syncs it, then renames it over ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _jsonable(value):
    try:
        return value.item()  # numpy scalars
    except AttributeError:
        return str(value)


def write_json(path: str | Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n")


def read_json(path: str | Path):
    return json.loads(Path(path).read_text())


def save_model_atomic(model, path: str | Path) -> None:
    """``model.save`` to a temporary name, then rename: readers never see half a model file."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    model.save(tmp)
    os.replace(tmp, path)


def md5(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# The largest image any entry point decodes (predict.py, --number, the serving client, the served
# model's bytes signatures): a 484 KB PNG can hold 20000 x 20000 pixels, gigabytes once decoded.
MAX_PIXELS = 25_000_000


def read_input_file(path: str | Path) -> bytes:
    """A user's input file's bytes; :class:`InputError` with a one-line reason when it is empty or unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}") from None
    if not data:
        raise InputError("empty file")
    return data
