"""Training the line reader (CTC) on lines composed from MNIST training digits.

``train_line_reader(config)`` is the job behind scripts/train_line_reader.py.
The training lines are composed once per run from the training split's digits
(seeded, so a resumed run sees the same lines); validation lines come from the
validation digits with another seed. Early stopping watches the validation CTC
loss; the finish reads every validation line and records its string accuracy.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from hdsr_tf.config import LineReaderConfig, positive_ints
from hdsr_tf.data import lines
from hdsr_tf.data.splits import check_dataset, load_digits
from hdsr_tf.errors import UsageError
from hdsr_tf.models.crnn import build_line_reader, ctc_loss
from hdsr_tf.models.ctc import decode_frames, softmax
from hdsr_tf.training.runner import Job, Runner, warmup_cosine

MODEL_FILE = "line_reader.keras"
VAL_SEED_OFFSET = 7919  # validation lines are composed with seed + this


def filters(config: LineReaderConfig) -> tuple[int, int, int]:
    """``--filters`` as three positive widths."""
    return positive_ints(config.filters, "--filters", count=3, count_word="three")


def validate(config: LineReaderConfig) -> None:
    if min(config.batch_size, config.epochs, config.lines, config.val_lines, config.units) < 1:
        raise UsageError("--batch-size, --epochs, --lines, --val-lines and --units must be positive")
    if config.learning_rate <= 0:
        raise UsageError("--learning-rate must be positive")
    if not 0 <= config.distractors <= 1:
        raise UsageError(f"--distractors must be a share in [0, 1], not {config.distractors}")
    check_dataset(config.dataset, config.dida_dir)
    filters(config)


def as_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None) -> tf.data.Dataset:
    """uint8 lines [N,H,W] and label rows -> batches of (float32 [B,H,W,1] in [0,1], label rows)."""
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        data = data.shuffle(min(len(x), 50000), seed=shuffle_seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).map(lambda a, b: (tf.cast(a, tf.float32)[..., None] / 255.0, b),
                                      num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def read_lines(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> list[str]:
    """Greedy readings of lines (float32 [N,H,W,1] or uint8 [N,H,W])."""
    x = x.astype(np.float32)[..., None] / 255.0 if x.dtype == np.uint8 else x
    frames = softmax(model.predict(x, batch_size=batch_size, verbose=0))
    return ["".join(map(str, decode_frames(f)[0])) for f in frames]


def label_strings(y: np.ndarray) -> list[str]:
    return ["".join(map(str, row[1:1 + row[0]])) for row in y]


def train_line_reader(config: LineReaderConfig, strategy=None, verbose: int = 1) -> dict:
    """Trains (or resumes) the line reader; returns the run's summary with its validation string accuracy."""
    validate(config)
    runner = Runner(config, strategy, verbose)

    def build() -> Job:
        digits = load_digits(config.dataset, config.dida_dir or None, config.seed).limited(config.limit)
        print(f"composing {config.lines} training lines and {config.val_lines} validation lines", flush=True)
        train_x, train_y = lines.make_lines(*digits.train, config.lines, config.seed, distractors=config.distractors,
                                            verbose=verbose > 0)
        val_x, val_y = lines.make_lines(*digits.val, config.val_lines, config.seed + VAL_SEED_OFFSET,
                                        distractors=config.distractors)
        train = as_dataset(train_x, train_y, config.batch_size, shuffle_seed=config.seed)
        val = as_dataset(val_x, val_y, 256)
        steps = int(np.ceil(config.lines / config.batch_size))
        schedule = warmup_cosine(config.learning_rate, steps, config.epochs)
        model = runner.for_training(build_line_reader(filters(config), config.units, lines.HEIGHT))
        model.compile(keras.optimizers.Adam(schedule, clipnorm=5.0), loss=ctc_loss)

        def finish(run, history) -> dict:
            runner.save_model(model, run / MODEL_FILE)
            truth = label_strings(val_y)
            read = read_lines(model, val_x)
            return {"val_string_accuracy": float(np.mean([a == b for a, b in zip(read, truth)])),
                    "val_lines": len(truth), "model": str(run / MODEL_FILE)}

        stopping = None
        if config.early_stopping_patience > 0:
            stopping = {"monitor": "val_loss", "patience": config.early_stopping_patience,
                        "restore_best_weights": True}
        return Job(model, train, val, config.epochs, finish, early_stopping=stopping,
                   hint="lower --learning-rate")

    return runner.run(build)
