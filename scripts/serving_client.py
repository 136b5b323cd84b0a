#!/usr/bin/env python
"""Send images to a TF Serving instance that serves the exported hybrid, print its answers.

Example:  python scripts/serving_client.py --url http://localhost:8501 digit.png scan.jpg

Images go in batches of --batch-size per request. When the server refuses a whole
batch (an image only its decoder finds broken), the batch is sent again image by
image, so the bad one gets its own error line and the others their answers.
--status prints the model's versions, their state and its signatures.

--number reads each image as a whole number: the digits are found here, on the
client, and all crops of a batch of images go to the server in one request.
With --line-reader-model (the served line reader, scripts/export_line_reader.py)
each number is read whole instead: the client scales each image's ink to a line,
all lines go to the line reader in one request, and the digits that stand alone
to the hybrid in a second one (as predict.py --number reads). Printed form
structure (boxes, combs, rules, labels, dropout colours) is taken away on the
client first, as predict.py --number does (--no-forms: not).
"""

import sys

from hdsr_tf import cli


def main():
    from hdsr_tf.reading.printing import answer
    from hdsr_tf.reading.rest_client import (
        ServingError,
        describe_status,
        model_status,
        model_url,
        predict_in_batches,
        read_tensors,
    )

    parser = cli.parser(__doc__)
    parser.add_argument("images", nargs="*", help="PNG, JPEG, BMP, GIF or WEBP files")
    parser.add_argument("--url", default="http://localhost:8501", help="TF Serving REST address")
    parser.add_argument("--model", default="hybrid", help="model name on the server")
    parser.add_argument("--version", type=int, help="model version (default: the server's latest)")
    parser.add_argument("--invert", type=int, choices=(-1, 0, 1), help="-1 auto, 0 light-on-dark, 1 dark-on-light")
    parser.add_argument("--normalize", type=int, choices=(-1, 0, 1),
                        help="-1 auto, 0 no, 1 MNIST-normalize (crop, 20x20 fit, centre of mass)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server")
    parser.add_argument("--number", action="store_true", help="read each image as a number of one or more digits")
    parser.add_argument("--format", choices=("text", "csv", "json"), default="text", help="output format (--number)")
    parser.add_argument("--line-reader-model", default="", metavar="NAME",
                        help="with --number: the served line reader's model name (e.g. line_reader) reads each "
                             "number whole ('' = cut into digits that --model reads)")
    parser.add_argument("--no-forms", action="store_true",
                        help="with --number: read the image as it is, without removing printed form structure first")
    parser.add_argument("--min-confidence", type=float, default=0.0, metavar="P",
                        help="print 'unsure' instead of a digit read with confidence under P")
    parser.add_argument("--batch-size", type=int, default=64, help="images per request")
    parser.add_argument("--status", action="store_true", help="print the model's status and signatures, then exit")
    args = parser.parse_args()
    if args.status:
        try:
            print(describe_status(*model_status(args.url, args.model, args.version, args.timeout)))
        except ServingError as e:
            cli.fail(str(e))
        return 0
    if not args.images:
        cli.fail("give one or more image files (or --status)")
    if not 0 <= args.min_confidence <= 1:
        cli.fail(f"--min-confidence must be between 0 and 1, not {args.min_confidence}")
    if args.batch_size < 1:
        cli.fail(f"--batch-size must be positive, not {args.batch_size}")
    url = model_url(args.url, args.model, args.version)
    if args.number:
        from hdsr_tf.reading.fields import read_number_files
        from hdsr_tf.reading.printing import print_number_results
        from hdsr_tf.reading.rest_client import ServedLineReader

        def remote(crops):  # the digit crops, read by the server in one request
            return read_tensors(url, crops, args.timeout)

        line_reader = None
        if args.line_reader_model:
            line_reader = ServedLineReader(model_url(args.url, args.line_reader_model), args.timeout)
        try:
            results = read_number_files(remote, args.images, line_reader=line_reader, structure=not args.no_forms)
        except ServingError as e:
            cli.fail(str(e))
        print_number_results(results, args.format)
        return 1 if any(r["error"] for r in results) else 0
    from hdsr_tf.reading.files import read_image_bytes

    readable, failed = {}, 0
    for i, path in enumerate(args.images):
        try:
            readable[i] = read_image_bytes(path)  # the header checked here, as the server would
        except ValueError as e:
            print(f"{path}\terror: {e}")
            failed += 1
    try:
        results = predict_in_batches(url, list(readable.values()), args.batch_size, args.timeout,
                                     invert=args.invert, normalize=args.normalize)
    except ServingError as e:
        cli.fail(str(e))
    for i, r in zip(readable, results):
        if r["error"]:
            print(f"{args.images[i]}\terror: {r['error']}")
            failed += 1
        else:
            print(f"{args.images[i]}\t{answer(r['digit'], r['confidence'], args.min_confidence)}\t"
                  f"{r['confidence']:.4f}")
    return 1 if failed else 0


if __name__ == "__main__":
    cli.run(main)
    sys.exit(0)
