"""The project's main report: every way of reading low-resolution test digits, side by side.

For each scale with shipped models, on the MNIST test set (and a DIDA folder's
test split when given):

(a) recognizer on HR digits (the upper bound); (b) bicubic + recognizer;
(c) PSNR-stage SR + recognizer; (d) GAN-stage SR + recognizer; (e) the jointly
fine-tuned hybrid, and (e') its recognizer on HR digits (joint fine-tuning may
have changed it); (f) the exported SavedModel through ``serving_default``,
which must equal (e); (g) a CNN trained directly on the LR digits; (h) the
served (newest) SavedModel when it is another model than (e).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from hdsr_tf.errors import MissingFileError
from hdsr_tf.evaluation import sr_report as sr
from hdsr_tf.evaluation.classification import model_outputs
from hdsr_tf.export import latest_version, load_version
from hdsr_tf.io import write_json
from hdsr_tf.models import load_model
from hdsr_tf.signatures import choose


@dataclass
class ScaleModels:
    """Where the shipped models for one scale live (missing ones are skipped)."""

    scale: int
    recognizer: Path
    psnr_generator: Path
    gan_generator: Path
    hybrid: Path
    lowres_cnn: Path
    savedmodel_base: Path | None = None

    @classmethod
    def shipped(cls, root: Path, scale: int) -> "ScaleModels":
        esrgan = root / f"esrgan_x{scale}"
        return cls(scale, root / "cnn" / "recognizer.keras",
                   esrgan / "generator_psnr.keras", esrgan / "generator_gan.keras",
                   root / f"hybrid_x{scale}" / "hybrid.keras", root / f"lowres_cnn_x{scale}" / "recognizer.keras",
                   root / "hybrid" if scale == 4 else None)


def _serving_fn(version_dir: Path, draw: bool = True):
    """A version's ``serving_default``, or with ``draw=False`` its reading twin where it has one."""
    signatures = load_version(version_dir).signatures
    return signatures[choose(signatures, "serving_default", draw)]


def _served(fn, lr: np.ndarray) -> dict:
    """The probabilities and digits (-1: "no digit") a served signature gives for ``lr``, in batches."""
    parts = [fn(image=tf.constant(lr[i:i + 500])) for i in range(0, len(lr), 500)]
    return {k: np.concatenate([p[k].numpy() for p in parts]) for k in ("probabilities", "digit")}


def _load(path: Path):
    return load_model(path) if path and path.is_file() else None


def evaluate_scale(models: ScaleModels, images: np.ndarray, labels: np.ndarray, out_dir: Path,
                   tag: str = "mnist", speed: bool = True) -> dict:
    s = models.scale
    lr, hr = sr.lr_test_images(images, s)
    recognizer = _load(models.recognizer)
    if recognizer is None:
        raise MissingFileError(f"recognizer {models.recognizer} not found")
    rows, figure_cols = [], {}
    rows.append(sr.recognition_row("(a) recognizer on HR digits (upper bound)", sr.predict_probs(recognizer, hr),
                                   labels))
    bic = sr.bicubic(lr)
    figure_cols["bicubic"] = bic
    rows.append(sr.recognition_row("(b) bicubic + recognizer", sr.predict_probs(recognizer, bic), labels, bic, hr))
    for key, name, path in (("PSNR-SR", "(c) PSNR-SR + recognizer", models.psnr_generator),
                            ("GAN-SR", "(d) GAN-SR + recognizer", models.gan_generator)):
        gen = _load(path)
        if gen is not None:
            out = sr.super_resolve(gen, lr)
            figure_cols[key] = out
            rows.append(sr.recognition_row(name, sr.predict_probs(recognizer, out), labels, out, hr))
    hybrid = _load(models.hybrid)
    result = {"scale": s, "dataset": tag, "num_examples": int(len(labels))}
    if hybrid is not None:
        out = model_outputs(hybrid, lr)
        figure_cols["hybrid SR"] = out["sr_image"]
        rows.append(sr.recognition_row("(e) jointly fine-tuned hybrid", out["probabilities"], labels,
                                       out["sr_image"], hr))
        rows.append(sr.recognition_row("(e') its recognizer on HR digits (goal: within 0.1 pt of (a))",
                                       sr.predict_probs(hybrid.get_layer("recognizer"), hr), labels))
        # The hybrid's generator is an SR model tuned for being read; does that carry over to
        # a recognizer it was not trained with? (a)'s recognizer reads its output here.
        rows.append(sr.recognition_row("(e\") its SR output read by (a)'s recognizer",
                                       sr.predict_probs(recognizer, out["sr_image"]), labels))
        if models.savedmodel_base is not None and models.savedmodel_base.is_dir():
            served = latest_version(models.savedmodel_base)
            # (f) is (e) exported: version 2 where it exists (size routing, (e)'s weights), else the newest
            exported = models.savedmodel_base / "2" if (models.savedmodel_base / "2").is_dir() else served
            served_fn = _serving_fn(served)
            probs = _served(served_fn if exported == served else _serving_fn(exported), lr)["probabilities"]
            same = bool(np.array_equal(np.argmax(probs, 1), np.argmax(out["probabilities"], 1)))
            diff = float(np.max(np.abs(probs - out["probabilities"])))
            rows.append(sr.recognition_row(f"(f) SavedModel {exported.name}, serving_default", probs, labels,
                                           identical_predictions_to_e=same, max_probability_difference=diff))
            if served != exported:
                read = _served(_serving_fn(served, draw=False), lr)  # its digit: a refusal is wrong
                rows.append(sr.recognition_row(f"(h) the served SavedModel {served.name} (trained on the blind "
                                               "recipes; see saved_models/hybrid/VERSIONS.md)",
                                               read["probabilities"], labels, answers=read["digit"],
                                               refused=float(np.mean(read["digit"] == -1))))
            if speed:
                result["savedmodel_speed"] = sr.serving_speed(served_fn, "image", lr)
                result["savedmodel_speed_version"] = served.name
    lowres = _load(models.lowres_cnn)
    if lowres is not None:
        rows.append(sr.recognition_row(f"(g) CNN trained directly on {28 // s}x{28 // s} digits",
                                       sr.predict_probs(lowres, lr), labels, params=int(lowres.count_params())))
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = out_dir / f"comparison_{tag}_x{s}.png"
    sr.comparison_figure(lr, figure_cols, hr, figure, title=f"{tag} test digits, {s}x")
    result["rows"] = rows
    result["figure"] = figure.name
    return result


