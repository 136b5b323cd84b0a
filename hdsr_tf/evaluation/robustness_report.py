"""The robustness study as a person reads it: markdown tables and two figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hdsr_tf.data.recipe import HR
from hdsr_tf.evaluation.conditions import LR_METHODS, LR_SIZES


def markdown(study: dict, meta: dict) -> str:
    names = [r["name"] for r in study["readers"]]
    split = study.get("split", "test")
    scope = " (quick mode: a subset)" if study["quick"] else f" (the full {split} set)"
    lines = ["# Robustness benchmark", "",
             f"{study['test_digits']} MNIST {split} digits{scope}, seed {study['seed']}, {meta.get('cpu', '')}; "
             f"{study['seconds']} s for all conditions. "
             "Accuracy in %. Each reader brings an image to its own input size as the export does "
             "(area to shrink, bicubic to enlarge), so a 28-px recognizer on LR rows is bicubic + recognizer. "
             "A served version's answer is its `digit` output: a digit it refuses (\"no digit\") counts as "
             "wrong (the share refused is in the JSON, `refused`).", "",
             "## Readers and what they saw in training", "",
             "| reader | parameters | degradation families seen in training |", "|---|---:|---|"]
    for r in study["readers"]:
        lines.append(f"| {r['name']} | {r['params'] or '-'} | {r['seen']} |")
    header = "| condition | " + " | ".join(names) + " |"
    rule = "|---|" + "---:|" * len(names)
    for group, title in (("full resolution", "Full resolution"), ("MNIST-C", "MNIST-C (15 corruptions)"),
                         ("low resolution", "Low-resolution suite")):
        lines += ["", f"## {title}", "", header, rule]
        for row in study["rows"]:
            if row["group"] != group:
                continue
            label = row["condition"] + (f" ({row['note']})" if row["note"] else "")
            cells = [f"{row['results'][n]['accuracy'] * 100:.2f}" for n in names]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        key = {"MNIST-C": "mnist_c_mean", "low resolution": "low_resolution_mean"}.get(group)
        if key:
            cells = [f"**{study['summary'][n][key] * 100:.2f}**" for n in names]
            lines.append("| **mean** | " + " | ".join(cells) + " |")
        if group == "MNIST-C":
            lines.append("| mean of held-out families | " + " | ".join(
                f"{study['summary'][n]['mnist_c_held_out_mean'] * 100:.2f}" for n in names) + " |")
            if "mnist_c_held_out_or_near_mean" in study["summary"][names[0]]:
                lines.append("| mean of held-out and near-trained families | " + " | ".join(
                    f"{study['summary'][n]['mnist_c_held_out_or_near_mean'] * 100:.2f}" for n in names) + " |")
            if "mnist_c_ahead_of_convnet" in study["summary"][names[0]]:
                lines.append("| corruptions ahead of the keras.io convnet | " + " | ".join(
                    str(study["summary"][n]["mnist_c_ahead_of_convnet"]) for n in names) + " |")
    sr_names = [n for n in names if any("psnr" in r["results"][n] for r in study["rows"])]
    if sr_names:
        lines += ["", "## Super-resolution quality on the low-resolution suite",
                  "", "PSNR (dB) / SSIM (11x11 window) of the 28x28 image each hybrid read, against the clean HR "
                  "digit (for the mixed set: the digit after the recipe's stroke and affine changes), beside "
                  "bicubic enlargement of the same LR digit.", "",
                  "| condition | bicubic | " + " | ".join(sr_names) + " | gain over bicubic (dB) |",
                  "|---|---:|" + "---:|" * len(sr_names) + "---:|"]
        for row in study["rows"]:
            if "bicubic" not in row:
                continue
            b = row["bicubic"]
            cells = [f"{row['results'][n]['psnr']:.2f} / {row['results'][n]['ssim']:.3f}" for n in sr_names]
            gains = " / ".join(f"{row['results'][n]['psnr'] - b['psnr']:+.2f}" for n in sr_names)
            lines.append(f"| {row['condition']} | {b['psnr']:.2f} / {b['ssim']:.3f} | " + " | ".join(cells)
                         + f" | {gains} |")
    lines += ["", "MNIST-C here is our seeded rendering of the paper's 15 definitions at its severities "
              "(hdsr_tf/evaluation/mnist_c.py), not the published download.", ""]
    return "\n".join(lines)


def plot(study: dict, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in study["readers"]]
    rows = study["rows"]
    fig, axes = plt.subplots(1, len(LR_METHODS), figsize=(5 * len(LR_METHODS), 4), sharey=True)
    for ax, method in zip(axes, LR_METHODS):
        for n in names:
            plain = {f"{size} px {method}" for size in LR_SIZES} | {f"{HR} px area"}
            pts = sorted((int(r["size"]), r["results"][n]["accuracy"] * 100) for r in rows
                         if r["condition"] in plain)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=n)
        ax.set_title(f"downsampled by {method}")
        ax.set_xlabel("digit size (px)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    sizes_png = out_dir / "accuracy_by_size.png"
    fig.savefig(sizes_png, dpi=110)
    plt.close(fig)

    mc = [r for r in rows if r["group"] == "MNIST-C"]
    fig, ax = plt.subplots(figsize=(14, 4.5))
    width = 0.8 / max(1, len(names))
    for i, n in enumerate(names):
        ax.bar(np.arange(len(mc)) + i * width, [r["results"][n]["accuracy"] * 100 for r in mc], width, label=n)
    ax.set_xticks(np.arange(len(mc)) + 0.4 - width / 2)
    ax.set_xticklabels([r["condition"] + ("*" if r["note"].startswith("held") else "+" if r["note"].startswith("near")
                                          else "") for r in mc],
                       rotation=35, ha="right")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("MNIST-C (* = family held out of all training; + = near a trained step)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    mc_png = out_dir / "mnist_c.png"
    fig.savefig(mc_png, dpi=110)
    plt.close(fig)
    return [sizes_png, mc_png]
