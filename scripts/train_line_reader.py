#!/usr/bin/env python
"""Train the line reader: a convnet and a bidirectional GRU read a whole number at once (CTC), so
digits that touch or overlap need no cut. It learns from lines composed from MNIST training digits
(hdsr_tf/data/lines.py: clear gaps to overlaps, varied heights and baselines, light or dark paper,
shading, noise, specks, ruling lines, often shrunk to digits 6-14 px high).

Rerunning the same command resumes an interrupted run. Outputs go to --out-dir: config.json,
log.csv, checkpoint/, line_reader.keras and FINISHED (JSON: the validation string accuracy).
`predict.py --number --line-reader PATH` and `evaluate_numbers.py --line-reader PATH` read with it.
"""

from hdsr_tf import cli
from hdsr_tf.config import LineReaderConfig


def main():
    config = cli.parse_config(LineReaderConfig, __doc__)
    from hdsr_tf.training.line_reader import train_line_reader

    summary = train_line_reader(config)
    print(f"model: {summary['model']}\nvalidation lines read whole: {summary['val_string_accuracy']:.2%} "
          f"of {summary['val_lines']}")


if __name__ == "__main__":
    cli.run(main)
