#!/usr/bin/env python
"""Evaluate super-resolution generators on the full MNIST test set: PSNR, SSIM (11x11
window; 7x7 beside it) for bicubic, the PSNR-stage and the GAN-stage generators, the
recognizer's accuracy on each, and a comparison figure. Writes sr_metrics.json,
sr_report.md and comparison_*.png into --out.

--alpha A adds ESRGAN's network interpolation: a generator whose weights are
(1 - A) * PSNR-stage + A * GAN-stage, trading PSNR for sharpness without retraining
(both generators must share one architecture).

--suite measures the pictures people see instead: on the robustness suite's low-resolution
conditions (the full test set; 5-14 px by three methods, 28 px, blur, noise, JPEG, contrast, the
blind recipe's held-out mix) the served model's sr_image (--served) and the any-size generator
(--any-size) beside bicubic, and whole number lines (MNIST test digits) shrunk 2x and 4x,
enlarged again by upscale.py's generators beside bicubic. Writes sr_suite.md/json and
examples.png into --out.
"""

from hdsr_tf import cli


def main():
    parser = cli.parser(__doc__)
    parser.add_argument("--psnr-generator", default="saved_models/esrgan_x4/generator_psnr.keras",
                        help="PSNR-stage generator .keras (its scale sets the LR size); '' to skip")
    parser.add_argument("--gan-generator", default="saved_models/esrgan_x4/generator_gan.keras",
                        help="GAN-stage generator .keras; '' to skip")
    parser.add_argument("--alpha", type=float, action="append", default=[],
                        help="also evaluate the network interpolation with this GAN weight in [0, 1] (repeatable)")
    parser.add_argument("--recognizer", default="saved_models/cnn/recognizer.keras",
                        help="recognizer that reads the SR digits")
    parser.add_argument("--out", default="runs/evaluate_sr", help="folder for the metrics, report and figure")
    parser.add_argument("--dida-dir", help="also evaluate on this DIDA-style folder's test split")
    parser.add_argument("--suite", action="store_true", help="the pictures people see (above) instead")
    parser.add_argument("--served", default="saved_models/hybrid/5,saved_models/hybrid/6",
                        help="--suite: the served versions whose sr_image is measured (comma-separated)")
    parser.add_argument("--any-size", default="saved_models/esrgan_any_size/generator_psnr.keras",
                        help="--suite: the any-size generator .keras ('' to leave out)")
    parser.add_argument("--lines", type=int, default=200, help="--suite: number lines per scale")
    args = parser.parse_args()
    if args.suite:
        from hdsr_tf.evaluation.sr_suite import run_suite

        path = run_suite(args.served.split(","), args.any_size, args.lines, args.out)
        print(f"report: {path}")
        return

    from pathlib import Path

    from hdsr_tf.data import mnist
    from hdsr_tf.data.splits import dida_digits
    from hdsr_tf.evaluation import sr_report as sr
    from hdsr_tf.io import write_json
    from hdsr_tf.models import load_model
    from hdsr_tf.models.rrdb import generator_scale, interpolate_generators

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
    if args.alpha and len(gens) < 2:
        cli.fail("--alpha needs both --psnr-generator and --gan-generator")
    for alpha in args.alpha:
        gens[f"interpolated, alpha {alpha:g}"] = interpolate_generators(gens["PSNR model"], gens["GAN model"], alpha)
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
        for row in rows:
            print(f"{tag} {row['name']:<28} PSNR {row['psnr']:.2f} dB  SSIM {row['ssim']:.4f} (7x7 "
                  f"{row['ssim_7x7']:.4f})  recognizer accuracy {row['accuracy']:.2%}")
        metrics[tag] = rows
        md += [f"## {tag} test set, {scale}x (area downsampling), n = {len(labels)}", "", sr.markdown_table(rows)]
        sr.comparison_figure(lr, outs, hr, out / f"comparison_{tag}.png", n=10,
                             title=f"{tag}: LR | bicubic | SR | HR ({scale}x)")
    cli.output_dir(out)
    write_json(out / "sr_metrics.json", metrics)
    (out / "sr_report.md").write_text("\n".join(md) + "\n")
    print(f"report: {out / 'sr_report.md'}")


if __name__ == "__main__":
    cli.run(main)
