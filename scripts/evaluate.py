#!/usr/bin/env python
"""The main report: read low-resolution MNIST test digits every way we can, side by side.

Rows: (a) recognizer on HR, (b) bicubic + recognizer, (c) PSNR-SR + recognizer,
(d) GAN-SR + recognizer, (e) the jointly fine-tuned hybrid, (f) the exported
SavedModel (must equal e), (g) a CNN trained directly on LR digits, on the full
test set; then a short row on reading whole numbers (5 test digits per image,
200 seeded numbers: clear gaps at full resolution and at about 7 px per digit,
and touching digits at full resolution; cut into digits that the SavedModel
reads, and read whole by the line reader), a short row on numbers in form
fields (a comb, boxes, a dropout-colour form, a printed label; with and without
the form step), and a short robustness summary of the newest exported hybrid (noise, blur, 6-10 px, JPEG and
a blind mixed set; the full benchmark is scripts/robustness.py).

At 4x by default (under a minute on a 2-core CPU); --scales 4,2 adds the 2x
models. Writes report.md, report.json and figures into --out (outside the
tracked tree by default; --refresh-reports rewrites the committed
reports/evaluation/ instead, as `--scales 4,2 --refresh-reports`).
"""

from hdsr_tf import cli

COMMITTED = "reports/evaluation"


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--models", default="saved_models", help="folder of shipped models")
    parser.add_argument("--out", default="runs/evaluation", help="where the report goes")
    parser.add_argument("--refresh-reports", action="store_true",
                        help=f"write into the committed {COMMITTED}/ instead of --out")
    parser.add_argument("--scales", default="4", help="scales to evaluate where models exist, e.g. 4,2")
    parser.add_argument("--dida-dir", help="also evaluate on this DIDA-style folder's test split")
    parser.add_argument("--no-speed", action="store_true", help="skip the SavedModel latency measurement")
    parser.add_argument("--numbers", type=int, default=200,
                        help="numbers per condition in the whole-number row (0: skip)")
    parser.add_argument("--no-robustness", action="store_true", help="skip the short robustness summary")
    parser.add_argument("--no-forms", action="store_true", help="skip the row of numbers on forms")
    args = parser.parse_args()

    from pathlib import Path

    from hdsr_tf.data import mnist
    from hdsr_tf.data.splits import dida_digits
    from hdsr_tf.evaluation.full_report import ScaleModels, evaluate_scale, write_report

    root, out = Path(args.models), Path(COMMITTED if args.refresh_reports else args.out)
    try:
        scales = [int(s) for s in args.scales.split(",")]
    except ValueError:
        cli.fail(f"--scales takes factors separated by commas, like 4,2, not {args.scales!r}")
    x, y = mnist.load_arrays("test")
    sets = [("mnist", x, y)]
    if args.dida_dir:
        d = dida_digits(args.dida_dir)
        sets.append(("dida", *d.test))
    results = []
    for scale in scales:
        models = ScaleModels.shipped(root, scale)
        if not models.psnr_generator.exists() and not models.hybrid.exists():
            print(f"[{scale}x] no shipped SR models: skipped")
            continue
        for tag, images, labels in sets:
            print(f"[{scale}x] evaluating on {tag} ({len(labels)} digits)", flush=True)
            r = evaluate_scale(models, images, labels, out, tag, speed=not args.no_speed and tag == "mnist")
            if "savedmodel_speed" in r:
                r["machine"] = cli.machine()  # a speed figure names the CPU it was measured on
            for row in r["rows"]:
                print(f"  {row['name']:<55} accuracy {row['accuracy']:.2%}"
                      + (f"  PSNR {row['psnr']:.2f} dB  SSIM {row['ssim']:.4f}" if row["psnr"] else ""))
            results.append(r)
    if not results:
        cli.fail(f"no shipped super-resolution models under {root}")
    number_rows, form_rows = [], []
    if args.numbers > 0 and (root / "hybrid").is_dir():
        from hdsr_tf.evaluation import numbers as ev
        from hdsr_tf.reading.predictor import Predictor

        conditions = [ev.NumberCondition("separated", height, "dark_on_light") for height in ("full", "7px")]
        conditions.append(ev.NumberCondition("touching", "full", "dark_on_light"))
        reader = Predictor(root / "hybrid").read
        readers = {"cut, SavedModel": None}
        if (root / "line_reader" / "line_reader.keras").is_file():
            from hdsr_tf.reading.line_reading import LineReader

            readers["line reader"] = LineReader(root / "line_reader" / "line_reader.keras")
        for name, line_reader in readers.items():
            for row in ev.evaluate(x, y, reader, conditions, args.numbers, line_reader=line_reader):
                number_rows.append({"reader": name, **row})
                print(f"  numbers, {name:<15} {row['condition']:<42} string accuracy {row['string_accuracy']:.2%}")
        if "line reader" in readers and not args.no_forms:  # numbers on forms, as predict.py --number reads them
            from hdsr_tf.data.form_layouts import FormStyle
            from hdsr_tf.evaluation import forms as ev_forms

            styles = [FormStyle(layout, "blue", "full") for layout in ("comb", "boxes", "dropout", "label")]
            form_rows = ev_forms.evaluate(x, y, reader, readers["line reader"], styles, max(1, args.numbers // 2))
            for row in form_rows:
                print(f"  forms, {row['condition']:<30} string accuracy {row['string_accuracy']:.2%} "
                      f"(without the form step {row['before_string_accuracy']:.2%})")
    robustness_rows = []
    if not args.no_robustness and (root / "hybrid").is_dir():
        from hdsr_tf.evaluation import robustness as rb
        from hdsr_tf.export import latest_version

        version = latest_version(root / "hybrid")
        reader = rb.savedmodel_reader(f"hybrid/{version.name}", version, "", draw=False)  # no sr_image needed
        print(f"robustness summary of hybrid/{version.name} ({len(y)} test digits per condition)", flush=True)
        # row (h) has read this version on the same 7 px area digits in the same way: not read twice
        served = next((r for r in results[0]["rows"] if r["name"].startswith("(h)")), None) if scales[0] == 4 else None
        names = [n for n in rb.SHORT if served is None or n != "7 px area"]
        robustness_rows = [{"model": reader.name, **row} for row in rb.short_summary(reader, x, y, names=names)]
        if served is not None:
            at = next(i for i, r in enumerate(robustness_rows) if r["size"] not in ("28", "6"))
            robustness_rows.insert(at, {"model": reader.name, "condition": "7 px area", "size": "7",
                                        "accuracy": served["accuracy"], "ece": served["ece"],
                                        "refused": served["refused"], "as_row": "(h)"})
        for row in robustness_rows:
            print(f"  {row['condition']:<46} accuracy {row['accuracy']:.2%}")
    print(f"report: {write_report(results, out, number_rows, robustness_rows, form_rows)}")


if __name__ == "__main__":
    cli.run(main)
