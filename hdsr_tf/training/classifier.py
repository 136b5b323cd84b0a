"""Training the digit recognizer (or the direct low-resolution rival): data, model, optimizer.

``train_recognizer(config)`` is the job behind scripts/train_cnn.py; the
:class:`~hdsr_tf.training.runner.Runner` does the rest (resume, callbacks,
saving). It ends on validation figures: the script then measures the test set.
"""

from __future__ import annotations

import keras
import numpy as np

from hdsr_tf.config import CNNConfig
from hdsr_tf.data.pipelines import Augmentation, classification_dataset, prefetch_to_device
from hdsr_tf.data.recipe import load_recipe
from hdsr_tf.data.splits import check_dataset, load_digits
from hdsr_tf.errors import UsageError
from hdsr_tf.models.cnn import build_lowres_recognizer, build_recognizer
from hdsr_tf.training.runner import Job, Runner, warmup_cosine

MODEL_FILE = "recognizer.keras"


def validate(config: CNNConfig) -> None:
    if config.optimizer not in ("adam", "sgd"):
        raise UsageError(f"--optimizer must be adam or sgd, not {config.optimizer!r}")
    if config.schedule not in ("cosine", "step", "constant"):
        raise UsageError(f"--schedule must be cosine, step or constant, not {config.schedule!r}")
    if config.lr_scale not in (0, 2, 4):
        raise UsageError(f"--lr-scale must be 0, 2 or 4, not {config.lr_scale}")
    if config.batch_size < 1 or config.epochs < 1:
        raise UsageError("--batch-size and --epochs must be positive")
    check_dataset(config.dataset, config.dida_dir)
    if config.recipe:
        load_recipe(config.recipe)  # a bad recipe fails here, before any data is loaded


def learning_rate(config: CNNConfig, steps_per_epoch: int):
    total = steps_per_epoch * config.epochs
    if config.schedule == "constant":
        return config.learning_rate
    if config.schedule == "step":
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            [int(total * 0.5), int(total * 0.75)],
            [config.learning_rate, config.learning_rate * 0.1, config.learning_rate * 0.01])
    return warmup_cosine(config.learning_rate, steps_per_epoch, config.epochs)


def make_optimizer(config: CNNConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    lr = learning_rate(config, steps_per_epoch)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=config.momentum, nesterov=config.nesterov)
    return keras.optimizers.Adam(lr)


def build_model(config: CNNConfig) -> keras.Model:
    """The architecture ``config`` trains (float32, untrained)."""
    if config.lr_scale:
        return build_lowres_recognizer(28 // config.lr_scale)
    return build_recognizer(dropout=config.dropout)


def train_recognizer(config: CNNConfig, strategy=None, verbose: int = 1) -> dict:
    """Trains (or resumes) the recognizer; returns the run's summary with its validation accuracy.

    The model is ``<out_dir>/recognizer.keras``.
    """
    validate(config)
    runner = Runner(config, strategy, verbose)

    def build() -> Job:
        digits = load_digits(config.dataset, config.dida_dir or None, config.seed).limited(config.limit)
        augment = Augmentation() if config.augment else None
        recipe = load_recipe(config.recipe) if config.recipe else None
        train = classification_dataset(*digits.train, config.batch_size, training=True, seed=config.seed,
                                       augment=augment, lr_scale=config.lr_scale, recipe=recipe)
        val = classification_dataset(*digits.val, 512, training=False, seed=config.seed,
                                     lr_scale=config.lr_scale, recipe=recipe)
        if runner.strategy.num_replicas_in_sync == 1:
            train, val = prefetch_to_device(train), prefetch_to_device(val)  # no-op without a GPU
        steps = int(np.ceil(len(digits.train[1]) / config.batch_size))
        model = runner.for_training(build_model(config))
        model.compile(optimizer=make_optimizer(config, steps), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])

        def finish(run, history) -> dict:
            runner.save_model(model, run / MODEL_FILE)
            val_accuracy = float(model.evaluate(val, verbose=0, return_dict=True)["accuracy"])
            if val_accuracy < 0.5:
                print(f"warning: the model reads validation digits at {val_accuracy:.1%}: "
                      f"{steps * max(1, len(history.epoch))} training steps were too few for it (and for batch "
                      "norm's moving statistics) to settle; train more --epochs or on more digits", flush=True)
            return {"val_accuracy": val_accuracy, "model": str(run / MODEL_FILE)}

        stopping = None
        if config.early_stopping_patience > 0:
            stopping = {"monitor": config.early_stopping_monitor, "patience": config.early_stopping_patience,
                        "restore_best_weights": config.restore_best_weights}
        return Job(model, train, val, config.epochs, finish, early_stopping=stopping)

    return runner.run(build)
