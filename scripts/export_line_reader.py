#!/usr/bin/env python
"""Export the line reader as a TF Serving SavedModel: <base-dir>/<version>/.

The line reader (scripts/train_line_reader.py) reads a whole number at once. Served, it is a model
of its own beside the hybrid: `serving_default` takes `line` float32 [B, 24, W, 1] (the client
finds each image's ink and scales it, hdsr_tf/data/lines.py) and returns `frame_probabilities`
[B, W/4, 11]. `scripts/serving_client.py --number --line-reader-model line_reader` reads with it.
The version is the next free integer unless --version is given; the write is atomic.
"""

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--line-reader", default="saved_models/line_reader/line_reader.keras",
                        help="the line reader .keras")
    parser.add_argument("--base-dir", default="saved_models/line_reader",
                        help="TF Serving model base folder (numbered versions go in it)")
    parser.add_argument("--version", type=int, help="version number (default: the next free integer)")
    args = parser.parse_args()

    from hdsr_tf.export import export_line_reader
    from hdsr_tf.models import load_model

    path = export_line_reader(load_model(args.line_reader), args.base_dir, args.version)
    print(f"exported: {path}\ncheck it: saved_model_cli show --dir {path} --all")


if __name__ == "__main__":
    cli.run(main)
