#!/usr/bin/env python
"""Trust in the served model, measured as a client reads it (its `read` signature: serving_default's
answers without drawing sr_image; serving_default for versions before 5) on the full MNIST test set:

  the no-digit probe (blank, uniform grey, Gaussian and salt-and-pepper noise, lines,
    smudges, letters in held-out fonts; 7x7, 14x14 and 28x28; a seed no training uses):
    the share answered "no digit";
  MNIST test digits, clean and at every size and downsampler of the robustness suite and the
    held-out mixed draw: the share wrongly answered "no digit", accuracy, ECE;
  reliability diagrams (clean, 7x7 area, mixed).

Writes trust.md, trust.json and reliability.png into --out. The full run took about 3 minutes
on a 2-core CPU; --quick uses 300 test digits and 50 images per family.

--validation-font K runs the probe's protocol on validation data instead, to choose between models
(no test data is read): the validation seed, letters in training font K, which the models compared
must have left out (train_detector.py --held-out-font K); writes probe_validation.json.
"""

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--model", default="saved_models/hybrid", help="SavedModel version folder, or the base "
                                                                       "folder (its newest version)")
    parser.add_argument("--out", default="runs/trust", help="where the tables and figure go")
    parser.add_argument("--per-family", type=int, default=500, help="probe images per non-digit family")
    parser.add_argument("--seed", type=int, default=0, help="seed of the probe and the suite's draws")
    parser.add_argument("--quick", action="store_true", help="300 test digits, 50 per family, fewer sizes")
    parser.add_argument("--validation-font", type=int, choices=range(4), default=None,
                        help="the probe on validation, letters in this training font only (see above)")
    args = parser.parse_args()

    from pathlib import Path

    from hdsr_tf.data.splits import load_digits
    from hdsr_tf.evaluation import trust
    from hdsr_tf.export import latest_version
    from hdsr_tf.io import atomic_write_text, write_json

    path = Path(args.model)
    if not (path / "saved_model.pb").exists():
        path = latest_version(path)
    if args.validation_font is not None:
        rows = trust.probe(trust.served(path), args.per_family, args.seed, validation_font=args.validation_font)
        cli.output_dir(Path(args.out))
        write_json(Path(args.out) / "probe_validation.json", {"model": str(path), "font": args.validation_font,
                                                              "rows": rows, "machine": cli.machine()})
        for r in rows:
            print(f"{r['family']:>15} {r['size']:>2} px  {r['no_digit']:.2%}")
        print(f"mean {sum(r['no_digit'] for r in rows) / len(rows):.2%}")
        return
    images, labels = load_digits("mnist", seed=args.seed).test
    per_family = args.per_family
    if args.quick:
        images, labels, per_family = images[:300], labels[:300], min(per_family, 50)
    study = trust.run_study(path, images, labels, per_family, args.seed, args.quick)
    out = Path(args.out)
    cli.output_dir(out)
    write_json(out / "trust.json", {**study, "machine": cli.machine()})
    atomic_write_text(out / "trust.md", trust.markdown(study, f"CPU: {cli.machine()}; {study['seconds']} s."))
    trust.plot(study, out)
    s = study["summary"]
    print(f"probe answered 'no digit': {s['probe_no_digit']:.2%} (worst {s['probe_no_digit_worst']:.2%}); digits "
          f"refused: clean {s['digits_refused_clean']:.3%}, worst {s['digits_refused_worst']:.3%}; ECE clean "
          f"{s['ece_clean']:.2%}\nreport: {out / 'trust.md'}")


if __name__ == "__main__":
    cli.run(main)
