#!/usr/bin/env python
"""Read digits from image files with the exported hybrid SavedModel.

PATH may be files or folders (searched recursively for PNG, JPEG, BMP, GIF and
WEBP files; a file named explicitly is read whatever its name). One line per
image: path, digit, confidence; the digit is "-" when the model says the image
holds no digit (blank, noise, a line, a letter: exports since version 4) and
"unsure" when its confidence is under --min-confidence. A file that cannot be read gets an error line
of its own; the others are still predicted, and the exit status is 1 if any
file failed.

--number reads whole numbers instead (postal codes, meter readings, form
fields): one line per image with the number and its confidence (the chance
that every digit is right); "" when no digit is found. --format json gives each
digit's confidence and box [x, y, width, height] in input pixels. By default the
line reader (saved_models/line_reader) reads each number whole, so touching
digits need no cut, and the SavedModel (--model) reads again each digit that
stands alone (the two readings are multiplied); the number's confidence is its
probability under the line reader (CTC), updated for digits the SavedModel
changed. --line-reader none cuts the number into digits that the SavedModel
reads, and drops crops it calls "no digit".

Numbers on forms: before reading, printed structure is found and taken away
(combs, boxes, table cells, rules, dotted guides, forms printed in a red, green
or light-blue dropout colour, printed labels beside or above the number); a
comb's or a row of boxes' cells say where each digit is, and an empty cell is
no digit. --boxes-dir shows what was removed; --no-forms reads the image as is.

Every file goes through one loader: its header is checked before it is decoded,
so an image over 25,000,000 pixels (or not an image at all) gets its own error
line at once, with or without --number.
"""

import sys

from hdsr_tf import cli

CHOICE = {"auto": -1, "no": 0, "yes": 1}


LINE_READER = "saved_models/line_reader/line_reader.keras"


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument("--model", default="saved_models/hybrid",
                        help="a SavedModel folder, or a folder of numbered versions (latest is used)")
    parser.add_argument("--ink", choices=("auto", "dark", "light"), default="auto",
                        help="dark: dark ink on light paper (inverted); light: MNIST-like; auto: from the border")
    parser.add_argument("--normalize", choices=("auto", "yes", "no"), default="auto",
                        help="MNIST-normalize (crop, fit 20x20, centre); auto: only images larger than 28 px")
    parser.add_argument("--format", choices=("text", "csv", "json"), default="text", help="output format")
    parser.add_argument("--sr-dir", help="also write each super-resolved 28x28 digit here as PNG, under the "
                        "input's own path (<sr-dir>/<path>.sr.png)")
    parser.add_argument("--bfloat16-reading", action="store_true",
                        help="read with the model's bfloat16 signatures (exports made with --bfloat16-reading): "
                             "1.6x the float32 rate on CPUs with AVX512-BF16 or AMX, slower on others")
    parser.add_argument("--min-confidence", type=float, default=0.0, metavar="P",
                        help="print 'unsure' instead of a digit read with confidence under P")
    parser.add_argument("--number", action="store_true", help="read each image as a number of one or more digits")
    parser.add_argument("--boxes-dir", help="with --number: also write each image with its digit boxes drawn here, "
                        "and the printed form structure that was taken away tinted faintly")
    parser.add_argument("--no-forms", action="store_true",
                        help="with --number: read the image as it is, without finding and removing printed form "
                             "structure (boxes, combs, rules, labels, dropout colours) first")
    parser.add_argument("--line-reader", default=LINE_READER, metavar="PATH",
                        help="with --number: the line reader (.keras) that reads each number whole; 'none': cut "
                             "the number into digits and read them with --model")
    args = parser.parse_args()

    from hdsr_tf.reading.printing import print_digit_results, print_number_results

    if not 0 <= args.min_confidence <= 1:
        cli.fail(f"--min-confidence must be between 0 and 1, not {args.min_confidence}")
    if args.boxes_dir and not args.number:
        cli.fail("--boxes-dir goes with --number")
    # a file that was not read: the same keys as a file that was, in either mode
    unread = ({"number": None, "confidence": None, "digits": None} if args.number
              else {"digit": None, "confidence": None})
    from hdsr_tf.reading.files import find_images, passing_headers

    files, problems = find_images(args.paths)
    files, refused = passing_headers(files)  # before any model loads: a hostile file costs nothing
    problems += refused
    if not files and problems:
        results = [{**unread, **p} for p in problems]
        (print_number_results(results, args.format) if args.number
         else print_digit_results(results, args.format, args.min_confidence))
        return 1
    from hdsr_tf.reading.fields import read_number_files
    from hdsr_tf.reading.predictor import Predictor

    if args.number:
        from hdsr_tf.reading import line_reading

        line_reader = line_reading.load(args.line_reader)
        reader = Predictor(args.model, bfloat16=args.bfloat16_reading).read
        results = read_number_files(reader, files, args.boxes_dir, line_reader=line_reader,
                                    structure=not args.no_forms)
        results += [{**unread, **p} for p in problems]
        if not results:
            cli.fail("no image files found in the given paths")
        print_number_results(results, args.format)
        return 1 if any(r["error"] for r in results) else 0
    if args.sr_dir and args.bfloat16_reading:
        cli.fail("--sr-dir draws pictures, which only the float32 signatures do: leave out --bfloat16-reading")
    predictor = Predictor(args.model, draw=bool(args.sr_dir), bfloat16=args.bfloat16_reading)
    invert = {"auto": -1, "dark": 1, "light": 0}[args.ink]
    if not files and not problems:
        cli.fail("no image files found in the given paths")
    results, interrupted = [], False
    try:
        for batch in predictor.iter_predict_files(files, invert, CHOICE[args.normalize], args.sr_dir):
            results += batch
    except KeyboardInterrupt:  # keep and print what finished
        interrupted = True
    results += [{**unread, **p} for p in problems]
    print_digit_results(results, args.format, args.min_confidence)
    if interrupted:
        print(f"interrupted: {len(files) - len(results) + len(problems)} of {len(files)} files were not read",
              file=sys.stderr)
        return 130
    return 1 if any(r["error"] for r in results) else 0


if __name__ == "__main__":
    cli.run(main)
    sys.exit(0)
