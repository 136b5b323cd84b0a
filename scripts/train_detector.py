#!/usr/bin/env python
"""Train the no-digit detector: MNIST digits against synthetic non-digits (blank, uniform, noise,
lines, smudges, letters, fragments), both degraded by the same recipes; its threshold is fitted on
validation digits.

Rerunning the same command resumes an interrupted run. Outputs go to --out-dir: config.json,
log.csv, checkpoint/, detector.keras and FINISHED (JSON: the threshold and validation figures). The
export (scripts/export_hybrid.py --detector) puts it in front of the served readers.

With --reader RECOGNIZER.keras the detector is a head on that reader's own frozen features instead:
the run saves reader_with_head.keras (the reader's answers unchanged, plus no_digit), which
export_hybrid.py takes as --direct or --full-resolution in place of the bare reader.
"""

from hdsr_tf import cli
from hdsr_tf.config import DetectorConfig


def main():
    config = cli.parse_config(DetectorConfig, __doc__)
    from hdsr_tf.training.detector import train_detector

    summary = train_detector(config)
    print(f"model: {summary['model']}\nthreshold {summary['threshold']:.4f}: validation digits refused "
          f"{summary['val_digits_refused']:.3%}, validation non-digits refused {summary['val_non_digits_refused']:.2%}")


if __name__ == "__main__":
    cli.run(main)
