"""The job behind scripts/train_hybrid.py: joint fine-tuning, with before/after figures.

Writes into the run directory: generator.keras, recognizer.keras, hybrid.keras
(the chain, ready for export) and metrics.json with the hybrid's LR test
accuracy and the recognizer's HR test accuracy before and after.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from hdsr_tf.config import HybridConfig, to_dict
from hdsr_tf.data.degrade import Degradation
from hdsr_tf.data.pipelines import sr_pair_dataset
from hdsr_tf.data.splits import load_digits
from hdsr_tf.errors import TrainingStopped
from hdsr_tf.evaluation.sr_report import lr_test_images, predict_probs, quality, super_resolve
from hdsr_tf.models import load_model
from hdsr_tf.models.hybrid import build_hybrid, generator_scale
from hdsr_tf.training import run_dir
from hdsr_tf.training.callbacks import NaNGuard, ResumeCheckpoint, save_model_atomic
from hdsr_tf.training.distribute import get_strategy, output_dir, prepare_fit
from hdsr_tf.training.joint import MODES, JointTrainer


def validate(config: HybridConfig) -> None:
    if not 0.0 <= config.ema_momentum < 1.0:
        raise ValueError(f"--ema-momentum must be in [0, 1), not {config.ema_momentum}")
    if config.mode not in MODES:
        raise ValueError(f"--mode must be one of {MODES}, not {config.mode!r}")
    for name in ("generator", "recognizer"):
        if not Path(getattr(config, name)).is_file():
            raise FileNotFoundError(f"--{name} {getattr(config, name)} not found")


def measure(generator, recognizer, test, scale: int) -> dict:
    lr, hr = lr_test_images(test[0], scale)
    sr = super_resolve(generator, lr)
    lr_acc = float(np.mean(np.argmax(predict_probs(recognizer, sr), 1) == test[1]))
    hr_acc = float(np.mean(np.argmax(predict_probs(recognizer, hr), 1) == test[1]))
    psnr, ssim = quality(sr, hr)
    return {"hybrid_lr_accuracy": lr_acc, "recognizer_hr_accuracy": hr_acc, "psnr": psnr, "ssim": ssim}


def train_hybrid(config: HybridConfig, strategy=None, verbose: int = 1) -> dict:
    validate(config)
    strategy = strategy or get_strategy(config.strategy)
    run = run_dir.prepare(output_dir(config.out_dir, strategy), to_dict(config), config.restart)
    keras.utils.set_random_seed(config.seed)
    digits = load_digits("mnist", seed=config.seed).limited(config.limit)
    with strategy.scope():
        generator, recognizer = load_model(config.generator), load_model(config.recognizer)
        scale = generator_scale(generator)
        teacher = load_model(config.recognizer) if config.distill_weight else None
        trainer = JointTrainer(generator, recognizer, config.mode, teacher=teacher)
        steps = len(digits.train[1]) // config.batch_size
        schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, max(1, steps * config.epochs))
        ema = {"use_ema": True, "ema_momentum": config.ema_momentum} if config.ema_momentum else {}
        trainer.compile(keras.optimizers.Adam(schedule, **ema), task_weight=config.task_weight,
                        l1_weight=config.l1_weight, hr_weight=config.hr_weight,
                        distill_weight=config.distill_weight, temperature=config.temperature)
    before = measure(generator, recognizer, digits.test, scale)
    print(f"before: {before}")
    deg = Degradation(scale)
    train = sr_pair_dataset(digits.train[0], config.batch_size, training=True, degradation=deg, seed=config.seed,
                            labels=digits.train[1], drop_remainder=True,
                            shift=config.shift_augment)
    val = sr_pair_dataset(digits.val[0], 500, training=False, degradation=deg, seed=config.seed + 1,
                          labels=digits.val[1])
    guard = NaNGuard()
    checkpoint = ResumeCheckpoint(run / "checkpoint", guard)
    initial_epoch = checkpoint.restore(trainer, trainer.build_optimizers)
    prepare_fit(trainer, train, strategy)
    start = time.time()
    trainer.fit(train, validation_data=val, epochs=config.epochs, initial_epoch=initial_epoch, verbose=verbose,
                callbacks=[guard, checkpoint, keras.callbacks.CSVLogger(str(run / "log.csv"),
                                                                        append=initial_epoch > 0)])
    if guard.triggered:
        raise TrainingStopped(f"loss became non-finite at {guard.triggered}; the last good checkpoint "
                              f"(epoch {checkpoint.saved_epoch()}) is kept in {run / 'checkpoint'}")
    after = measure(generator, recognizer, digits.test, scale)
    validation = measure(generator, recognizer, digits.val, scale)
    print(f"after: {after}\nvalidation after: {validation}")
    metrics = {"before": before, "after": after, "validation_after": validation, "scale": scale, "mode": config.mode,
               "train_seconds_this_session": round(time.time() - start, 1), "config": to_dict(config)}
    save_model_atomic(generator, run / "generator.keras")
    save_model_atomic(recognizer, run / "recognizer.keras")
    save_model_atomic(build_hybrid(generator, recognizer), run / "hybrid.keras")
    run_dir.write_json(run / "metrics.json", metrics)
    return metrics
