#!/usr/bin/env python
"""Train the digit recognizer (defaults: MNIST, Adam, augmentation, early stopping).

Rerunning the same command resumes an interrupted run from its last finished
epoch. Outputs go to --out-dir: config.json, log.csv, tensorboard/, checkpoint/,
recognizer.keras, metrics.json, classification_report.txt and figures.
"""

import argparse

from hdsr_tf import cli


def main():
    from hdsr_tf.config import CNNConfig, add_arguments, from_args

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, CNNConfig)
    config = from_args(CNNConfig, parser.parse_args())

    # The strategy must exist before any other TensorFlow op (multi-worker needs that).
    from hdsr_tf.training.classifier import train_recognizer, validate
    from hdsr_tf.training.distribute import get_strategy

    validate(config)
    train_recognizer(config, get_strategy(config.strategy))


if __name__ == "__main__":
    cli.run(main)
