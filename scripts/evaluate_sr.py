#!/usr/bin/env python
"""Evaluate super-resolution generators on the MNIST test set: PSNR and SSIM for bicubic,
the PSNR-stage and the GAN-stage generators, the recognizer's accuracy on each, and a
comparison figure. Writes sr_metrics.json and sr_report.md into --out."""

import argparse

from hdsr_tf import cli


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--psnr-generator", default="saved_models/esrgan_x4/generator_psnr.keras",
                        help="PSNR-stage generator .keras (its scale sets the LR size); '' to skip")
    parser.add_argument("--gan-generator", default="saved_models/esrgan_x4/generator_gan.keras",
                        help="GAN-stage generator .keras; '' to skip")
    parser.add_argument("--recognizer", default="saved_models/cnn/recognizer.keras",
                        help="recognizer that reads the SR digits")
    parser.add_argument("--out", default="saved_models/esrgan_x4", help="folder for the metrics, report and figure")
    parser.add_argument("--dida-dir", help="also evaluate on this DIDA-style folder's test split")
    args = parser.parse_args()

    from pathlib import Path

    from hdsr_tf.data import mnist
    from hdsr_tf.data.splits import dida_digits
    from hdsr_tf.evaluation import sr_report as sr
    from hdsr_tf.models import load_model
    from hdsr_tf.models.hybrid import generator_scale
    from hdsr_tf.training.run_dir import write_json

    def load(path):
        if not path:
            return None
        if not Path(path).is_file():
            cli.fail(f"{path} not found")
        return load_model(path)

    recognizer = load(args.recognizer)
    gens = {k: load(p) for k, p in (("PSNR model", args.psnr_generator), ("GAN model", args.gan_generator))}
    gens = {k: g for k, g in gens.items() if g is not None}
    if recognizer is None or not gens:
        cli.fail("need --recognizer and at least one generator")
    scale = generator_scale(next(iter(gens.values())))
    sets = [("mnist", *mnist.load_arrays("test"))]
    if args.dida_dir:
        sets.append(("dida", *dida_digits(args.dida_dir).test))
    out = Path(args.out)
    metrics, md = {"scale": scale}, []
    for tag, images, labels in sets:
        lr, hr = sr.lr_test_images(images, scale)
        outs = {"bicubic": sr.bicubic(lr), **{k: sr.super_resolve(g, lr) for k, g in gens.items()}}
        rows = [sr.recognition_row(k, sr.predict_probs(recognizer, v), labels, v, hr) for k, v in outs.items()]
        for row, v in zip(rows, outs.values()):
            row["psnr_first1000"], row["ssim_first1000"] = sr.quality(v[:1000], hr[:1000])
            print(f"{tag} {row['name']:<12} PSNR {row['psnr']:.2f} dB  SSIM {row['ssim']:.4f}  "
                  f"recognizer accuracy {row['accuracy']:.2%}")
        metrics[tag] = rows
        md += [f"## {tag} test set, {scale}x (area downsampling), n = {len(labels)}", "", sr.markdown_table(rows)]
        sr.comparison_figure(lr, outs, hr, out / f"comparison_{tag}.png", n=10,
                             title=f"{tag}: LR | bicubic | SR | HR ({scale}x)")
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "sr_metrics.json", metrics)
    (out / "sr_report.md").write_text("\n".join(md) + "\n")
    print(f"report: {out / 'sr_report.md'}")


if __name__ == "__main__":
    cli.run(main)
