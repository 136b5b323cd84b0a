"""Can the served model's answers be trusted? "No digit" and calibration, measured on the exported SavedModel.

- The no-digit probe: images with no digit in them (blank, uniform grey at any
  level, Gaussian and salt-and-pepper noise, lines, smudges, letters in fonts the
  detector never saw), at 7x7, 14x14 and 28x28, drawn with a seed no training
  uses. The share answered "no digit" (digit -1) per family and size.
- False refusals: MNIST test digits, clean and at every size and downsampler of the
  robustness suite, and the held-out blind "mixed" draw; the share wrongly
  answered "no digit", and the accuracy of the digits that are read.
- Calibration: expected calibration error (15 bins) and reliability diagrams on
  clean and on 4x (7x7 area) test digits, and on the mixed draw.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from hdsr_tf.data import non_digits
from hdsr_tf.evaluation import robustness
from hdsr_tf.image_metrics import expected_calibration_error

PROBE_SIZES = (7, 14, 28)
CALIBRATION_CONDITIONS = ("clean", "7 px area", "mixed (blind recipe, held-out seed)")


def served(path: str | Path):
    """An exported version as a client reads it: float images [N,s,s,1] -> dict of numpy outputs. Through
    ``read`` where the version has it (5 and later: ``serving_default``'s answers less ``sr_image``, tested
    to agree), else ``serving_default``: the study reads answers, and drawing the pictures took 80% of it."""
    return robustness.savedmodel_reader(str(path), Path(path), "", draw=False).outputs


def signature(path: str | Path) -> str:
    """The signature ``served`` calls on that version."""
    return robustness.savedmodel_reader(str(path), Path(path), "", draw=False).extra["signature"]


def shrink(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 [N,28,28,1] -> float32 [N,size,size,1] in [0,1], area-downsampled (as a small scan is)."""
    x = images[..., 0].astype(np.float32) / 255.0
    if size != x.shape[1]:
        x = np.stack([cv2.resize(i, (size, size), interpolation=cv2.INTER_AREA) for i in x])
    return np.clip(x, 0, 1)[..., None]


def probe(run, per_family: int = 500, seed: int = 0, sizes=PROBE_SIZES,
          validation_font: int | None = None) -> list[dict]:
    """Share of each non-digit family answered "no digit", per size; letters come from held-out fonts.
    ``validation_font``: the same protocol on validation instead, for choosing models: the validation
    seed, letters in that one training font (which the models compared left out: ``--held-out-font``)."""
    offset, fonts = non_digits.PROBE_SEED_OFFSET, non_digits.PROBE_FONTS
    if validation_font is not None:
        offset, fonts = non_digits.VAL_SEED_OFFSET, (non_digits.TRAIN_FONTS[validation_font],)
    rows = []
    for family in non_digits.PROBE_FAMILIES:
        images = non_digits.draw(family, per_family, seed + offset, fonts=fonts)
        for size in sizes:
            out = run(shrink(images, size))
            rows.append({"family": family, "size": size, "n": per_family,
                         "no_digit": float(np.mean(out["digit"] == -1))})
    return rows


def digit_rows(run, images: np.ndarray, labels: np.ndarray, seed: int = 0, sizes=robustness.LR_SIZES,
               wanted=None) -> list[dict]:
    """Test digits at every size of the suite (or the conditions ``wanted`` names: "28 px area" is the
    clean row): share refused as "no digit", accuracy (refusals counted wrong, and among the digits
    read), ECE of the probabilities."""
    conditions = robustness.low_resolution_conditions(images, seed, sizes=sizes, detail_sizes=(),
                                                      wanted=wanted or (lambda name: True))
    rows = []
    for c in conditions:
        digit = np.zeros(len(labels), np.int64)
        probs = np.zeros((len(labels), 10), np.float32)
        for idx, x in c.parts:
            out = run(x)
            digit[idx], probs[idx] = out["digit"], out["probabilities"]
        read = digit != -1
        name = "clean" if c.name == "28 px area" else c.name
        rows.append({"condition": name, "size": c.size, "n": int(len(labels)),
                     "refused": float(np.mean(~read)), "accuracy": float(np.mean(digit == labels)),
                     "accuracy_of_read": float(np.mean(digit[read] == labels[read])) if read.any() else 0.0,
                     "ece": expected_calibration_error(probs, labels), "_probs": probs})
    return rows


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> dict:
    """Per confidence bin: mean confidence, accuracy and count (the reliability diagram's data)."""
    confidence, correct = probs.max(1), probs.argmax(1) == labels
    which = np.clip(np.digitize(confidence, np.linspace(0, 1, bins + 1)[1:-1], right=True), 0, bins - 1)
    return {"confidence": [float(confidence[which == b].mean()) if (which == b).any() else None for b in range(bins)],
            "accuracy": [float(correct[which == b].mean()) if (which == b).any() else None for b in range(bins)],
            "count": [int((which == b).sum()) for b in range(bins)]}


