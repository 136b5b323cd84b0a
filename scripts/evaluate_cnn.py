#!/usr/bin/env python
"""Re-evaluate a saved recognizer on the MNIST test set (or a DIDA folder): accuracy,
per-class report (text and JSON), confusion matrix and misclassified digits."""

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--model", default="saved_models/cnn/recognizer.keras", help="a recognizer .keras file")
    parser.add_argument("--out", default="runs/evaluate_cnn", help="where the report goes")
    parser.add_argument("--dataset", choices=("mnist", "dida", "combined"), default="mnist", help="test digits")
    parser.add_argument("--dida-dir", help="DIDA-style folder for --dataset dida/combined")
    parser.add_argument("--lr-scale", type=int, default=0, choices=(0, 2, 4),
                        help="the model reads LR digits downsampled by this factor")
    args = parser.parse_args()

    from hdsr_tf.data.splits import load_digits, recognizer_input
    from hdsr_tf.evaluation.report import write_classifier_report
    from hdsr_tf.models import load_model

    model = load_model(args.model)
    digits = load_digits(args.dataset, args.dida_dir)
    images, labels = digits.test
    write_classifier_report(model, recognizer_input(images, args.lr_scale), labels, args.out,
                            name=f"{args.dataset} test")
    print(f"report: {args.out}")


if __name__ == "__main__":
    cli.run(main)
