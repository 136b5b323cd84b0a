"""Figures: training curves, confusion matrix, digit grids. Matplotlib, Agg backend."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_history(csv_path: str | Path) -> dict[str, list[float]]:
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows if r.get(k) not in (None, "")] for k in (rows[0] if rows else {})}


def plot_curves(history: dict[str, list[float]], out_path: str | Path, metric: str, title: str) -> None:
    """Train vs validation ``metric`` per epoch (the paper's figures 6 and 7)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = history.get("epoch")
    for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
        if key in history:
            xs = [e + 1 for e in epochs] if epochs else range(1, len(history[key]) + 1)
            ax.plot(xs, history[key], marker="o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)


def plot_confusion(matrix, out_path: str | Path, title: str = "Confusion matrix") -> None:
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(6, 5.4))
    # Log colour scale: the diagonal is ~1000, the errors 0-10; linear hides them.
    im = ax.imshow(np.log1p(matrix), cmap="Blues")
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > matrix.max() / 3 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)


def plot_digit_grid(images, titles, out_path: str | Path, cols: int = 10, suptitle: str = "") -> None:
    """A grid of [H,W] or [H,W,1] images with a title each."""
    n = len(images)
    if n == 0:
        return
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, title in zip(axes.flat, images, titles):
        ax.imshow(np.squeeze(img), cmap="gray", vmin=0, vmax=1 if np.max(img) <= 1 else 255)
        ax.set_title(title, fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    plt.close(fig)


def plot_sr_grid(columns: dict[str, np.ndarray], out_path: str | Path, title: str = "") -> None:
    """Rows of examples, one column per named image set (e.g. LR | bicubic | SR | HR)."""
    names = list(columns)
    n = len(columns[names[0]])
    fig, axes = plt.subplots(n, len(names), figsize=(len(names) * 1.3, n * 1.3), squeeze=False)
    for r in range(n):
        for c, name in enumerate(names):
            ax = axes[r, c]
            ax.imshow(np.squeeze(columns[name][r]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.axis("off")
            if r == 0:
                ax.set_title(name, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)
