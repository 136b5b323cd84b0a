#!/usr/bin/env python
"""Measure reading whole numbers: lines of MNIST *test* digits composed into one image
(seeded), read by the exported SavedModel after segmentation, beside a naive baseline
that slices each image into N equal cells (N known).

Conditions: clear gaps or touching/overlapping digits; digits about 20-28 px high,
or the image scaled so that they are about 10 or 7 px high; dark ink on uneven light
paper with noise, or light ink on dark; 5-digit numbers, plus a row of 3-6 digits.
Writes numbers.md, numbers.json and one example image per condition (boxes drawn)
into --out.
"""

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--model", default="saved_models/hybrid", help="SavedModel folder (latest version used)")
    parser.add_argument("--out", default="runs/evaluate_numbers", help="where the report goes")
    parser.add_argument("--n", type=int, default=500, help="numbers per condition")
    parser.add_argument("--seed", type=int, default=0, help="seed of the compositions")
    args = parser.parse_args()
    if args.n < 1:
        cli.fail("--n must be at least 1")

    import time
    from pathlib import Path

    from hdsr_tf import numbers
    from hdsr_tf.data import mnist
    from hdsr_tf.evaluation import numbers as ev
    from hdsr_tf.io import write_json
    from hdsr_tf.predict import Predictor

    predictor = Predictor(args.model)
    images, labels = mnist.load_arrays("test")
    conditions = [ev.Condition(s, h, p) for s in ev.SPACINGS for h in ev.HEIGHTS for p in ev.PAPERS]
    conditions.append(ev.Condition("separated", "full", "dark_on_light", length=0))
    out = Path(args.out)
    start = time.time()
    rows = []
    for condition in conditions:
        row = ev.evaluate(images, labels, predictor.read, [condition], args.n, args.seed)[0]
        print(f"{row['condition']:<55} string {row['string_accuracy']:.2%}  digit {row['digit_accuracy']:.2%}"
              f"  (equal cells: {row['baseline_string_accuracy']:.2%})", flush=True)
        rows.append(row)
        example, _ = ev.make_set(images, labels, condition, 1, args.seed)
        read = numbers.read_numbers(example, predictor.read)[0]
        name = condition.name.replace(", ", "_").replace(" ", "-")
        numbers.draw_boxes(example[0], read, out / "examples" / f"{name}.png")
    out.mkdir(parents=True, exist_ok=True)
    meta = {"model": str(predictor.path), "n": args.n, "seed": args.seed, "digits": "MNIST test split",
            "seconds": round(time.time() - start, 1)}
    write_json(out / "numbers.json", {"meta": meta, "rows": rows})
    (out / "numbers.md").write_text(
        f"# Reading whole numbers\n\n{args.n} seeded numbers per condition, composed from MNIST test digits, "
        f"read by `{predictor.path}`. String accuracy: the whole number right; digit accuracy: 1 - edit "
        f"distance / length. Equal cells: the image sliced into N equal parts (N known).\n\n" + ev.markdown(rows))
    print(f"report: {out / 'numbers.md'}")


if __name__ == "__main__":
    cli.run(main)
