#!/usr/bin/env python
"""Train the digit recognizer (defaults: MNIST, Adam, augmentation, early stopping), then
report on the full test set.

Rerunning the same command resumes an interrupted run from its last finished
epoch. Outputs go to --out-dir: config.json, log.csv, tensorboard/, checkpoint/,
recognizer.keras, and the test report: metrics.json, classification_report.txt,
confusion_matrix.png, misclassified.png, accuracy.png, loss.png.
"""

from hdsr_tf import cli
from hdsr_tf.config import CNNConfig


def main():
    config = cli.parse_config(CNNConfig, __doc__)

    # The strategy must exist before any other TensorFlow op (multi-worker needs that).
    from hdsr_tf.training.distribute import get_strategy

    strategy = get_strategy(config.strategy)
    from pathlib import Path

    from hdsr_tf.config import to_dict
    from hdsr_tf.data.splits import load_digits, recognizer_input
    from hdsr_tf.evaluation.report import write_classifier_report
    from hdsr_tf.models import load_model
    from hdsr_tf.training.classifier import train_recognizer

    summary = train_recognizer(config, strategy)
    model_path = Path(summary["model"])
    images, labels = load_digits(config.dataset, config.dida_dir or None, config.seed).test
    write_classifier_report(load_model(model_path), recognizer_input(images, config.lr_scale), labels,
                            model_path.parent, history_csv=model_path.parent / "log.csv",
                            name=f"{config.dataset} test", extra={**summary, "config": to_dict(config)})
    print(f"model: {model_path}\nreport: {model_path.parent}")


if __name__ == "__main__":
    cli.run(main)
