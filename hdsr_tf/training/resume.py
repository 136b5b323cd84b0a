"""Everything that lets a rerun of the same command continue where a run stopped.

A run directory remembers four things, and this module is the one place that
writes and reads them:

- ``config.json``: the settings of the run. A rerun with other settings is
  refused (it would mix two experiments), except for the few in
  ``RESUMABLE_CHANGES`` that only extend or re-route it.
- ``<stage>/checkpoint/``: after every good epoch, the whole training state
  (model weights and optimizer slots) in a new file, renamed into place and
  recorded with its md5 in ``state.json``. Keras' BackupAndRestore overwrites
  one file in place and quietly starts over when it is damaged; we refuse to
  train over a checkpoint whose md5 no longer matches.
- the early-stopping state (patience count, best value, best weights), stamped
  with its epoch, so a resumed run neither restarts its patience nor forgets
  its best epoch.
- ``<stage>/FINISHED``: the finished run's summary; a rerun skips that stage.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np

from hdsr_tf.errors import CorruptCheckpointError, RunDirError
from hdsr_tf.io import atomic_write_text, md5, read_json, write_json

RESUMABLE_CHANGES = {"epochs", "psnr_epochs", "gan_epochs", "stage", "strategy", "out_dir", "restart"}
FINISHED = "FINISHED"
CONFIG_FILE = "config.json"  # every run directory holds the config that made it


# ------------------------------------------------------------------ run directory
def check_writable(path: Path) -> None:
    """Fails up front, before any data loads or training starts."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise RunDirError(f"output directory {path} is not writable: {e.strerror or e}") from None


def open_run_dir(out_dir: str | Path, config: dict, restart: bool = False) -> Path:
    """Creates or reopens ``out_dir`` for ``config`` (emptied first with ``restart``)."""
    run = Path(out_dir)
    if restart and run.exists():
        for child in run.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    check_writable(run)
    saved = run / CONFIG_FILE
    if saved.exists():
        try:
            old = read_json(saved)
        except json.JSONDecodeError:
            raise RunDirError(f"{saved} is unreadable; pass --restart to start over") from None
        differ = sorted(k for k in set(old) | set(config)
                        if k not in RESUMABLE_CHANGES and old.get(k) != config.get(k))
        if differ:
            detail = ", ".join(f"{k}: {old.get(k)!r} -> {config.get(k)!r}" for k in differ)
            raise RunDirError(f"{run} holds a run with another config ({detail}); "
                              "pass --restart to replace it or choose another --out-dir")
    write_json(saved, config)
    return run


def finished_summary(stage_dir: Path) -> dict | None:
    """The recorded summary of a finished stage, or None when it has not finished."""
    path = stage_dir / FINISHED
    return read_json(path) if path.exists() else None


def mark_finished(stage_dir: Path, summary: dict) -> None:
    write_json(stage_dir / FINISHED, summary)


# ------------------------------------------------------------------ checkpoint
def _losses_finite(logs: dict | None, limit: float) -> bool:
    for key, value in (logs or {}).items():
        if "loss" in key:
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            if not np.isfinite(v) or abs(v) > limit:
                return False
    return True