def write_report(results: list[dict], out_dir: Path, number_rows: list[dict] | None = None,
                 robustness_rows: list[dict] | None = None, form_rows: list[dict] | None = None) -> Path:
    lines = ["# hdsr_tf evaluation report", "",
             "Low-resolution digits are made by area downsampling of the test digits. Accuracy and macro "
             "precision/recall/F1 are over all test digits; PSNR/SSIM compare the image the recognizer "
             "reads with the HR digit.", ""]
    for r in results:
        lines += [f"## {r['dataset']}, {r['scale']}x ({28 // r['scale']}x{28 // r['scale']} -> 28x28), "
                  f"n = {r['num_examples']}", "", sr.markdown_table(r["rows"])]
        for row in r["rows"]:
            if "identical_predictions_to_e" in row:
                lines.append(f"SavedModel vs (e): identical predictions: {row['identical_predictions_to_e']}, "
                             f"max probability difference {row['max_probability_difference']:.2e}.\n")
        if "savedmodel_speed" in r:
            where = r.get("machine", "this machine")
            lines.append(f"SavedModel {r.get('savedmodel_speed_version', '')} speed ({where}): " + "; ".join(
                f"batch {b}: p50 {v['p50_ms']:.2f} ms, {v['images_per_s']:.0f} images/s"
                for b, v in r["savedmodel_speed"].items()) + "\n")
        lines += [f"![comparison]({r['figure']})", ""]
    if number_rows:
        from hdsr_tf.evaluation.numbers import markdown

        lines += ["## Whole numbers (5 MNIST test digits in one image)", "",
                  "Full table and conditions: `python scripts/evaluate_numbers.py`.", "", markdown(number_rows)]
    if form_rows:
        from hdsr_tf.evaluation.forms import markdown as forms_markdown

        lines += ["## Numbers on forms (5 MNIST test digits in a form field, blue ink, full size)", "",
                  "Every layout, ink and look: `python scripts/evaluate_numbers.py --only-forms`.", "",
                  forms_markdown(form_rows)]
    if robustness_rows:
        lines += [f"## Robustness, short ({robustness_rows[0]['model']}, the newest export, full test set)", "",
                  "Its `digit` output is scored: a \"no digit\" counts as wrong. The full benchmark (MNIST-C, "
                  "every LR size and method, peers side by side): `python scripts/robustness.py`, committed in "
                  "`reports/robustness/`.", "",
                  "| condition | accuracy | ECE |", "|---|---:|---:|"]
        lines += [f"| {r['condition']}{' (row ' + r['as_row'] + ')' if 'as_row' in r else ''} | {r['accuracy']:.2%} | "
                  f"{r['ece']:.2%} |" for r in robustness_rows]
        lines.append("")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.md").write_text("\n".join(lines))
    write_json(out_dir / "report.json", {"results": results, "numbers": number_rows or [],
                                         "robustness": robustness_rows or [], "forms": form_rows or []})
    return out_dir / "report.md"
