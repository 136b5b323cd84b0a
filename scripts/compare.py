#!/usr/bin/env python
"""The paper's comparative study, measured in one run: KNN, SVM, LeNet-5, the keras.io
convnet, our recognizer and our hybrid; test error, macro scores, time, speed, size and
memory; then accuracy under noise, blur, rotation, elastic distortion and down-sampling.
Writes comparison.md, comparison.json and robustness_*.png into --out (the committed
study is reports/: pass --out reports to refresh it).
"""

import sys

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--out", default="runs/comparison", help="where the tables and figures go")
    parser.add_argument("--models", default="saved_models", help="folder of shipped models")
    parser.add_argument("--seed", type=int, default=0, help="seed for the split, subsamples and corruptions")
    parser.add_argument("--svm-subsample", type=int, default=10000, help="training digits for the SVM")
    parser.add_argument("--robustness-size", type=int, default=2000, help="test digits per corrupted set")
    parser.add_argument("--tiny", action="store_true",
                        help="a smoke run: a few hundred digits, one epoch each, small k (for tests)")
    args = parser.parse_args()

    import json
    import platform
    from pathlib import Path

    from hdsr_tf.data.splits import load_digits
    from hdsr_tf.evaluation import compare as c
    from hdsr_tf.evaluation import corruptions
    from hdsr_tf.io import write_json
    from hdsr_tf.models.cnn import build_keras_io_convnet

    models, out = Path(args.models), Path(args.out)
    digits = load_digits("mnist", seed=args.seed)
    epochs = {"lenet": 10, "keras_io": 15}
    ks, svm_n, rob_n, severities = (1, 3, 5, 7), args.svm_subsample, args.robustness_size, None
    if args.tiny:
        digits = digits.limited(400)
        epochs = {"lenet": 1, "keras_io": 1}
        ks, svm_n, rob_n = (1, 3), 300, 100
        severities = {k: v[:2] for k, v in corruptions.CORRUPTIONS.items()}

    def shipped_seconds(path):
        try:
            return json.loads((path.parent / "metrics.json").read_text()).get("train_seconds_this_session")
        except (OSError, ValueError):
            return None

    rec_path, hyb_path = models / "cnn" / "recognizer.keras", models / "hybrid_x4" / "hybrid.keras"
    readers = [
        c.KNNReader(ks),
        c.SVMReader(svm_n, args.seed),
        c.KerasReader("LeNet-5 (Keras, tanh, average pooling)", c.build_lenet5, epochs["lenet"],
                      note=f"{epochs['lenet']} epochs of Adam, batch 128"),
        c.KerasReader("keras.io convnet", build_keras_io_convnet, epochs["keras_io"],
                      note=f"{epochs['keras_io']} epochs of Adam, batch 128 (the keras.io recipe)"),
        c.ShippedReader("our recognizer (shipped)", rec_path, shipped_seconds(rec_path)),
    ]
    if hyb_path.exists():
        hyb_seconds = shipped_seconds(hyb_path)
        readers.append(c.ShippedReader("our hybrid (shipped), on 7x7 digits", hyb_path, hyb_seconds, reads_lr=True,
                                       note="reads the 4x low-res digit; training time is its joint fine-tuning"))
    rows = []
    for r in readers:
        print(f"[compare] {r.name}", flush=True)
        rows.append(c.measure(r, digits))
        print(f"          test error {rows[-1]['test_error']:.2%}", flush=True)
    print("[compare] robustness", flush=True)
    study = c.robustness(readers, digits.test, rob_n, args.seed, severities)
    cli.output_dir(out)
    c.plot_robustness(study, out)
    import tensorflow as tf

    meta = {"machine": f"{__import__('os').cpu_count()} CPU cores, {platform.machine()}, TensorFlow {tf.__version__}",
            "command": "python scripts/compare.py" + (" --tiny" if args.tiny else ""),
            "test_size": int(len(digits.test[1])), "robustness_size": int(min(rob_n, len(digits.test[1]))),
            "seed": args.seed}
    write_json(out / "comparison.json", {"meta": meta, "rows": rows, "paper_quoted": c.PAPER_QUOTED,
                                         "robustness": study})
    (out / "comparison.md").write_text(c.markdown(rows, study, meta))
    print(f"report: {out / 'comparison.md'}")


if __name__ == "__main__":
    cli.run(main)
    sys.exit(0)