class ResumeCheckpoint(keras.callbacks.Callback):
    """Saves the training state after every good epoch; ``restore()`` loads it before ``fit``.

    ``restore()`` returns the epoch to pass to ``fit(initial_epoch=...)``. An
    epoch whose logged loss is not finite (or ``bad_epoch()`` says so) is not saved.
    """

    def __init__(self, directory: str | Path, bad_epoch=lambda: False, loss_limit: float = 1e6):
        super().__init__()
        self.directory = Path(directory)
        self.bad_epoch = bad_epoch
        self.loss_limit = loss_limit
        self.meta_path = self.directory / "state.json"

    def saved_epoch(self) -> int:
        if not self.meta_path.exists():
            return 0
        try:
            return int(read_json(self.meta_path)["epoch"])
        except (ValueError, KeyError, json.JSONDecodeError) as e:
            raise CorruptCheckpointError(f"checkpoint metadata {self.meta_path} is unreadable ({e}); "
                                         "delete the folder or pass --restart") from None

    def restore(self, model: keras.Model, build_optimizers=None) -> int:
        """Loads the last checkpoint into ``model``; ``build_optimizers`` creates the optimizer slots first."""
        epoch = self.saved_epoch()
        if epoch == 0:
            return 0
        meta = read_json(self.meta_path)
        weights = self.directory / meta.get("file", "")
        if not weights.is_file():
            raise CorruptCheckpointError(f"{self.meta_path} names epoch {epoch} but {weights} "
                                         "is missing; delete the folder or pass --restart")
        found = md5(weights)
        if found != meta.get("md5"):
            raise CorruptCheckpointError(
                f"checkpoint {weights} is corrupted: md5 {found}, recorded {meta.get('md5')}. "
                "Refusing to train over it; delete the folder or pass --restart")
        if build_optimizers is not None:
            build_optimizers()
        elif getattr(model, "optimizer", None) is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        try:
            model.load_weights(weights)
        except Exception as e:  # h5py/keras raise many kinds
            raise CorruptCheckpointError(f"cannot load checkpoint {weights}: {e}") from None
        print(f"[resume] restored {weights} after epoch {epoch}", flush=True)
        return epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.bad_epoch() or not _losses_finite(logs, self.loss_limit):
            print(f"[resume] epoch {epoch + 1} had a bad loss: keeping the previous checkpoint", flush=True)
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        # Each epoch gets its own file, named in state.json only once complete:
        # a kill at any point leaves state.json naming a whole, matching file.
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        tmp = self.directory / f"tmp-{name}"
        self.model.save_weights(tmp, overwrite=True)
        digest = md5(tmp)
        tmp.replace(self.directory / name)
        atomic_write_text(self.meta_path, json.dumps({"epoch": epoch + 1, "file": name, "md5": digest}))
        for old in self.directory.glob("*.weights.h5"):
            if old.name != name:
                old.unlink(missing_ok=True)


# ------------------------------------------------------------------ early stopping
class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping whose patience count, best value and best weights survive a killed run.

    After every epoch the state goes to ``directory`` stamped with the epoch
    number; a rerun reloads it only when it matches the checkpoint being
    resumed (``resume_from``), and says so when it does not.
    """

    def __init__(self, directory: str | Path, **kwargs):
        super().__init__(**kwargs)
        self.directory = Path(directory)
        self.state_path = self.directory / "early_stopping.json"
        self.weights_path = self.directory / "early_stopping_best.npz"
        self.resume_epoch = 0

    def resume_from(self, epoch: int) -> None:
        self.resume_epoch = epoch

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if not self.resume_epoch or not self.state_path.exists():
            return
        try:
            state = read_json(self.state_path)
        except json.JSONDecodeError:
            state = {}
        if state.get("epoch") != self.resume_epoch:
            print(f"[resume] early-stopping state is from epoch {state.get('epoch')}, the checkpoint from "
                  f"epoch {self.resume_epoch}: patience starts afresh", flush=True)
            return
        if self.restore_best_weights and state.get("weights_md5"):
            if md5(self.weights_path) != state["weights_md5"]:
                raise CorruptCheckpointError(f"{self.weights_path} does not match its recorded md5; "
                                             "delete the checkpoint folder or pass --restart")
            with np.load(self.weights_path, allow_pickle=False) as saved:
                self.best_weights = [saved[f"w{i}"] for i in range(len(saved.files))]
        self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
        print(f"[resume] early stopping: best {self.monitor} {self.best:.5g} at epoch {self.best_epoch + 1}, "
              f"{self.wait} epoch(s) without improvement", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.best is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        state = {"epoch": epoch + 1, "wait": self.wait, "best": float(self.best), "best_epoch": self.best_epoch}
        if self.restore_best_weights and self.best_weights is not None:
            if self.best_epoch == epoch or not self.weights_path.exists():
                tmp = self.directory / "tmp-early_stopping_best.npz"
                np.savez(tmp, **{f"w{i}": w for i, w in enumerate(self.best_weights)})
                tmp.replace(self.weights_path)
            state["weights_md5"] = md5(self.weights_path)
        atomic_write_text(self.state_path, json.dumps(state))
