#!/usr/bin/env python
"""Send images to a TF Serving instance that serves the exported hybrid, print its answers.

Example:  python scripts/serving_client.py --url http://localhost:8501 digit.png scan.jpg

--number reads each image as a whole number: the digits are found here, on the
client, and all crops of a batch of images go to the server in one request.
"""

import sys

from hdsr_tf import cli


def main():
    from hdsr_tf.serving import ServingError, model_url, predict, probabilities

    parser = cli.parser(__doc__)
    parser.add_argument("images", nargs="+", help="PNG, JPEG, BMP, GIF or WEBP files")
    parser.add_argument("--url", default="http://localhost:8501", help="TF Serving REST address")
    parser.add_argument("--model", default="hybrid", help="model name on the server")
    parser.add_argument("--version", type=int, help="model version (default: the server's latest)")
    parser.add_argument("--invert", type=int, choices=(-1, 0, 1), help="-1 auto, 0 light-on-dark, 1 dark-on-light")
    parser.add_argument("--normalize", type=int, choices=(-1, 0, 1),
                        help="-1 auto, 0 no, 1 MNIST-normalize (crop, 20x20 fit, centre of mass)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server")
    parser.add_argument("--number", action="store_true", help="read each image as a number of one or more digits")
    parser.add_argument("--format", choices=("text", "csv", "json"), default="text", help="output format (--number)")
    args = parser.parse_args()
    url = model_url(args.url, args.model, args.version)
    if args.number:
        import numpy as np

        from hdsr_tf.numbers import print_number_results, read_number_files

        def remote(crops):  # the digit crops, read by the server in one request
            return np.asarray(probabilities(url, crops, args.timeout), np.float32).reshape(len(crops), 10)

        try:
            results = read_number_files(remote, args.images)
        except ServingError as e:
            cli.fail(str(e))
        print_number_results(results, args.format)
        return 1 if any(r["error"] for r in results) else 0
    images = []
    for path in args.images:
        with open(path, "rb") as f:
            images.append(f.read())
    try:
        results = predict(url, images, args.timeout, invert=args.invert, normalize=args.normalize)
    except ServingError as e:
        cli.fail(str(e))
    for path, r in zip(args.images, results):
        print(f"{path}\t{r['digit']}\t{r['confidence']:.4f}")
    return 0 if len(results) == len(images) else 1


if __name__ == "__main__":
    cli.run(main)
    sys.exit(0)
