#!/usr/bin/env python
"""Measure reading whole numbers: lines of MNIST *test* digits composed into one image
(seeded), read as `predict.py --number` reads them: the form step first, then the
line reader (--line-reader) or the segmenter, beside a naive baseline that slices
each image into N equal cells (N known) for the SavedModel.

Lines: clear gaps or touching/overlapping digits; digits about 20-28 px high, or the
image scaled so that they are about 10 or 7 px high; dark ink on uneven light paper
with noise, or light ink on dark; 5-digit numbers, plus a row of 3-6 digits and a row
with a stray mark among the digits (a letter in a font that no training used, or a
smudge), right only when the mark is passed over.

Forms (--forms, or --only-forms): five-digit numbers written in form fields (a comb,
separate boxes, table cells, a rule, a dotted or dashed guide, a comb or boxes in a
dropout colour, a printed label beside or above) in dark or blue ink, at full size
(digits 24-48 px), about 10 px, and as a phone photo (rotated, unevenly lit, JPEG);
each read with the form step and without it, on the same images.

Writes numbers.md / numbers.json (and forms.md / forms.json) and one example image
per condition, boxes and removed structure drawn, into --out.
"""

from hdsr_tf import cli
from hdsr_tf.data.form_layouts import LAYOUTS, LOOKS
from hdsr_tf.evaluation.numbers import HEIGHTS


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
    parser.add_argument("--forms", action="store_true", help="also measure numbers in form fields")
    parser.add_argument("--only-forms", action="store_true", help="measure numbers in form fields only")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="form layouts to measure, comma-separated")
    parser.add_argument("--looks", default=",".join(LOOKS), help="form looks to measure, comma-separated")
    parser.add_argument("--no-structure", action="store_true",
                        help="read the lines without the form step (as the reader did before it)")
    parser.add_argument("--heights", default="full,10px,7px",
                        help="digit heights of the numbers rows to measure, comma-separated")
    parser.add_argument("--upscale", metavar="GENERATOR",
                        help="super-resolve every composed number with this generator (.keras, as "
                             "scripts/upscale.py does) before reading it; 'bicubic': enlarge by bicubic alone")
    parser.add_argument("--scale", type=int, default=4, choices=(2, 4), help="the factor of --upscale")
    args = parser.parse_args()
    if args.n < 1:
        cli.fail("--n must be at least 1")
    layouts, looks, heights = args.layouts.split(","), args.looks.split(","), args.heights.split(",")
    for given, known, flag in ((layouts, LAYOUTS, "--layouts"), (looks, LOOKS, "--looks"),
                               (heights, HEIGHTS, "--heights")):
        if not given or set(given) - set(known):
            cli.fail(f"{flag} takes some of {', '.join(known)}, not {','.join(given)!r}")

    import time
    from pathlib import Path

    from hdsr_tf.data import mnist
    from hdsr_tf.evaluation import forms as ev_forms
    from hdsr_tf.evaluation import numbers as ev
    from hdsr_tf.io import write_json
    from hdsr_tf.reading import line_reading
    from hdsr_tf.reading.fields import draw_boxes, read_fields
    from hdsr_tf.reading.predictor import Predictor

    predictor = Predictor(args.model)
    line_reader = line_reading.load(args.line_reader)
    enlarge = None
    if args.upscale == "bicubic":
        from hdsr_tf.reading.upscaling import bicubic

        def enlarge(image):
            return bicubic(image, args.scale)
    elif args.upscale:
        from hdsr_tf.reading.upscaling import Upscaler

        enlarge = Upscaler(args.upscale, args.scale).upscale
    if args.split == "test":
        images, labels = mnist.load_arrays("test")
    else:
        from hdsr_tf.data.splits import load_digits

        images, labels = load_digits("mnist").val
    out = Path(args.out)
    cli.output_dir(out)
    digits = "MNIST test split" if args.split == "test" else "MNIST validation digits (seeded 9:1 split)"
    source = (f"the line reader `{line_reader.path}`" if line_reader else f"`{predictor.path}`, cut into digits")
    meta = {"model": str(predictor.path), "line_reader": line_reader and str(line_reader.path), "n": args.n,
            "seed": args.seed, "digits": digits, "upscaled": args.upscale and f"{args.upscale}, {args.scale}x"}

    def example(image, name):
        reads, fields = read_fields([image], predictor.read, line_reader)
        draw_boxes(image, reads[0], out / "examples" / f"{name.replace(', ', '_').replace(' ', '-')}.png", fields[0])

    if not args.only_forms:
        start, rows = time.time(), []
        for condition in [c for c in ev.conditions() if c.height in heights]:
            row = ev.evaluate(images, labels, predictor.read, [condition], args.n, args.seed, line_reader,
                              structure=not args.no_structure, enlarge=enlarge)[0]
            print(f"{row['condition']:<55} string {row['string_accuracy']:.2%}  digit {row['digit_accuracy']:.2%}"
                  f"  (equal cells: {row['baseline_string_accuracy']:.2%})", flush=True)
            rows.append(row)
            composed = ev.make_set(images, labels, condition, 1, args.seed)[0][0]
            example(enlarge(composed) if enlarge else composed, condition.name)
        step = "without the form step" if args.no_structure else "after the form step (no structure: unchanged)"
        if args.upscale:
            step += f", each number first enlarged {args.scale}x by {args.upscale}"
        write_json(out / "numbers.json", {"meta": {**meta, "form_step": not args.no_structure,
                                                   "seconds": round(time.time() - start, 1)}, "rows": rows})
        (out / "numbers.md").write_text(
            f"# Reading whole numbers\n\n{args.n} seeded numbers per condition, composed from {digits}, read by "
            f"{source} {step}. String accuracy: the whole number right; digit accuracy: 1 - edit distance / "
            f"length. Equal cells: the image sliced into N equal parts (N known).\n\n" + ev.markdown(rows))
        print(f"report: {out / 'numbers.md'}")
    if args.forms or args.only_forms:
        from hdsr_tf.data.form_layouts import make_fields

        start = time.time()

        def progress(row):
            print(f"{row['condition']:<34} string {row['string_accuracy']:.2%}  (before the form step "
                  f"{row['before_string_accuracy']:.2%})  more digits than written {row['extra_digits']:.2%}",
                  flush=True)

        styles = ev_forms.styles(layouts=layouts, looks=looks)
        rows = ev_forms.evaluate(images, labels, predictor.read, line_reader, styles, args.n, args.seed, progress)
        for style in styles:
            example(make_fields(images, labels, style, 1, args.seed)[0][0], "form " + style.name)
        write_json(out / "forms.json", {"meta": {**meta, "seconds": round(time.time() - start, 1)}, "rows": rows})
        (out / "forms.md").write_text(
            f"# Reading numbers on forms\n\n{args.n} seeded five-digit numbers per row, composed from {digits} "
            f"and written in generated form fields (`hdsr_tf/data/form_layouts.py`), read by {source}: with the form "
            f"step (`hdsr_tf/reading/form_structure.py`) and, on the same images, without it (before). "
            f"Labels are printed in fonts no model was trained on. More digits than written: the answer is longer "
            f"than the number (a label, a box wall or a tick read as a digit).\n\n" + ev_forms.markdown(rows))
        print(f"report: {out / 'forms.md'}")


if __name__ == "__main__":
    cli.run(main)
