#!/usr/bin/env python
"""The robustness benchmark, on the full MNIST test set, every reader side by side in one run:

  full resolution: clean, Gaussian noise 0.1 / 0.2 / 0.3, Gaussian blur 2.0, and the 15
    MNIST-C corruptions (our seeded rendering of the paper's definitions);
  low resolution: digits of 5, 6, 7, 8, 10, 12, 14 and 28 px made by area, bilinear and
    bicubic downsampling; at 7 and 10 px also blur, noise 0.02 / 0.05 / 0.1, JPEG 30 / 50 / 75
    and contrast 0.5; and a "mixed" set drawn from the blind recipe with a held-out seed.

Readers: the keras.io convnet (trained here by its standard recipe, 15 epochs); the paper's
pipeline as shipped (the clean recognizer, also "bicubic + recognizer" on LR rows; the clean
direct LR rival; hybrid/2); ours, trained on the blind recipes (the robust recognizer, the
blind direct rival, the jointly fine-tuned blind hybrid, and the newest served version, which reads
small digits with the rival, says "no digit" (counted as wrong here) and draws them with the any-size
generator); and any --reader you add. Writes
robustness.md, robustness.json, accuracy_by_size.png and mnist_c.png into --out. With the eight
default readers it took 23 minutes on a quiet 2-core CPU (served version 3 then; version 6 draws with
two generators) and 59 minutes on another sharing its cores with a test run; --quick runs a 300-digit
subset in a minute or two (for CI). To choose between models, measure them on the seeded validation digits instead
(--split validation --only-added --reader NAME=PATH ...): never on the test set.
"""

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--models", default="saved_models", help="folder of shipped models")
    parser.add_argument("--out", default="runs/robustness", help="where the tables and figures go")
    parser.add_argument("--reader", action="append", default=[], metavar="NAME=PATH",
                        help="also measure this .keras classifier or SavedModel folder (repeatable); what it "
                             "saw in training is read from the config.json beside it")
    parser.add_argument("--seed", type=int, default=0, help="seed for the corruptions and the convnet's training")
    parser.add_argument("--convnet-epochs", type=int, default=15, help="epochs of the keras.io convnet's recipe")
    parser.add_argument("--quick", action="store_true", help="300 test digits, fewer sizes, 1 convnet epoch")
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="validation: the seeded 6,000 validation digits, to choose between models (never "
                             "choose on the test set)")
    parser.add_argument("--only-added", action="store_true",
                        help="measure only the --reader entries (no convnet, no shipped peers)")
    args = parser.parse_args()
    if args.only_added and not args.reader:
        cli.fail("--only-added needs at least one --reader NAME=PATH")

    import json
    from pathlib import Path

    import keras

    from hdsr_tf.data.recipe import load_recipe
    from hdsr_tf.data.splits import load_digits
    from hdsr_tf.errors import MissingFileError
    from hdsr_tf.evaluation import compare, robustness_report
    from hdsr_tf.evaluation import robustness as rb
    from hdsr_tf.export import latest_version
    from hdsr_tf.io import atomic_write_text, write_json
    from hdsr_tf.models import load_model
    from hdsr_tf.models.cnn import build_keras_io_convnet

    models, out = Path(args.models), Path(args.out)
    extra = []
    for spec in args.reader:
        name, sep, path = spec.partition("=")
        if not sep or not Path(path).exists():
            cli.fail(f"--reader takes NAME=PATH to an existing .keras file or SavedModel folder, not {spec!r}")
        extra.append((name, Path(path)))
    digits = load_digits("mnist", seed=args.seed)
    images, labels = digits.test if args.split == "test" else digits.val
    epochs = args.convnet_epochs
    if args.quick:
        digits = digits.limited(3000)
        images, labels, epochs = images[:300], labels[:300], 1
    cli.output_dir(out)

    def seen_by(path: Path) -> str:
        config = path.parent / "config.json" if path.is_file() else path / "config.json"
        try:
            recipe = json.loads(config.read_text()).get("recipe", "")
        except (OSError, ValueError):
            return "not recorded"
        return ", ".join(load_recipe(recipe).families()) if recipe else "clean (no degradation recipe)"

    readers = []
    if not args.only_added:
        print(f"training the keras.io convnet ({epochs} epochs, its standard recipe)", flush=True)
        convnet = compare.KerasReader("keras.io convnet", build_keras_io_convnet, epochs, seed=args.seed)
        convnet.fit(digits.train, digits.val)
        readers.append(rb.keras_reader("keras.io convnet", convnet.model, "clean"))

    def families(recipe: str) -> str:
        return ", ".join(load_recipe(recipe).families())

    # (name, path, what it saw): the paper's clean-trained pipeline, then ours trained on the blind recipes,
    # and the newest served version (saved_models/hybrid/VERSIONS.md)
    try:
        served = latest_version(models / "hybrid")
    except MissingFileError:
        served = models / "hybrid" / "(none exported)"  # left out below, as any shipped model not found
    shipped = [("recognizer (cnn)", models / "cnn" / "recognizer.keras",
                "clean + affine augmentation (rotate/shift/zoom)"),
               ("direct LR rival (lowres_cnn_x4)", models / "lowres_cnn_x4" / "recognizer.keras",
                "clean, 4x area downsampling"),
               ("paper's pipeline (hybrid/2)", models / "hybrid" / "2",
                "clean, 4x area downsampling (+ whole-pixel shifts)"),
               ("robust recognizer (cnn_robust)", models / "cnn_robust" / "recognizer.keras", families("recognizer")),
               ("blind direct rival (rival_blind)", models / "rival_blind" / "recognizer.keras", families("blind")),
               ("blind hybrid (hybrid_x4_blind)", models / "hybrid_x4_blind" / "hybrid.keras",
                families("blind") + "; its recognizer first the recognizer recipe"),
               (f"served hybrid/{served.name}", served, "under 28 px: rival_blind's (blind recipe); 28 px and "
                "more: cnn_robust's (recognizer recipe); its no-digit answer: both recipes' digits")]
    for name, path, seen in [] if args.only_added else shipped:
        if path.is_file():
            readers.append(rb.keras_reader(name, load_model(path), seen))
        elif (path / "saved_model.pb").is_file():
            readers.append(rb.savedmodel_reader(name, path, seen))
        else:
            print(f"  ({name}: {path} not found, left out)")
    for name, path in extra:
        if path.is_file():
            readers.append(rb.keras_reader(name, load_model(path), seen_by(path)))
        else:
            readers.append(rb.savedmodel_reader(name, path, seen_by(path)))
    keras.backend.clear_session()

    print(f"measuring {len(readers)} readers on {len(labels)} {args.split} digits:", flush=True)
    print("  " + " | ".join(r.name for r in readers))
    study = rb.run(readers, images, labels, seed=args.seed, quick=args.quick)
    meta = {"cpu": cli.machine()}
    study["machine"] = meta["cpu"]
    study["split"] = args.split
    write_json(out / "robustness.json", study)
    atomic_write_text(out / "robustness.md", robustness_report.markdown(study, meta))
    figures = robustness_report.plot(study, out)
    print(f"report: {out / 'robustness.md'}; figures: {', '.join(str(f) for f in figures)}")


if __name__ == "__main__":
    cli.run(main)
