"""The one way a training job runs: run directory, seed, precision, resume, callbacks, fit, stop, save.

Each job (classifier.py, super_resolution.py, hybrid_finetune.py) only says
what to train: it builds a :class:`Job` (a compiled model, its data, its
epochs, what to write at the end) and hands it to :meth:`Runner.run`. The
runner gives every job the same behaviour:

- the run directory holds the recorded config; a rerun with the same settings
  resumes, other settings are refused, a finished stage is skipped
  (:mod:`hdsr_tf.training.resume` holds all of that);
- the seed is set once; models train in the ``precision`` policy and are
  saved as float32 copies, atomically;
- callbacks: NaN/explosion stop, per-epoch checkpoint, resumable early
  stopping, CSV log, TensorBoard, Keras' progress bar;
- under a multi-worker strategy only the chief writes the run directory
  (others write beside it, see :func:`hdsr_tf.training.distribute.output_dir`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import keras
import tensorflow as tf

from hdsr_tf.config import PRECISIONS, to_dict
from hdsr_tf.errors import TrainingStopped, UsageError
from hdsr_tf.io import save_model_atomic
from hdsr_tf.models.precision import with_dtype_policy
from hdsr_tf.training.distribute import get_strategy, output_dir, prepare_fit
from hdsr_tf.training.resume import (
    ResumableEarlyStopping,
    ResumeCheckpoint,
    _losses_finite,
    finished_summary,
    mark_finished,
    open_run_dir,
)


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
        if self.triggered is None and not _losses_finite(logs, self.limit):
            losses = {k: float(v) for k, v in (logs or {}).items() if "loss" in k}
            self.triggered = f"epoch {self._epoch + 1}, batch {batch + 1}: {losses}"
            print(f"\n[NaNGuard] non-finite or exploding loss at {self.triggered}; stopping.", flush=True)
            self.model.stop_training = True


@dataclass
class Job:
    """One ``fit()`` of a training job, as the runner needs it."""

    model: keras.Model  # compiled: what fit() trains and the checkpoint holds
    train: tf.data.Dataset
    val: tf.data.Dataset | None
    epochs: int
    finish: Callable[[Path, keras.callbacks.History], dict]  # writes the outputs; returns the summary
    build_optimizers: Callable[[], None] | None = None  # creates optimizer slots before a restore
    callbacks: list = field(default_factory=list)
    early_stopping: dict | None = None  # ResumableEarlyStopping's keyword arguments
    hint: str = "lower the learning rate"  # what to change when a loss goes NaN


class Runner:
    """Opens the run directory for ``config`` and runs jobs in it (one per stage)."""

    def __init__(self, config, strategy: tf.distribute.Strategy | None = None, verbose: int = 1):
        if config.precision not in PRECISIONS:
            raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, not {config.precision!r}")
        self.config = config
        self.strategy = strategy or get_strategy(config.strategy)
        self.dir = open_run_dir(output_dir(config.out_dir, self.strategy), to_dict(config), config.restart)
        self.verbose = verbose
        keras.utils.set_random_seed(config.seed)

    # ------------------------------------------------------------ models
    def for_training(self, model: keras.Model) -> keras.Model:
        """``model`` computing in the run's precision (the same model when that is float32)."""
        return with_dtype_policy(model, self.config.precision)

    @staticmethod
    def save_model(model: keras.Model, path: Path) -> Path:
        """A float32 copy of ``model``, written atomically: shipped models never compute in a mixed policy."""
        save_model_atomic(with_dtype_policy(model, "float32"), path)
        return path

    # ------------------------------------------------------------ running
    def run(self, build: Callable[[], Job], stage: str = "") -> dict:
        """Builds the job (unless ``stage`` already finished), trains or resumes it, and finishes it."""
        stage_dir = self.dir / stage
        label = stage or self.dir.name
        done = finished_summary(stage_dir)
        if done is not None:
            print(f"[{label}] already finished in {stage_dir}: skipped (--restart trains it again)", flush=True)
            return done
        stage_dir.mkdir(parents=True, exist_ok=True)
        with self.strategy.scope():
            job = build()
        guard = NaNGuard()
        checkpoint = ResumeCheckpoint(stage_dir / "checkpoint", lambda: guard.triggered is not None)
        initial_epoch = checkpoint.restore(job.model, job.build_optimizers)
        callbacks = [guard, checkpoint,
                     keras.callbacks.CSVLogger(str(stage_dir / "log.csv"), append=initial_epoch > 0),
                     keras.callbacks.TensorBoard(str(stage_dir / "tensorboard"), write_graph=False),
                     *job.callbacks]
        if job.early_stopping:
            stopping = ResumableEarlyStopping(stage_dir / "checkpoint", verbose=1, **job.early_stopping)
            stopping.resume_from(initial_epoch)
            callbacks.append(stopping)
        prepare_fit(job.model, job.train, self.strategy)
        print(f"[{label}] epochs {initial_epoch + 1} to {job.epochs} into {stage_dir}", flush=True)
        start = time.time()
        history = job.model.fit(job.train, validation_data=job.val, epochs=job.epochs, initial_epoch=initial_epoch,
                                callbacks=callbacks, verbose=self.verbose)
        if guard.triggered:
            raise TrainingStopped(f"[{label}] loss became non-finite or exploded at {guard.triggered}. The last "
                                  f"good checkpoint (epoch {checkpoint.saved_epoch()}) is kept in "
                                  f"{stage_dir / 'checkpoint'}; {job.hint} and rerun to resume from it")
        epochs_run = len(history.epoch)
        summary = {"train_seconds_this_session": round(time.time() - start, 1),
                   "epochs_this_session": epochs_run, "final_epoch": initial_epoch + epochs_run,
                   **job.finish(stage_dir, history)}
        mark_finished(stage_dir, summary)
        return summary


def warmup_cosine(peak: float, steps_per_epoch: int, epochs: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """Every job's learning rate: from peak/10 up to ``peak`` over the first epoch (a quarter of the run at
    most), then a cosine down to zero at the last step."""
    total = steps_per_epoch * epochs
    warmup = min(steps_per_epoch, total // 4)
    return keras.optimizers.schedules.CosineDecay(peak / 10, decay_steps=max(1, total - warmup), alpha=0.0,
                                                  warmup_target=peak, warmup_steps=warmup)
