"""Training the no-digit detector: MNIST digits against synthetic non-digits, both degraded alike.

``train_detector(config)`` is the job behind scripts/train_detector.py. The
detector answers one question, "is there a digit here?", for the served model's
readers, which can only say which digit. It is trained on the very inputs
those readers see: full-resolution digits (the recognizer's recipe) and
low-resolution ones enlarged to 28 px (the blind recipe), and non-digits passed
through the same recipes, so blur or noise never tells it the answer.

Its threshold is fitted on validation data: the lowest no-digit probability
that refuses at most ``max_false_refusals`` of the validation digits.

With ``reader`` the detector is no second network but a head on a recognizer's
own frozen features (``models.cnn.with_no_digit_head``): the reader's answers
stay exactly as they were, and reading and refusing cost one pass.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from hdsr_tf.config import DetectorConfig, load_file, positive_ints
from hdsr_tf.data import non_digits
from hdsr_tf.data.pipelines import detection_dataset
from hdsr_tf.data.recipe import load_recipe
from hdsr_tf.data.splits import check_dataset, load_digits
from hdsr_tf.errors import UsageError
from hdsr_tf.models import load_model
from hdsr_tf.models.cnn import build_detector, with_no_digit_head
from hdsr_tf.training.resume import CONFIG_FILE
from hdsr_tf.training.runner import Job, Runner, warmup_cosine

MODEL_FILE = "detector.keras"
HEAD_FILE = "reader_with_head.keras"  # with --reader: the reader and its head, one model with two outputs


def validate(config: DetectorConfig) -> list:
    if config.batch_size < 1 or config.epochs < 1 or config.non_digits <= 0 or config.head_units < 1 \
            or config.head_conv < 1:
        raise UsageError("--batch-size, --epochs, --non-digits, --head-units and --head-conv must be positive")
    if config.reader and config.precision != "float32":
        raise UsageError("a head on a reader trains in float32 (--precision float32): it shares the reader's layers")
    if not -1 <= config.held_out_font < len(non_digits.TRAIN_FONTS):
        raise UsageError(f"--held-out-font must be -1 or 0-{len(non_digits.TRAIN_FONTS) - 1}")
    if not 0 <= config.max_false_refusals < 1:
        raise UsageError("--max-false-refusals must be a fraction in [0, 1)")
    check_dataset(config.dataset, config.dida_dir)
    widths(config)
    names = [r.strip() for r in config.recipes.split(",") if r.strip()]
    if not names:
        raise UsageError("--recipes must name at least one recipe")
    return [load_recipe(name) for name in names]


def widths(config: DetectorConfig) -> tuple[int, ...]:
    """``--filters`` as positive widths, one per stage."""
    return positive_ints(config.filters, "--filters")


def models(config: DetectorConfig) -> tuple[keras.Model, keras.Model]:
    """(the model trained: image -> no_digit, the model saved): the detector twice, or, with ``reader``,
    the head alone (the reader's layers frozen) and the reader with its head."""
    if not config.reader:
        detector = build_detector(widths(config))
        return detector, detector
    reader = load_model(config.reader)
    for layer in reader.layers:
        layer.trainable = False  # and its batch norm reads in inference mode
    both = with_no_digit_head(reader, config.head_units, config.head_conv)
    return keras.Model(both.inputs, both.outputs[1], name="no_digit_head"), both


def labelled(digits: np.ndarray, count: int, seed: int, fonts) -> tuple[np.ndarray, np.ndarray]:
    """Digits (label 0) and ``count`` non-digits of every family (label 1), fragments cut from ``digits``."""
    negatives = non_digits.mixture(count, seed, fonts=fonts, digits=digits)
    images = np.concatenate([digits, negatives])
    return images, np.concatenate([np.zeros(len(digits), np.int64), np.ones(len(negatives), np.int64)])


def fonts(held_out: int) -> tuple[tuple, tuple]:
    """(training's letter fonts, validation's): all four both ways, or one held out of training and alone in
    validation."""
    if held_out < 0:
        return non_digits.TRAIN_FONTS, non_digits.TRAIN_FONTS
    kept = tuple(f for k, f in enumerate(non_digits.TRAIN_FONTS) if k != held_out)
    return kept, (non_digits.TRAIN_FONTS[held_out],)


def fit_threshold(digit_scores: np.ndarray, max_false_refusals: float) -> float:
    """The lowest threshold (score > threshold means "no digit") that refuses at most that fraction of digits."""
    allowed = int(np.floor(max_false_refusals * len(digit_scores)))
    ordered = np.sort(digit_scores)[::-1]
    return float(max(0.5, ordered[allowed])) if allowed < len(ordered) else 0.5


def validation(config: DetectorConfig, val_digits: np.ndarray, val_fonts, recipes) -> tf.data.Dataset:
    """The run's validation batches: its digits and as many non-digits of every family (the validation seed),
    degraded by its recipes."""
    images, labels = labelled(val_digits, len(val_digits), config.seed + non_digits.VAL_SEED_OFFSET, val_fonts)
    return detection_dataset(images, labels, 512, training=False, recipes=recipes, seed=config.seed)


def scored(model: keras.Model, val: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(no-digit scores, True where the item is a non-digit) over ``val``, one pass."""
    batches = [(model.predict(x, verbose=0)[:, 0], y.numpy()[:, 0] > 0.5) for x, y, _ in val]
    scores, truth = (np.concatenate(parts) for parts in zip(*batches))
    return scores, truth


def joint_threshold(runs: list[Path], max_false_refusals: float) -> dict:
    """One threshold for the served model whose readers carry the heads of several runs (a small-input reader's
    head trained on the blind recipe, a full-resolution one's on the recognizer recipe): each run's model scores
    its own validation set (its config's split, seed, fonts and recipes, as its training fitted its own
    threshold), and the threshold refuses at most that fraction of all their validation digits together."""
    per_run, digits = {}, []
    for run in map(Path, runs):
        if not (run / CONFIG_FILE).is_file():
            raise UsageError(f"{run} is not a train_detector.py run: it has no {CONFIG_FILE}")
        try:
            config = DetectorConfig(**load_file(str(run / CONFIG_FILE)))
        except TypeError as e:
            raise UsageError(f"{run / CONFIG_FILE} is not a detector run's config: {e}") from None
        path = run / (HEAD_FILE if config.reader else MODEL_FILE)
        if not path.exists():
            raise UsageError(f"{run}: no {path.name}: is the run finished?")
        model = load_model(path)
        if config.reader:
            model = keras.Model(model.inputs, model.outputs[1])
        val_digits = load_digits(config.dataset, config.dida_dir or None, config.seed).limited(config.limit).val[0]
        scores, truth = scored(model, validation(config, val_digits, fonts(config.held_out_font)[1], validate(config)))
        per_run[str(run)] = (scores[~truth], scores[truth])
        digits.append(scores[~truth])
    threshold = fit_threshold(np.concatenate(digits), max_false_refusals)
    return {"threshold": threshold, "max_false_refusals": max_false_refusals,
            "runs": {run: {"val_digits_refused": float(np.mean(d > threshold)),
                           "val_non_digits_refused": float(np.mean(n > threshold))}
                     for run, (d, n) in per_run.items()}}


def train_detector(config: DetectorConfig, strategy=None, verbose: int = 1) -> dict:
    """Trains (or resumes) the detector; returns the run's summary with its validation figures and threshold."""
    recipes = validate(config)
    runner = Runner(config, strategy, verbose)

    def build() -> Job:
        digits = load_digits(config.dataset, config.dida_dir or None, config.seed).limited(config.limit)
        train_digits, val_digits = digits.train[0], digits.val[0]
        train_fonts, val_fonts = fonts(config.held_out_font)
        train = detection_dataset(*labelled(train_digits, int(config.non_digits * len(train_digits)), config.seed,
                                            train_fonts),
                                  config.batch_size, training=True, recipes=recipes, seed=config.seed,
                                  digit_weight=config.digit_weight)
        val = validation(config, val_digits, val_fonts, recipes)
        steps = int(np.ceil(2 * len(train_digits) / config.batch_size))
        schedule = warmup_cosine(config.learning_rate, steps, config.epochs)
        trained, saved = models(config)
        model = runner.for_training(trained)
        model.compile(keras.optimizers.Adam(schedule), loss="binary_crossentropy",
                      weighted_metrics=["binary_accuracy"])

        def finish(run, history) -> dict:
            path = run / (HEAD_FILE if config.reader else MODEL_FILE)
            runner.save_model(saved if config.reader else model, path)
            scores, truth = scored(model, val)
            threshold = fit_threshold(scores[~truth], config.max_false_refusals)
            return {"threshold": threshold, "val_digits_refused": float(np.mean(scores[~truth] > threshold)),
                    "val_non_digits_refused": float(np.mean(scores[truth] > threshold)),
                    "model": str(path)}

        return Job(model, train, val, config.epochs, finish)

    return runner.run(build)
