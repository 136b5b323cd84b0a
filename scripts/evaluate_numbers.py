#!/usr/bin/env python
"""Measure reading whole numbers: lines of MNIST *test* digits composed into one image
(seeded), read whole by the line reader (--line-reader) or cut into digits that the
exported SavedModel reads, beside a naive baseline that slices each image into N
equal cells (N known) for the SavedModel.

Conditions: clear gaps or touching/overlapping digits; digits about 20-28 px high,
or the image scaled so that they are about 10 or 7 px high; dark ink on uneven light
paper with noise, or light ink on dark; 5-digit numbers, plus a row of 3-6 digits
and a row with a stray mark among the digits (a letter in a font that no training
used, or a smudge), right only when the mark is passed over.
Writes numbers.md, numbers.json and one example image per condition (boxes drawn)
into --out.
"""

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--model", default="saved_models/hybrid", help="SavedModel folder (latest version used)")
    parser.add_argument("--line-reader", default="saved_models/line_reader/line_reader.keras", metavar="PATH",
                        help="the line reader (.keras, scripts/train_line_reader.py) that reads each number whole, "
                             "as predict.py --number does; 'none': cut into digits that the SavedModel reads")
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="compose the numbers from MNIST test digits (to report) or the seeded validation "
                             "digits (to choose settings and models on)")
    parser.add_argument("--out", default="runs/evaluate_numbers", help="where the report goes")
    parser.add_argument("--n", type=int, default=500, help="numbers per condition")
    parser.add_argument("--seed", type=int, default=0, help="seed of the compositions")
    args = parser.parse_args()
    if args.n < 1:
        cli.fail("--n must be at least 1")

    import time
    from pathlib import Path

    from hdsr_tf import line_reading, numbers
    from hdsr_tf.data import mnist
    from hdsr_tf.evaluation import numbers as ev
    from hdsr_tf.io import write_json
    from hdsr_tf.predict import Predictor

    predictor = Predictor(args.model)
    line_reader = line_reading.load(args.line_reader)
    if args.split == "test":
        images, labels = mnist.load_arrays("test")
    else:
        from hdsr_tf.data.splits import load_digits

        images, labels = load_digits("mnist").val
    conditions = ev.conditions()
    out = Path(args.out)
    start = time.time()
    rows = []
    for condition in conditions:
        row = ev.evaluate(images, labels, predictor.read, [condition], args.n, args.seed, line_reader)[0]
        print(f"{row['condition']:<55} string {row['string_accuracy']:.2%}  digit {row['digit_accuracy']:.2%}"
              f"  (equal cells: {row['baseline_string_accuracy']:.2%})", flush=True)
        rows.append(row)
        example, _ = ev.make_set(images, labels, condition, 1, args.seed)
        read = numbers.read_images(example, predictor.read, line_reader)[0]
        name = condition.name.replace(", ", "_").replace(" ", "-")
        numbers.draw_boxes(example[0], read, out / "examples" / f"{name}.png")
    out.mkdir(parents=True, exist_ok=True)
    digits = "MNIST test split" if args.split == "test" else "MNIST validation digits (seeded 9:1 split)"
    meta = {"model": str(predictor.path), "line_reader": line_reader and str(line_reader.path), "n": args.n,
            "seed": args.seed, "digits": digits, "seconds": round(time.time() - start, 1)}
    write_json(out / "numbers.json", {"meta": meta, "rows": rows})
    source = (f"the line reader `{line_reader.path}`" if line_reader
              else f"`{predictor.path}`, cut into digits")
    (out / "numbers.md").write_text(
        f"# Reading whole numbers\n\n{args.n} seeded numbers per condition, composed from {digits}, read by "
        f"{source}. String accuracy: the whole number right; digit accuracy: 1 - edit distance / length. "
        f"Equal cells: the image sliced into N equal parts (N known).\n\n" + ev.markdown(rows))
    print(f"report: {out / 'numbers.md'}")


if __name__ == "__main__":
    cli.run(main)
