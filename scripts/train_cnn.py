#!/usr/bin/env python
"""Train the digit recognizer (defaults: MNIST, Adam, augmentation, early stopping).

Rerunning the same command resumes an interrupted run from its last finished
epoch. Outputs go to --out-dir: config.json, log.csv, tensorboard/, checkpoint/,
recognizer.keras, metrics.json, classification_report.txt and figures.
"""

from hdsr_tf import cli
from hdsr_tf.config import CNNConfig


def main():
    config = cli.parse_config(CNNConfig, __doc__)

    # The strategy must exist before any other TensorFlow op (multi-worker needs that).
    from hdsr_tf.training.classifier import train_recognizer, validate
    from hdsr_tf.training.distribute import get_strategy

    validate(config)
    train_recognizer(config, get_strategy(config.strategy))


if __name__ == "__main__":
    cli.run(main)
