"""The robustness benchmark: every reader on corrupted full-resolution digits (MNIST-C and
noise/blur) and on a low-resolution suite (5 to 28 px, several downsamplers, noise, JPEG,
contrast, and a blind "mixed" draw), measured side by side in one run.

A reader is anything with ``predict(images [N,s,s,1] in [0,1]) -> probabilities``;
each brings an image to its own input size the way our export does (ResizeTo:
area to shrink, bicubic to enlarge), so a 28-px recognizer is "bicubic +
recognizer" on LR digits. Every reader states which degradation families it
saw in training: the report's claims of generalization are only about the
families it did not see.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from hdsr_tf.data.degrade import HR, blur_batch, blur_kernels, degrade_blind, jpeg, load_recipe
from hdsr_tf.evaluation import corruptions, mnist_c
from hdsr_tf.metrics import expected_calibration_error, image_quality
from hdsr_tf.models.layers import ResizeTo
from hdsr_tf.models.rrdb import generator_scale

FULL_RES = [("clean", None), ("gaussian noise 0.1", ("gaussian_noise", 0.1)),
            ("gaussian noise 0.2", ("gaussian_noise", 0.2)), ("gaussian noise 0.3", ("gaussian_noise", 0.3)),
            ("gaussian blur 2.0", ("gaussian_blur", 2.0))]
LR_SIZES = (5, 6, 7, 8, 10, 12, 14, 28)
LR_METHODS = ("area", "bilinear", "bicubic")
DETAIL_SIZES = (7, 10)
MIXED_SEED = 20261127  # the held-out draw of the blind recipe: no training run uses this seed
MIXED_RECIPE = "blind"


# ------------------------------------------------------------------ readers
@dataclass
class Reader:
    """A model under test, with what it saw in training (shown on every report row).

    ``predict_fn`` maps a batch to a dict with ``probabilities`` and, for readers
    that super-resolve, the ``sr_image`` they read.
    """

    name: str
    seen: str
    predict_fn: object = None
    params: int | None = None
    extra: dict = field(default_factory=dict)

    def outputs(self, images: np.ndarray, batch: int = 1000) -> dict:
        parts = [self.predict_fn(images[i:i + batch]) for i in range(0, len(images), batch)]
        if not parts:
            return {"probabilities": np.zeros((0, 10), np.float32)}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.outputs(images)["probabilities"]


def keras_reader(name: str, model, seen: str) -> Reader:
    """A .keras classifier (28x28 or LR input; inputs are ResizeTo'd to its input size first) or a
    hybrid .keras (any input size; its dict output's probabilities and SR image are kept)."""
    size = model.input_shape[1]
    resize = ResizeTo(size) if size else (lambda x: x)

    @tf.function(reduce_retracing=True)
    def run(x):
        return model(resize(x), training=False)

    def outputs(x):
        out = run(tf.constant(x, tf.float32))
        if isinstance(out, dict):
            return {"probabilities": out["probabilities"].numpy(), "sr_image": out["sr_image"].numpy()}
        return {"probabilities": out.numpy()}

    return Reader(name, seen, outputs, int(model.count_params()))


def sr_reader(name: str, generator, recognizer, seen: str) -> Reader:
    """A generator and a recognizer chained (the hybrid before or without joint fine-tuning): inputs are
    ResizeTo'd to the generator's LR size, super-resolved, then read; the SR image is kept."""
    resize = ResizeTo(HR // generator_scale(generator))

    @tf.function(reduce_retracing=True)
    def run(x):
        sr = tf.clip_by_value(generator(resize(x), training=False), 0.0, 1.0)
        return recognizer(sr, training=False), sr

    def outputs(x):
        probs, sr = run(tf.constant(x, tf.float32))
        return {"probabilities": probs.numpy(), "sr_image": sr.numpy()}

    return Reader(name, seen, outputs, int(generator.count_params() + recognizer.count_params()))


def savedmodel_reader(name: str, path: Path, seen: str) -> Reader:
    """An exported hybrid, read through ``serving_default`` exactly as TF Serving would call it; every
    output is kept (``digit`` and, since version 4, ``no_digit`` beside the probabilities and SR image)."""
    fn = tf.saved_model.load(str(path)).signatures["serving_default"]

    def run(x):
        return {k: v.numpy() for k, v in fn(image=tf.constant(x, tf.float32)).items()}

    return Reader(name, seen, run, extra={"path": str(path)})


# ------------------------------------------------------------------ conditions
@dataclass
class Condition:
    """One test set: ``parts`` are (indices into the test set, images of one size)."""

    group: str  # "full resolution", "MNIST-C" or "low resolution"
    name: str
    parts: list
    size: str = "28"
    note: str = ""
    targets: np.ndarray | None = None  # HR digits an SR image is compared with (default: the clean test digits)


def _float(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def _resize(x: np.ndarray, size: int, method: str) -> np.ndarray:
    if size == x.shape[1]:
        return x
    return np.clip(tf.image.resize(x, [size, size], method=method, antialias=True).numpy(), 0, 1)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    n = len(x)
    kernels = blur_kernels(tf.fill([n], sigma), tf.fill([n], sigma), tf.zeros([n]), tf.fill([n], 4))
    return blur_batch(tf.constant(x), kernels).numpy()


def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    s = x.shape[1]
    pad = np.zeros((len(x), HR, HR, 1), np.float32)
    pad[:, :s, :s] = x
    out = tf.map_fn(lambda im: jpeg(im, tf.constant(s), tf.constant(quality)), tf.constant(pad))
    return out.numpy()[:, :s, :s]


def _contrast(x: np.ndarray, factor: float) -> np.ndarray:
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return np.clip((x - mean) * factor + mean, 0, 1)


def _all(name: str) -> bool:
    return True


def full_resolution_conditions(images: np.ndarray, seed: int, corruption_names=mnist_c.CORRUPTIONS, wanted=_all):
    idx = np.arange(len(images))
    for name, spec in FULL_RES:
        if wanted(name):
            x = _float(images) if spec is None else corruptions.apply(spec[0], images, spec[1], seed)
            yield Condition("full resolution", name, [(idx, x.astype(np.float32))])
    for name in corruption_names:
        if wanted(name):
            seen = "seen family" if name in mnist_c.IN_TRAINING else "held out of all training"
            yield Condition("MNIST-C", name, [(idx, mnist_c.corrupt(name, images, seed))], note=seen)


def low_resolution_conditions(images: np.ndarray, seed: int, sizes=LR_SIZES, detail_sizes=DETAIL_SIZES,
                              wanted=_all):
    """The suite's conditions in order; each is built only when ``wanted(name)`` (all by default)."""
    idx = np.arange(len(images))
    x = _float(images)
    for size in sizes:
        for method in LR_METHODS:
            name = f"{size} px {method}"
            if (size == HR and method != "area") or not wanted(name):
                continue  # 28 px is the digit itself, whatever the method
            yield Condition("low resolution", name, [(idx, _resize(x, size, method))], str(size))
    for size in detail_sizes:
        area = _resize(x, size, "area")
        name = f"{size} px blur 1.5 (at 28 px, then area)"
        if wanted(name):
            yield Condition("low resolution", name, [(idx, _resize(_blur(x, 1.5), size, "area"))], str(size))
        for sigma in (0.02, 0.05, 0.1):
            if wanted(f"{size} px noise {sigma}"):
                rng = np.random.default_rng([seed, size, round(sigma * 1000)])  # the same draw in any subset
                noisy = np.clip(area + rng.normal(0, sigma, area.shape).astype(np.float32), 0, 1)
                yield Condition("low resolution", f"{size} px noise {sigma}", [(idx, noisy)], str(size))
        for quality in (30, 50, 75):
            if wanted(f"{size} px JPEG {quality}"):
                yield Condition("low resolution", f"{size} px JPEG {quality}", [(idx, _jpeg(area, quality))],
                                str(size))
        if wanted(f"{size} px contrast 0.5"):
            yield Condition("low resolution", f"{size} px contrast 0.5", [(idx, _contrast(area, 0.5))], str(size))
    if wanted(f"mixed ({MIXED_RECIPE} recipe, held-out seed)"):
        yield mixed_condition(images, seed)


def mixed_condition(images: np.ndarray, seed: int, recipe_name: str = MIXED_RECIPE) -> Condition:
    """The blind recipe drawn with a seed no training uses: one LR size per digit (5 to 14 px)."""
    recipe = load_recipe(recipe_name)
    x = tf.constant(_float(images))
    buffers, sizes, targets = [], [], []
    for start in range(0, len(images), 1000):
        key = tf.constant([MIXED_SEED + seed, start], tf.int64)
        buf, size, target = degrade_blind(x[start:start + 1000], key, recipe, out_size=None)
        buffers.append(buf.numpy())
        sizes.append(size.numpy())
        targets.append(target.numpy())
    buffers, sizes = np.concatenate(buffers), np.concatenate(sizes)
    parts = [(np.flatnonzero(sizes == s), buffers[sizes == s][:, :s, :s]) for s in np.unique(sizes)]
    return Condition("low resolution", f"mixed ({recipe_name} recipe, held-out seed)", parts,
                     f"{sizes.min()}-{sizes.max()}", targets=np.concatenate(targets))


SHORT = ("clean", "gaussian noise 0.2", "gaussian blur 2.0", "7 px area", "10 px bicubic", "10 px JPEG 50",
         "10 px noise 0.05", "6 px area", "mixed (blind recipe, held-out seed)")


def named_conditions(images: np.ndarray, names, seed: int = 0):
    """The benchmark's conditions with these names (full-resolution and low-resolution ones), in its
    order; only those are built."""
    names = set(names)
    sizes = sorted({int(n.split(" px")[0]) for n in names if " px " in n})
    yield from full_resolution_conditions(images, seed, wanted=names.__contains__)
    details = [s for s in sizes if s in DETAIL_SIZES]
    yield from low_resolution_conditions(images, seed, sizes=sizes, detail_sizes=details, wanted=names.__contains__)


def short_summary(reader: Reader, images: np.ndarray, labels: np.ndarray, seed: int = 0,
                  names=SHORT) -> list[dict]:
    """The main report's robustness summary (or any named conditions): one row per condition."""
    hr = _float(images)
    return [{"condition": c.name, "size": c.size,
             **score(reader, c, labels, hr if c.group == "low resolution" and c.size != str(HR) else None)}
            for c in named_conditions(images, names, seed)]


# ------------------------------------------------------------------ measuring
def score(reader: Reader, condition: Condition, labels: np.ndarray, hr: np.ndarray | None = None) -> dict:
    """Accuracy and ECE; with ``hr`` (LR conditions) and a reader that super-resolves, also the
    PSNR/SSIM of the image it read against the HR digit."""
    probs = np.zeros((len(labels), 10), np.float32)
    sr = None
    for idx, x in condition.parts:
        out = reader.outputs(x)
        probs[idx] = out["probabilities"]
        if hr is not None and "sr_image" in out:
            sr = np.zeros((len(labels), HR, HR, 1), np.float32) if sr is None else sr
            sr[idx] = out["sr_image"]
    result = {"accuracy": float((np.argmax(probs, 1) == labels).mean()),
              "ece": expected_calibration_error(probs, labels)}
    if sr is not None:
        target = condition.targets if condition.targets is not None else hr
        result.update({k: v for k, v in image_quality(sr, target).items() if k in ("psnr", "ssim")})
    return result


def bicubic_quality(condition: Condition, hr: np.ndarray) -> dict:
    """The baseline an SR image must beat: the LR digit enlarged to 28 px by bicubic (as ResizeTo does)."""
    up = np.zeros((len(hr), HR, HR, 1), np.float32)
    for idx, x in condition.parts:
        up[idx] = ResizeTo(HR)(tf.constant(x)).numpy()
    target = condition.targets if condition.targets is not None else hr
    return {k: v for k, v in image_quality(up, target).items() if k in ("psnr", "ssim")}


def run(readers: list[Reader], images: np.ndarray, labels: np.ndarray, seed: int = 0, quick: bool = False,
        progress=print) -> dict:
    """Every reader on every condition; returns the study (JSON-ready)."""
    names = mnist_c.CORRUPTIONS
    sizes, details = (LR_SIZES, DETAIL_SIZES) if not quick else ((5, 7, 10, 28), (10,))
    rows = []
    start = time.perf_counter()
    clean = _float(images)
    for conditions in (full_resolution_conditions(images, seed, names),
                       low_resolution_conditions(images, seed, sizes, details)):
        for c in conditions:
            lr = c.group == "low resolution" and c.size != str(HR)
            hr = clean if lr else None
            row = {"group": c.group, "condition": c.name, "size": c.size, "note": c.note,
                   "results": {r.name: score(r, c, labels, hr) for r in readers}}
            if lr:
                row["bicubic"] = bicubic_quality(c, hr)
            rows.append(row)
            progress(f"  {c.group:15s} {c.name:42s} " + "  ".join(
                f"{v['accuracy']:.2%}" for v in row["results"].values()))
    return {"test_digits": int(len(labels)), "seed": seed, "quick": quick,
            "seconds": round(time.perf_counter() - start, 1),
            "readers": [{"name": r.name, "seen": r.seen, "params": r.params, **r.extra} for r in readers],
            "rows": rows, "summary": summarize(rows, [r.name for r in readers])}


def summarize(rows: list[dict], names: list[str]) -> dict:
    """Means per group, and how many MNIST-C corruptions each reader leads the keras.io convnet on."""
    out = {}
    for name in names:
        def mean(pred):
            vals = [r["results"][name]["accuracy"] for r in rows if pred(r)]
            return float(np.mean(vals)) if vals else None

        out[name] = {"mnist_c_mean": mean(lambda r: r["group"] == "MNIST-C"),
                     "mnist_c_held_out_mean": mean(lambda r: r["group"] == "MNIST-C" and r["note"].startswith("held")),
                     "low_resolution_mean": mean(lambda r: r["group"] == "low resolution"),
                     "clean": mean(lambda r: r["condition"] == "clean")}
    convnet = next((n for n in names if "keras.io" in n), None)
    if convnet:
        for name in names:
            out[name]["mnist_c_ahead_of_convnet"] = sum(
                r["results"][name]["accuracy"] > r["results"][convnet]["accuracy"]
                for r in rows if r["group"] == "MNIST-C")
    return out


# ------------------------------------------------------------------ report
def markdown(study: dict, meta: dict) -> str:
    names = [r["name"] for r in study["readers"]]
    split = study.get("split", "test")
    scope = " (quick mode: a subset)" if study["quick"] else f" (the full {split} set)"
    lines = ["# Robustness benchmark", "",
             f"{study['test_digits']} MNIST {split} digits{scope}, seed {study['seed']}, {meta.get('cpu', '')}; "
             f"{study['seconds']} s for all conditions. "
             "Accuracy in %. Each reader brings an image to its own input size as the export does "
             "(area to shrink, bicubic to enlarge), so a 28-px recognizer on LR rows is bicubic + recognizer.", "",
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
    ax.set_xticklabels([r["condition"] + ("*" if r["note"].startswith("held") else "") for r in mc],
                       rotation=35, ha="right")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("MNIST-C (* = family held out of all training)")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    mc_png = out_dir / "mnist_c.png"
    fig.savefig(mc_png, dpi=110)
    plt.close(fig)
    return [sizes_png, mc_png]
