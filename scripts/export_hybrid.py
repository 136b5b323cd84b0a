#!/usr/bin/env python
"""Export the hybrid as a TF Serving SavedModel: <base-dir>/<version>/.

The hybrid comes from --hybrid (a .keras chain, e.g. train_hybrid.py's output)
or is built from --generator and --recognizer. The version is the next integer
unless --version is given; the write is atomic.
"""

import argparse

from hdsr_tf import cli


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hybrid", default="saved_models/hybrid_keras/hybrid.keras",
                        help="a hybrid .keras model (default: the shipped, jointly fine-tuned one)")
    parser.add_argument("--generator", help="build the hybrid from this generator .keras instead")
    parser.add_argument("--recognizer", default="saved_models/cnn/recognizer.keras",
                        help="recognizer .keras (with --generator)")
    parser.add_argument("--base-dir", default="saved_models/hybrid", help="TF Serving model base folder")
    parser.add_argument("--version", type=int, help="version number (default: next free integer)")
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
