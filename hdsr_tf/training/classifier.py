"""Training the digit recognizer: data, optimizer, callbacks, fit, report.

``train_recognizer(config)`` is the whole job behind scripts/train_cnn.py. It
resumes from the run directory's checkpoint when there is one, stops cleanly on
a NaN loss, and ends by writing the model and its evaluation report.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from hdsr_tf.config import CNNConfig, to_dict
from hdsr_tf.data.degrade import downsample
from hdsr_tf.data.pipelines import Augmentation, classification_dataset, prefetch_to_device
from hdsr_tf.data.splits import load_digits
from hdsr_tf.errors import TrainingStopped
from hdsr_tf.models.cnn import build_lowres_recognizer, build_recognizer
from hdsr_tf.training import run_dir
from hdsr_tf.training.callbacks import NaNGuard, ResumableEarlyStopping, ResumeCheckpoint, save_model_atomic
from hdsr_tf.training.distribute import get_strategy, output_dir, prepare_fit

MODEL_FILE = "recognizer.keras"


def validate(config: CNNConfig) -> None:
    if config.optimizer not in ("adam", "sgd"):
        raise ValueError(f"--optimizer must be adam or sgd, not {config.optimizer!r}")
    if config.schedule not in ("cosine", "step", "constant"):
        raise ValueError(f"--schedule must be cosine, step or constant, not {config.schedule!r}")
    if config.lr_scale not in (0, 2, 4):
        raise ValueError(f"--lr-scale must be 0, 2 or 4, not {config.lr_scale}")
    if config.batch_size < 1 or config.epochs < 1:
        raise ValueError("--batch-size and --epochs must be positive")
    if config.dataset in ("dida", "combined"):
        from hdsr_tf.data.dida import list_files

        if not config.dida_dir:
            raise ValueError(f"--dataset {config.dataset} needs --dida-dir")
        list_files(config.dida_dir)  # raises a clear error for a missing/empty/wrong folder


def learning_rate(config: CNNConfig, steps_per_epoch: int):
    total = steps_per_epoch * config.epochs
    if config.schedule == "constant":
        return config.learning_rate
    if config.schedule == "step":
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            [int(total * 0.5), int(total * 0.75)],
            [config.learning_rate, config.learning_rate * 0.1, config.learning_rate * 0.01])
    warmup = min(steps_per_epoch, total // 4)
    return keras.optimizers.schedules.CosineDecay(
        config.learning_rate / 10, decay_steps=max(1, total - warmup), alpha=0.0,
        warmup_target=config.learning_rate, warmup_steps=warmup)


def make_optimizer(config: CNNConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    lr = learning_rate(config, steps_per_epoch)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=config.momentum, nesterov=config.nesterov)
    return keras.optimizers.Adam(lr)


def train_recognizer(config: CNNConfig, strategy=None, verbose: int = 1) -> dict:
    """Trains (or resumes) and evaluates; returns the test metrics."""
    validate(config)
    strategy = strategy or get_strategy(config.strategy)
    run = run_dir.prepare(output_dir(config.out_dir, strategy), to_dict(config), config.restart)
    if run_dir.is_finished(run):
        raise run_dir.RunDirError(f"{run} already holds a finished run; pass --restart to train again")
    keras.utils.set_random_seed(config.seed)
    keras.mixed_precision.set_global_policy("mixed_float16" if config.mixed_precision else "float32")

    digits = load_digits(config.dataset, config.dida_dir or None, config.seed).limited(config.limit)
    augment = Augmentation() if config.augment else None
    train = classification_dataset(*digits.train, config.batch_size, training=True,
                                   seed=config.seed, augment=augment, lr_scale=config.lr_scale)
    val = classification_dataset(*digits.val, 512, training=False, lr_scale=config.lr_scale)
    if strategy.num_replicas_in_sync == 1:
        train, val = prefetch_to_device(train), prefetch_to_device(val)  # no-op without a GPU
    steps = int(np.ceil(len(digits.train[1]) / config.batch_size))

    with strategy.scope():
        model = (build_lowres_recognizer(28 // config.lr_scale) if config.lr_scale
                 else build_recognizer(dropout=config.dropout))
        model.compile(optimizer=make_optimizer(config, steps),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    guard = NaNGuard()
    checkpoint = ResumeCheckpoint(run / "checkpoint", guard)
    initial_epoch = checkpoint.restore(model)
    callbacks = [
        guard,
        checkpoint,
        keras.callbacks.CSVLogger(str(run / "log.csv"), append=initial_epoch > 0),
        keras.callbacks.TensorBoard(str(run / "tensorboard"), write_graph=False),
    ]
    if config.early_stopping_patience > 0:
        stopping = ResumableEarlyStopping(
            run / "checkpoint", monitor=config.early_stopping_monitor, patience=config.early_stopping_patience,
            restore_best_weights=config.restore_best_weights, verbose=1)
        stopping.resume_from(initial_epoch)
        callbacks.append(stopping)

    if initial_epoch >= config.epochs:
        print(f"[resume] checkpoint already at epoch {initial_epoch} of {config.epochs}: evaluating")
    prepare_fit(model, train, strategy)
    start = time.time()
    history = model.fit(train, validation_data=val, epochs=config.epochs, initial_epoch=initial_epoch,
                        callbacks=callbacks, verbose=verbose)
    seconds = time.time() - start
    if guard.triggered:
        raise TrainingStopped(f"loss became non-finite at {guard.triggered}. The last good checkpoint "
                              f"(epoch {checkpoint.saved_epoch()}) is kept in {run / 'checkpoint'}; "
                              "lower --learning-rate and rerun to resume from it")

    from hdsr_tf.evaluation.report import write_classifier_report

    save_model_atomic(model, run / MODEL_FILE)
    epochs_run = len(history.history.get("loss", []))
    test_images = digits.test[0]
    if config.lr_scale:
        test_images = downsample(tf.constant(test_images, tf.float32) / 255.0, config.lr_scale, "area").numpy()
    metrics = write_classifier_report(
        model, test_images, digits.test[1], run, history_csv=run / "log.csv", name=f"{config.dataset} test",
        extra={"train_seconds_this_session": round(seconds, 1), "epochs_this_session": epochs_run,
               "final_epoch": initial_epoch + epochs_run, "config": to_dict(config)})
    run_dir.mark_finished(run, {"accuracy": metrics["accuracy"]})
    print(f"model: {run / MODEL_FILE}\nreport: {run}")
    return metrics
