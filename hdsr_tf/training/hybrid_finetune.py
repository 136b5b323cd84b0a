"""The job behind scripts/train_hybrid.py: joint fine-tuning of generator and recognizer.

Writes into the run directory generator.keras, recognizer.keras and
hybrid.keras (the chain, ready for export), and ends on validation figures;
the script then measures the test set.
"""

from __future__ import annotations

from pathlib import Path

import keras

from hdsr_tf.config import HybridConfig
from hdsr_tf.data.degrade import Degradation
from hdsr_tf.data.pipelines import sr_pair_dataset
from hdsr_tf.data.recipe import load_recipe
from hdsr_tf.data.splits import load_digits
from hdsr_tf.errors import MissingFileError, UsageError
from hdsr_tf.models import load_model
from hdsr_tf.models.hybrid import build_hybrid
from hdsr_tf.models.rrdb import generator_scale
from hdsr_tf.training.joint import MODES, JointTrainer
from hdsr_tf.training.runner import Job, Runner


def validate(config: HybridConfig) -> None:
    if config.mode not in MODES:
        raise UsageError(f"--mode must be one of {', '.join(MODES)}, not {config.mode!r}")
    for name in ("generator", "recognizer"):
        if not Path(getattr(config, name)).is_file():
            raise MissingFileError(f"--{name} {getattr(config, name)} not found")
    if config.recipe:
        load_recipe(config.recipe)


def train_hybrid(config: HybridConfig, strategy=None, verbose: int = 1) -> dict:
    """Fine-tunes (or resumes); returns the run's summary with its validation figures."""
    validate(config)
    runner = Runner(config, strategy, verbose)

    def build() -> Job:
        digits = load_digits("mnist", seed=config.seed).limited(config.limit)
        generator = runner.for_training(load_model(config.generator))
        recognizer = runner.for_training(load_model(config.recognizer))
        teacher = load_model(config.recognizer) if config.distill_weight else None
        trainer = JointTrainer(generator, recognizer, config.mode, teacher=teacher)
        steps = len(digits.train[1]) // config.batch_size
        schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, max(1, steps * config.epochs))
        trainer.compile(keras.optimizers.Adam(schedule), task_weight=config.task_weight,
                        l1_weight=config.l1_weight, hr_weight=config.hr_weight,
                        distill_weight=config.distill_weight, temperature=config.temperature)
        deg = Degradation(generator_scale(generator))
        recipe = load_recipe(config.recipe) if config.recipe else None
        train = sr_pair_dataset(digits.train[0], config.batch_size, training=True, degradation=deg,
                                seed=config.seed, labels=digits.train[1], drop_remainder=True,
                                shift=config.shift_augment, recipe=recipe)
        val = sr_pair_dataset(digits.val[0], 500, training=False, degradation=deg, seed=config.seed + 1,
                              labels=digits.val[1], recipe=recipe)

        def finish(run, history) -> dict:
            validation = trainer.evaluate(val, verbose=0, return_dict=True)
            print(f"validation: {validation}", flush=True)
            for name, model in (("generator", generator), ("recognizer", recognizer)):
                runner.save_model(model, run / f"{name}.keras")
            hybrid = build_hybrid(load_model(run / "generator.keras"), load_model(run / "recognizer.keras"))
            runner.save_model(hybrid, run / "hybrid.keras")
            return {"validation": {k: float(v) for k, v in validation.items()}, "hybrid": str(run / "hybrid.keras")}

        return Job(trainer, train, val, config.epochs, finish, build_optimizers=trainer.build_optimizers)

    return runner.run(build)
