#!/usr/bin/env python
"""Fit the served model's one no-digit threshold over several runs of train_detector.py.

A served version whose readers carry their own no-digit heads has one head per route: the small-input
reader's, trained on the blind recipe, and the full-resolution reader's, trained on the recognizer
recipe. Each run fitted a threshold on its own validation digits; the export takes one. This scores
each run's validation set again with its own model (its config's split, seed, fonts and recipes) and
prints the lowest threshold that refuses at most --max-false-refusals of all their digits together,
for export_hybrid.py --no-digit-threshold. Reads validation data only; about a minute per run on a
2-core CPU.
"""

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("runs", nargs="+", help="finished train_detector.py run directories")
    parser.add_argument("--max-false-refusals", type=float, default=0.002,
                        help="fraction of the runs' validation digits the threshold may refuse")
    parser.add_argument("--out", default="", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if not 0 <= args.max_false_refusals < 1:
        cli.fail("--max-false-refusals must be a fraction in [0, 1)")

    from hdsr_tf.io import write_json
    from hdsr_tf.training.detector import joint_threshold

    fitted = joint_threshold(args.runs, args.max_false_refusals)
    for run, row in fitted["runs"].items():
        print(f"{run}: validation digits refused {row['val_digits_refused']:.3%}, "
              f"non-digits refused {row['val_non_digits_refused']:.2%}")
    print(f"threshold {fitted['threshold']:.4f}")
    if args.out:
        write_json(args.out, fitted)


if __name__ == "__main__":
    cli.run(main)
