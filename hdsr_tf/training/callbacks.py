"""Callbacks that make unattended runs safe: resume, NaN guard, atomic saves.

Keras' BackupAndRestore overwrites its weights file in place and, when that file
is damaged, quietly falls back or starts over. Ours writes every checkpoint to
a temporary file and renames it (a kill never leaves half a file), records the
checkpoint's md5 beside its epoch, and refuses to train over a checkpoint whose
md5 no longer matches. Epochs whose loss went NaN or exploded are never saved.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import keras
import numpy as np

from hdsr_tf.errors import CorruptCheckpointError


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_model_atomic(model: keras.Model, path: str | Path) -> None:
    """model.save to a temporary name, then rename: readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    model.save(tmp)
    os.replace(tmp, path)


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _finite(logs: dict | None, limit: float) -> bool:
    for key, value in (logs or {}).items():
        if "loss" in key:
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(v) or abs(v) > limit:
                return False
    return True


class NaNGuard(keras.callbacks.Callback):
    """Stops training at the first batch whose loss is NaN, inf or above ``limit``."""

    def __init__(self, limit: float = 1e6):
        super().__init__()
        self.limit = limit
        self.triggered: str | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.triggered is None and not _finite(logs, self.limit):
            losses = {k: float(v) for k, v in (logs or {}).items() if "loss" in k}
            self.triggered = f"epoch {self._epoch + 1}, batch {batch + 1}: {losses}"
            print(f"\n[NaNGuard] non-finite or exploding loss at {self.triggered}; stopping.", flush=True)
            self.model.stop_training = True


class ResumeCheckpoint(keras.callbacks.Callback):
    """Saves the full training state (weights and optimizer slots) after every
    good epoch, and restores it before ``fit`` so a rerun continues.

    ``restore()`` returns the epoch to pass to ``fit(initial_epoch=...)``.
    ``build_optimizers`` must create every optimizer's slots so the saved state
    has somewhere to load into.
    """

    def __init__(self, directory: str | Path, guard: NaNGuard | None = None):
        super().__init__()
        self.directory = Path(directory)
        self.guard = guard
        self.meta_path = self.directory / "state.json"

    # -- restore ---------------------------------------------------------
    def saved_epoch(self) -> int:
        if not self.meta_path.exists():
            return 0
        try:
            return int(json.loads(self.meta_path.read_text())["epoch"])
        except (ValueError, KeyError, json.JSONDecodeError) as e:
            raise CorruptCheckpointError(f"checkpoint metadata {self.meta_path} is unreadable ({e}); "
                                         "delete the folder or pass --restart") from None

    def restore(self, model: keras.Model, build_optimizers=None) -> int:
        epoch = self.saved_epoch()
        if epoch == 0:
            return 0
        meta = json.loads(self.meta_path.read_text())
        weights = self.directory / meta.get("file", "")
        if not weights.is_file():
            raise CorruptCheckpointError(f"{self.meta_path} names epoch {epoch} but {weights} "
                                         "is missing; delete the folder or pass --restart")
        found = _md5(weights)
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

    # -- save ------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        if (self.guard is not None and self.guard.triggered) or not _finite(logs, 1e6):
            print(f"[resume] epoch {epoch + 1} had a bad loss: keeping the previous checkpoint", flush=True)
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        # Each epoch gets its own file, named in state.json only once complete:
        # a kill at any point leaves state.json naming a whole, matching file.
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        tmp = self.directory / f"tmp-{name}"
        self.model.save_weights(tmp, overwrite=True)
        md5 = _md5(tmp)
        os.replace(tmp, self.directory / name)
        atomic_write_text(self.meta_path, json.dumps({"epoch": epoch + 1, "file": name, "md5": md5}))
        for old in self.directory.glob("*.weights.h5"):
            if old.name != name:
                old.unlink(missing_ok=True)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping whose patience count, best value and best weights survive a killed run.

    Keras keeps them in memory only, so a resumed run would restart its
    patience and forget the best epoch's weights. After every epoch the state
    goes to ``directory`` stamped with the epoch number; a rerun reloads it only
    when it matches the checkpoint being resumed (``resume_from``), and says so
    when it does not.
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
            state = json.loads(self.state_path.read_text())
        except json.JSONDecodeError:
            state = {}
        if state.get("epoch") != self.resume_epoch:
            print(f"[resume] early-stopping state is from epoch {state.get('epoch')}, the checkpoint from "
                  f"epoch {self.resume_epoch}: patience starts afresh", flush=True)
            return
        if self.restore_best_weights and state.get("weights_md5"):
            if _md5(self.weights_path) != state["weights_md5"]:
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
                os.replace(tmp, self.weights_path)
            state["weights_md5"] = _md5(self.weights_path)
        atomic_write_text(self.state_path, json.dumps(state))


class SampleGrid(keras.callbacks.Callback):
    """Writes LR | bicubic | SR | HR for a fixed batch after every epoch: the quickest
    way to see whether a GAN is learning strokes or artefacts."""

    def __init__(self, lr_images, hr_images, directory: str | Path, generator_attr: str = "generator"):
        super().__init__()
        self.lr = lr_images
        self.hr = hr_images
        self.directory = Path(directory)
        self.generator_attr = generator_attr

    def on_epoch_end(self, epoch, logs=None):
        import numpy as np
        import tensorflow as tf

        from hdsr_tf.evaluation.plots import plot_sr_grid

        generator = getattr(self.model, self.generator_attr)
        sr = np.clip(generator.predict(self.lr, verbose=0), 0, 1)
        size = self.hr.shape[1:3]
        lr_big = tf.image.resize(self.lr, size, method="nearest").numpy()
        bicubic = np.clip(tf.image.resize(self.lr, size, method="bicubic").numpy(), 0, 1)
        self.directory.mkdir(parents=True, exist_ok=True)
        plot_sr_grid({"LR": lr_big, "bicubic": bicubic, "SR": sr, "HR": self.hr},
                     self.directory / f"epoch_{epoch + 1:03d}.png", f"epoch {epoch + 1}")
