#!/usr/bin/env python
"""Export the hybrid as a TF Serving SavedModel: <base-dir>/<version>/.

The hybrid comes from --hybrid (a .keras chain, e.g. train_hybrid.py's output;
by default the shipped, jointly fine-tuned 4x hybrid) or is built from
--generator and --recognizer. The version is the next free integer unless
--version is given; the write is atomic.
"""

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--hybrid", default="saved_models/hybrid_x4/hybrid.keras", help="a hybrid .keras model")
    parser.add_argument("--generator", help="build the hybrid from this generator .keras instead of --hybrid")
    parser.add_argument("--recognizer", default="saved_models/cnn/recognizer.keras",
                        help="recognizer .keras (with --generator)")
    parser.add_argument("--base-dir", default="saved_models/hybrid", help="TF Serving model base folder")
    parser.add_argument("--version", type=int, help="version number (default: the next free integer)")
    args = parser.parse_args()

    from hdsr_tf.export import export_hybrid
    from hdsr_tf.models import load_model
    from hdsr_tf.models.hybrid import build_hybrid

    if args.generator:
        model = build_hybrid(load_model(args.generator), load_model(args.recognizer))
    else:
        model = load_model(args.hybrid)
    path = export_hybrid(model, args.base_dir, args.version)
    print(f"exported: {path}\ncheck it: saved_model_cli show --dir {path} --all")


if __name__ == "__main__":
    cli.run(main)
