"""One output directory per run: config, logs, checkpoints, figures, metrics.

Rerunning the same command resumes the run in its directory; a different
config in the same directory is refused (it would mix two experiments), and a
finished run is not trained again unless asked with ``restart``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hdsr_tf.config import LEGACY_VALUES
from hdsr_tf.errors import RunDirError
from hdsr_tf.training.callbacks import atomic_write_text

# Changing these between a run and its resume is allowed (they extend or
# re-route the run without changing what it learns so far).
RESUMABLE_CHANGES = {"epochs", "psnr_epochs", "gan_epochs", "stage", "strategy", "out_dir", "restart", "verbose"}


def check_writable(path: Path) -> None:
    """Fails up front, before any data loads or training starts."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise RunDirError(f"output directory {path} is not writable: {e.strerror or e}") from None


def prepare(out_dir: str | Path, config: dict, restart: bool = False) -> Path:
    """Creates or reopens ``out_dir`` for ``config``; returns it as a Path.

    A setting missing from a saved config (the run predates it) counts as the
    value that reproduces the old behaviour (``config.LEGACY_VALUES``), so a
    newer version can still resume older runs.
    """
    run = Path(out_dir)
    if restart and run.exists():
        for child in run.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    check_writable(run)
    saved = run / "config.json"
    if saved.exists():
        try:
            old = json.loads(saved.read_text())
        except json.JSONDecodeError:
            raise RunDirError(f"{saved} is unreadable; pass --restart to start over") from None
        old = {**{k: v for k, v in LEGACY_VALUES.items() if k in config}, **old}
        differ = sorted(k for k in set(old) | set(config)
                        if k not in RESUMABLE_CHANGES and old.get(k) != config.get(k))
        if differ:
            detail = ", ".join(f"{k}: {old.get(k)!r} -> {config.get(k)!r}" for k in differ)
            raise RunDirError(f"{run} holds a run with another config ({detail}); "
                              "pass --restart to replace it or choose another --out")
    atomic_write_text(saved, json.dumps(config, indent=2, sort_keys=True))
    return run


def is_finished(run: Path) -> bool:
    return (run / "FINISHED").exists()


def mark_finished(run: Path, summary: dict) -> None:
    atomic_write_text(run / "FINISHED", json.dumps(summary, indent=2))


def write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=_jsonable))


def _jsonable(value):
    try:
        return value.item()
    except AttributeError:
        return str(value)
