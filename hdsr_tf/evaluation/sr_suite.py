"""How good the pictures are: PSNR/SSIM of each super-resolver on the robustness suite's low-resolution
conditions (single digits) and on whole number lines shrunk 2x and 4x, always beside bicubic.

A "picture maker" takes a batch of LR digits [N,s,s,1] in [0,1] (white on black) and returns [N,28,28,1];
a "line maker" takes one dark-on-light uint8 line and returns it ``scale`` times larger.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from hdsr_tf.data.recipe import HR
from hdsr_tf.evaluation.conditions import _float, low_resolution_conditions
from hdsr_tf.evaluation.robustness import bicubic_quality
from hdsr_tf.export import load_version
from hdsr_tf.image_metrics import image_quality

Pictures = Callable[[np.ndarray], np.ndarray]


def digit_rows(makers: dict[str, Pictures], images: np.ndarray, seed: int = 0, progress=print) -> list[dict]:
    """One row per low-resolution condition (5-14 px by three methods, 28 px, 7 and 10 px with blur, noise,
    JPEG and contrast, the blind recipe's held-out mix): bicubic's and each maker's PSNR/SSIM (11x11)
    against the clean HR digit."""
    hr = _float(images)
    rows = []
    for condition in low_resolution_conditions(images, seed):
        target = condition.targets if condition.targets is not None else hr
        row = {"condition": condition.name, "size": condition.size, "bicubic": bicubic_quality(condition, hr)}
        for name, make in makers.items():
            out = np.zeros((len(hr), HR, HR, 1), np.float32)
            for idx, x in condition.parts:
                out[idx] = np.concatenate([make(x[i:i + 500]) for i in range(0, len(x), 500)])
            row[name] = {k: v for k, v in image_quality(np.clip(out, 0, 1), target).items() if k in ("psnr", "ssim")}
        rows.append(row)
        progress(f"  {condition.name:40s} bicubic {row['bicubic']['psnr']:.2f}  " + "  ".join(
            f"{n} {row[n]['psnr']:.2f}" for n in makers))
    return rows


def _quality(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """PSNR and SSIM (11x11) of two uint8 gray images of one size."""
    q = image_quality(a[None, ..., None].astype(np.float32) / 255, b[None, ..., None].astype(np.float32) / 255)
    return q["psnr"], q["ssim"]


def line_rows(makers: dict[int, dict[str, Callable]], lines: list[np.ndarray]) -> list[dict]:
    """Number lines (dark on light, uint8) shrunk by each scale (area) and enlarged back by bicubic and by
    each maker: mean PSNR/SSIM against the line, per scale. Lines are cropped to a multiple of the scale."""
    rows = []
    for scale, by_name in makers.items():
        scores = {name: [] for name in ("bicubic", *by_name)}
        for line in lines:
            h, w = (line.shape[0] // scale) * scale, (line.shape[1] // scale) * scale
            full = line[:h, :w]
            small = cv2.resize(full, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
            scores["bicubic"].append(_quality(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), full))
            for name, make in by_name.items():
                scores[name].append(_quality(make(small), full))
        rows.append({"scale": scale, "lines": len(lines),
                     **{name: {"psnr": float(np.mean([s[0] for s in v])), "ssim": float(np.mean([s[1] for s in v]))}
                        for name, v in scores.items()}})
    return rows


def markdown(digits: list[dict], lines: list[dict], names: list[str], meta: dict) -> str:
    """The report: the digit suite per condition, then the number lines, each beside bicubic."""
    out = ["# Super-resolution quality", "",
           f"{meta['about']}", "",
           "## Single digits: the low-resolution suite (full MNIST test set)", "",
           "PSNR (dB) / SSIM (11x11 window) against the clean HR digit (the mixed set: the digit after the "
           "recipe's stroke and affine changes); gains in dB over bicubic.", "",
           "| condition | bicubic | " + " | ".join(names) + " | gain over bicubic (dB) |",
           "|---|---:|" + "---:|" * len(names) + "---:|"]
    for r in digits:
        b = r["bicubic"]
        cells = " | ".join(f"{r[n]['psnr']:.2f} / {r[n]['ssim']:.3f}" for n in names)
        gains = " / ".join(f"{r[n]['psnr'] - b['psnr']:+.2f}" for n in names)
        out.append(f"| {r['condition']} | {b['psnr']:.2f} / {b['ssim']:.3f} | {cells} | {gains} |")
    small = [r for r in digits if r["size"] != str(HR)]  # 28 px: the served pictures are the input itself
    means = ", ".join(f"{n} **{np.mean([r[n]['psnr'] - r['bicubic']['psnr'] for r in small]):+.2f} dB** (lowest "
                      f"{min(r[n]['psnr'] - r['bicubic']['psnr'] for r in small):+.2f})" for n in names)
    out += ["", f"Mean gain over bicubic on the {len(small)} conditions under 28 px: {means}."]
    out += ["", "## Number lines shrunk 2x and 4x", "",
            f"{meta['lines_about']}", "", "| scale | lines | bicubic | super-resolved | gain (dB) |",
            "|---:|---:|---:|---:|---:|"]
    for r in lines:
        (name,) = [k for k in r if k not in ("scale", "lines", "bicubic")]
        b, s = r["bicubic"], r[name]
        out.append(f"| {r['scale']}x | {r['lines']} | {b['psnr']:.2f} / {b['ssim']:.3f} | {s['psnr']:.2f} / "
                   f"{s['ssim']:.3f} ({name}) | {s['psnr'] - b['psnr']:+.2f} |")
    return "\n".join(out) + "\n"


def example_figure(rows: list[tuple[str, list[tuple[str, np.ndarray]]]], path: Path) -> Path:
    """Rows of same-height gray images side by side, each row labelled: a picture a person can look at."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = max(len(images) for _, images in rows)
    fig, axes = plt.subplots(len(rows), width, figsize=(2.2 * width, 2.0 * len(rows)), squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(width):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(images):
                title, image = images[c]
                ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
                ax.set_title(title, fontsize=8)
        axes[r][0].text(-0.1, 0.5, label, transform=axes[r][0].transAxes, ha="right", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def test_lines(x: np.ndarray, y: np.ndarray, n: int) -> list[np.ndarray]:
    """n five-digit numbers of the given digits (separated, full size, dark on light), gray uint8, seed 0."""
    from hdsr_tf.evaluation import numbers as ev

    composed, _ = ev.make_set(x, y, ev.NumberCondition("separated", "full", "dark_on_light"), n, seed=0)
    return [im if im.ndim == 2 else cv2.cvtColor(im, cv2.COLOR_BGR2GRAY) for im in composed]


def rewrite_report(out_dir: str | Path) -> Path:
    """sr_suite.md written again from sr_suite.json (no measuring)."""
    import json

    data = json.loads((Path(out_dir) / "sr_suite.json").read_text())
    report = Path(out_dir) / "sr_suite.md"
    report.write_text(markdown(data["digits"], data["lines"], data["makers"], data))
    return report


def run_suite(served: list[str], any_size: str | Path | None, n_lines: int, out_dir: str | Path) -> Path:
    """``evaluate_sr.py --suite``: the digit suite for each served version's sr_image and the any-size generator, the
    number lines for upscale.py's generators; writes sr_suite.md/json and examples.png, returns the report."""
    import tensorflow as tf

    from hdsr_tf.data import mnist
    from hdsr_tf.io import write_json
    from hdsr_tf.models import load_model
    from hdsr_tf.models.layers import ResizeTo
    from hdsr_tf.reading.upscaling import Upscaler

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x, y = mnist.load_arrays("test")
    makers = {}
    for version in served:
        signature = load_version(version).signatures["serving_default"]
        makers[f"served {Path(version).parent.name}/{Path(version).name}"] = \
            lambda lr, fn=signature: fn(image=tf.constant(lr))["sr_image"].numpy()
    if any_size:
        generator = load_model(any_size)
        makers["any-size generator"] = lambda lr: np.clip(generator(ResizeTo(HR)(lr), training=False).numpy(), 0, 1)
    digits = digit_rows(makers, x)
    upscalers = {2: ("esrgan_x2", "saved_models/esrgan_x2/generator_psnr.keras"),
                 4: ("esrgan_x4_blind", "saved_models/esrgan_x4_blind/generator_psnr.keras")}
    line_makers = {s: {name: Upscaler(path).upscale} for s, (name, path) in upscalers.items()}
    lines = line_rows(line_makers, test_lines(x, y, n_lines))
    meta = {"about": f"Written by `python scripts/evaluate_sr.py --suite` ({', '.join(served)}; any-size generator: "
                     f"{any_size or 'left out'}). Test digits only; no setting was chosen on these figures.",
            "lines_about": f"{n_lines} five-digit numbers of MNIST test digits (separated, full size, dark on light), "
                     "shrunk by area and enlarged back by `scripts/upscale.py`'s generator for that scale, tiled as "
                     "it tiles; PSNR / SSIM (11x11) against the line."}
    names = list(makers)
    write_json(out / "sr_suite.json", {"digits": digits, "lines": lines, "makers": names, **meta})
    report = out / "sr_suite.md"
    report.write_text(markdown(digits, lines, names, meta))
    picks = np.arange(6)
    figure_rows = []
    for size in (5, 7, 10, 14):
        small = tf.image.resize(x[picks].astype(np.float32) / 255, (size, size), method="area").numpy()
        pictures = [("LR", small), ("bicubic", ResizeTo(HR)(small).numpy())]
        pictures += [(name, make(small)) for name, make in makers.items()] + [("HR", x[picks] / 255)]
        for i in picks[:2]:
            figure_rows.append((f"{size} px #{i}", [(t, np.clip(p[i, ..., 0] * 255, 0, 255)) for t, p in pictures]))
    example_figure(figure_rows, out / "examples.png")
    return report
