#!/usr/bin/env python
"""Export the hybrid as a TF Serving SavedModel: <base-dir>/<version>/.

The hybrid comes from --hybrid (a .keras chain, e.g. train_hybrid.py's output;
by default the shipped, jointly fine-tuned 4x hybrid) or is built from
--generator and --recognizer. With --direct CLASSIFIER the digit of a small
input is read by that classifier (trained on LR digits, reading them enlarged
to 28 px) and --generator only draws the sr_image. --full-resolution picks the
recognizer for inputs of 28 px or more. The version is the next free integer
unless --version is given; the write is atomic.

--detector adds the no-digit detector (scripts/train_detector.py): a no_digit output, and digit -1
above --no-digit-threshold. Version 4, the served one, as saved_models/hybrid/VERSIONS.md gives it:
  python scripts/export_hybrid.py --direct saved_models/rival_blind/recognizer.keras \
      --generator saved_models/esrgan_x4_blind/generator_psnr.keras \
      --full-resolution saved_models/cnn_robust/recognizer.keras \
      --detector saved_models/detector/detector.keras --no-digit-threshold 0.9314 --version 4

Without --detector, a --direct and a --full-resolution reader that each carry a no-digit head
(train_detector.py --reader: reader_with_head.keras) answer no_digit themselves, in the pass that
reads the digit (measured as a version 7, not shipped: benchmarks/NOTES.md, session 18).
"""

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--hybrid", default="saved_models/hybrid_x4/hybrid.keras", help="a hybrid .keras model")
    parser.add_argument("--generator", help="build the hybrid from this generator .keras instead of --hybrid")
    parser.add_argument("--recognizer", default="saved_models/cnn/recognizer.keras",
                        help="recognizer .keras (with --generator)")
    parser.add_argument("--direct", help="a classifier .keras that reads small inputs itself (with --generator)")
    parser.add_argument("--full-resolution", help="recognizer .keras for inputs of 28 px or more (default: the "
                                                  "hybrid's own recognizer)")
    parser.add_argument("--detector", help="a no-digit detector .keras (scripts/train_detector.py): adds the no_digit "
                                           "output, and digit -1 above --no-digit-threshold")
    parser.add_argument("--no-digit-threshold", type=float, default=0.5,
                        help="no_digit probability above which the digit is -1 (the detector run's FINISHED file "
                             "holds the one fitted on validation digits)")
    parser.add_argument("--bfloat16-reading", action="store_true",
                        help="also export the reading signatures computed in bfloat16 (read_bfloat16, ...; needs "
                             "--direct): faster on CPUs with AVX512-BF16 or AMX")
    parser.add_argument("--picture-generator", help="an any-size generator .keras (scale 1) that draws sr_image for "
                                                    "small inputs, but those of the side --generator reads (7 px "
                                                    "for a 4x one), which --generator keeps drawing")
    parser.add_argument("--max-pixels", type=int, default=25_000_000,
                        help="the bytes signatures refuse larger images from their header (0: no header checks, "
                             "as versions 1 and 2)")
    parser.add_argument("--no-size-routing", action="store_true",
                        help="super-resolve every input, full-resolution ones too (version 1's behaviour)")
    parser.add_argument("--base-dir", default="saved_models/hybrid", help="TF Serving model base folder")
    parser.add_argument("--version", type=int, help="version number (default: the next free integer)")
    args = parser.parse_args()

    from hdsr_tf.export import export_hybrid
    from hdsr_tf.models import load_model
    from hdsr_tf.models.hybrid import HR_SIZE, build_direct_reader, build_hybrid

    if args.bfloat16_reading and not args.direct:
        cli.fail("--bfloat16-reading needs --direct (the bfloat16 path reads without the generator)")
    if args.direct and not args.generator:
        cli.fail("--direct needs --generator (it draws the sr_image)")
    size = None
    if args.direct:
        model, size = build_direct_reader(load_model(args.direct), load_model(args.generator)), HR_SIZE
    elif args.generator:
        model = build_hybrid(load_model(args.generator), load_model(args.recognizer))
    else:
        model = load_model(args.hybrid)
    full = load_model(args.full_resolution) if args.full_resolution else None
    detector = load_model(args.detector) if args.detector else None
    if not 0 < args.no_digit_threshold < 1:
        cli.fail(f"--no-digit-threshold must be between 0 and 1, not {args.no_digit_threshold}")
    if args.max_pixels < 0:
        cli.fail(f"--max-pixels must be positive (or 0 for no header checks), not {args.max_pixels}")
    path = export_hybrid(model, args.base_dir, args.version, input_size=size, max_pixels=args.max_pixels or None,
                         full_resolution=full, route_full_resolution=not args.no_size_routing,
                         detector=detector, no_digit_threshold=args.no_digit_threshold,
                         bfloat16=args.bfloat16_reading,
                         picture=load_model(args.picture_generator) if args.picture_generator else None)
    print(f"exported: {path}\ncheck it: saved_model_cli show --dir {path} --all")


if __name__ == "__main__":
    cli.run(main)