def run_study(path: str | Path, images: np.ndarray, labels: np.ndarray, per_family: int = 500, seed: int = 0,
              quick: bool = False) -> dict:
    start = time.perf_counter()
    run = served(path)
    probes = probe(run, per_family, seed)
    sizes = (5, 7, 10, 28) if quick else robustness.LR_SIZES
    digits = digit_rows(run, images, labels, seed, sizes)
    calibration = {r["condition"]: reliability(r["_probs"], labels) for r in digits
                   if r["condition"] in CALIBRATION_CONDITIONS}
    for r in digits:
        del r["_probs"]
    probe_share = float(np.mean([r["no_digit"] for r in probes]))
    return {"model": str(path), "signature": signature(path), "seed": seed, "test_digits": int(len(labels)),
            "quick": quick,
            "seconds": round(time.perf_counter() - start, 1), "probe": probes, "digits": digits,
            "calibration": calibration,
            "summary": {"probe_no_digit": probe_share,
                        "probe_no_digit_worst": min(r["no_digit"] for r in probes),
                        "digits_refused_worst": max(r["refused"] for r in digits),
                        "digits_refused_clean": next(r["refused"] for r in digits if r["condition"] == "clean"),
                        "ece_clean": next(r["ece"] for r in digits if r["condition"] == "clean"),
                        "ece_7px_area": next((r["ece"] for r in digits if r["condition"] == "7 px area"), None)}}


def markdown(study: dict, meta: str = "") -> str:
    s = study["summary"]
    lines = ["# Trust: \"no digit\" and calibration", "",
             f"Model `{study['model']}`, through `{study.get('signature', 'serving_default')}`. {meta}", "",
             "- No-digit probe (held-out seed; letters in fonts the detector never saw): "
             f"**{s['probe_no_digit']:.2%}** answered \"no digit\" "
             f"(worst family and size: {s['probe_no_digit_worst']:.2%}).",
             f"- MNIST test digits wrongly answered \"no digit\": clean {s['digits_refused_clean']:.3%}, worst "
             f"condition {s['digits_refused_worst']:.3%}.",
             f"- ECE (15 bins): clean {s['ece_clean']:.2%}" + (f", 7x7 area {s['ece_7px_area']:.2%}"
                                                              if s["ece_7px_area"] is not None else "") + ".", "",
             "## No-digit probe: share answered \"no digit\"", "",
             "| family | " + " | ".join(f"{size}x{size}" for size in PROBE_SIZES) + " |",
             "|---|" + "---|" * len(PROBE_SIZES)]
    families = dict.fromkeys(r["family"] for r in study["probe"])
    for family in families:
        cells = {r["size"]: r["no_digit"] for r in study["probe"] if r["family"] == family}
        shares = (f"{cells[s]:.2%}" if s in cells else "" for s in PROBE_SIZES)
        lines.append(f"| {family} | " + " | ".join(shares) + " |")
    lines += ["", "## MNIST test digits", "",
              "| condition | size | refused as \"no digit\" | accuracy (refusals wrong) | accuracy of those read "
              "| ECE |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {r['condition']} | {r['size']} | {r['refused']:.3%} | {r['accuracy']:.2%} | "
              f"{r['accuracy_of_read']:.2%} | {r['ece']:.2%} |" for r in study["digits"]]
    lines += ["", "Reliability diagrams: `reliability.png`.", ""]
    return "\n".join(lines)


def plot(study: dict, out_dir: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = list(study["calibration"].items())
    fig, axes = plt.subplots(1, len(items), figsize=(4 * len(items), 4), squeeze=False)
    for ax, (name, data) in zip(axes[0], items):
        edges = np.linspace(0, 1, len(data["count"]) + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        acc = [a if a is not None else 0 for a in data["accuracy"]]
        ax.bar(centres, acc, width=edges[1] - edges[0], edgecolor="k", alpha=0.7, label="accuracy")
        ax.plot([0, 1], [0, 1], "r--", label="perfect calibration")
        ax.set(title=name, xlabel="confidence", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1))
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(out_dir) / "reliability.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
