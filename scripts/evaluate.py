#!/usr/bin/env python
"""The main report: read low-resolution MNIST test digits every way we can, side by side.

Rows: (a) recognizer on HR, (b) bicubic + recognizer, (c) PSNR-SR + recognizer,
(d) GAN-SR + recognizer, (e) the jointly fine-tuned hybrid, (f) the exported
SavedModel (must equal e), (g) a CNN trained directly on LR digits. At 4x, and
at 2x when 2x models are shipped. Writes report.md, report.json and figures.
"""

import argparse

from hdsr_tf import cli


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="saved_models", help="folder of shipped models")
    parser.add_argument("--out", default="reports/evaluation", help="where the report goes")
    parser.add_argument("--scales", default="4,2", help="scales to evaluate where models exist")
    parser.add_argument("--dida-dir", help="also evaluate on this DIDA-style folder's test split")
    parser.add_argument("--limit", type=int, default=0, help="only the first N test digits (0 = all)")
    parser.add_argument("--no-speed", action="store_true", help="skip the SavedModel latency measurement")
    args = parser.parse_args()

    from pathlib import Path

    from hdsr_tf.data import mnist
    from hdsr_tf.data.splits import dida_digits
    from hdsr_tf.evaluation.full_report import ScaleModels, evaluate_scale, write_report

    root, out = Path(args.models), Path(args.out)
    x, y = mnist.load_arrays("test")
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    sets = [("mnist", x, y)]
    if args.dida_dir:
        d = dida_digits(args.dida_dir)
        sets.append(("dida", *d.test))
    results = []
    for scale in (int(s) for s in args.scales.split(",")):
        models = ScaleModels.shipped(root, scale)
        if not models.psnr_generator.exists() and not models.hybrid.exists():
            print(f"[{scale}x] no shipped SR models: skipped")
            continue
        for tag, images, labels in sets:
            print(f"[{scale}x] evaluating on {tag} ({len(labels)} digits)")
            r = evaluate_scale(models, images, labels, out, tag, speed=not args.no_speed and tag == "mnist")
            for row in r["rows"]:
                print(f"  {row['name']:<55} accuracy {row['accuracy']:.2%}"
                      + (f"  PSNR {row['psnr']:.2f} dB  SSIM {row['ssim']:.3f}" if row["psnr"] else ""))
            results.append(r)
    if not results:
        cli.fail(f"no shipped super-resolution models under {root}")
    print(f"report: {write_report(results, out)}")


if __name__ == "__main__":
    cli.run(main)
