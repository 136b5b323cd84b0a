"""The paper's comparative study, measured: KNN, SVM, LeNet-5, the keras.io convnet, our
recognizer and our hybrid, on the same split and test set, in one run.

Every reader exposes ``fit(train, val)`` and ``predict(images) -> probabilities``
on float32 [N,28,28,1] images in [0,1]; the hybrid alone reads the LR digit
itself. Memory is measured, not estimated: the peak rise of the process's
resident memory during a phase, sampled every 5 ms.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from hdsr_tf.evaluation import corruptions
from hdsr_tf.evaluation.classification import classification_summary

PAPER_QUOTED = [  # Table 1 of the paper: test error, quoted, not measured
    ("KNN (paper, quoted)", 0.024), ("LeNet (paper, quoted)", 0.017),
    ("LeNet with KNN (paper, quoted)", 0.011), ("paper's method (quoted)", 0.008)]


class PeakMemory:
    """Context manager: the peak increase of this process's RSS (MB) while inside."""

    def __enter__(self):
        self._proc = psutil.Process()
        self._start = self._peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, self._proc.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.mb = (max(self._peak, self._proc.memory_info().rss) - self._start) / 2**20


def _flat(x: np.ndarray) -> np.ndarray:
    """[N,28,28,1] uint8 or [0,1] floats -> [N,784] floats in [0,1]."""
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    return x.reshape(len(x), -1)


# ------------------------------------------------------------------ readers
@dataclass
class Contender:
    name: str
    note: str = ""
    train_seconds: float | None = None
    train_note: str = "measured in this run"
    params: int | None = None
    size_bytes: int | None = None
    reads_lr: bool = False
    extra: dict = field(default_factory=dict)

    def fit(self, train, val):  # pragma: no cover - interface
        raise NotImplementedError

    def predict(self, x):  # pragma: no cover - interface
        raise NotImplementedError


class KNNReader(Contender):
    def __init__(self, ks=(1, 3, 5, 7)):
        super().__init__("k-nearest neighbours (scikit-learn)")
        self.ks = ks

    def fit(self, train, val):
        from sklearn.neighbors import KNeighborsClassifier

        best = None
        for k in self.ks:
            model = KNeighborsClassifier(n_neighbors=k, n_jobs=-1).fit(_flat(train[0]), train[1])
            acc = float(np.mean(model.predict(_flat(val[0])) == val[1]))
            if best is None or acc > best[0]:
                best = (acc, k, model)
        self.model = best[2]
        self.note = f"k = {best[1]} (chosen on validation from {list(self.ks)}), raw pixels"
        self.size_bytes = int(_flat(train[0]).nbytes)

    def predict(self, x):
        return self.model.predict_proba(_flat(x))


class SVMReader(Contender):
    def __init__(self, subsample: int = 10000, seed: int = 0):
        super().__init__("SVM, RBF kernel (scikit-learn)")
        self.subsample, self.seed = subsample, seed

    def fit(self, train, val):
        from sklearn.svm import SVC

        n = min(self.subsample, len(train[1]))
        idx = np.random.default_rng(self.seed).permutation(len(train[1]))[:n]
        self.model = SVC(kernel="rbf", C=5.0, gamma="scale", probability=False).fit(_flat(train[0][idx]),
                                                                                    train[1][idx])
        self.note = f"trained on a seeded subsample of {n} of {len(train[1])} digits (full RBF training is too slow)"
        self.params = int(self.model.support_vectors_.size)
        self.size_bytes = int(self.model.support_vectors_.nbytes)

    def predict(self, x):
        labels = self.model.predict(_flat(x))
        return np.eye(10, dtype=np.float32)[labels]


class KerasReader(Contender):
    def __init__(self, name, build, epochs, batch_size=128, optimizer="adam", seed=0, note=""):
        super().__init__(name, note)
        self.build, self.epochs, self.batch_size, self.optimizer, self.seed = build, epochs, batch_size, optimizer, seed

    def fit(self, train, val):
        import keras

        from hdsr_tf.data.pipelines import classification_dataset

        keras.utils.set_random_seed(self.seed)
        self.model = self.build()
        self.model.compile(optimizer=self.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        ds = classification_dataset(train[0], train[1], self.batch_size, training=True, seed=self.seed)
        vds = classification_dataset(val[0], val[1], 1000, training=False)
        self.model.fit(ds, validation_data=vds, epochs=self.epochs, verbose=0)
        self.params = int(self.model.count_params())
        self.size_bytes = int(sum(w.nbytes for w in self.model.get_weights()))

    def predict(self, x):
        from hdsr_tf.evaluation.classification import predict_labels

        return predict_labels(self.model, x)[1]


class ShippedReader(Contender):
    """A shipped model: not retrained here; its training time comes from its own metrics file."""

    def __init__(self, name, path: Path, train_seconds=None, reads_lr=False, note=""):
        super().__init__(name, note, train_seconds=train_seconds, train_note="from its training run",
                         reads_lr=reads_lr)
        self.path = path

    def fit(self, train, val):
        from hdsr_tf.models import load_model

        self.model = load_model(self.path)
        self.params = int(self.model.count_params())
        self.size_bytes = int(self.path.stat().st_size)

    def predict(self, x):
        from hdsr_tf.evaluation.classification import predict_labels

        return predict_labels(self.model, x)[1]


def build_lenet5():
    """LeNet-5 as LeCun et al. (1998) laid it out, on 28x28 input padded to 32x32."""
    import keras
    from keras import layers

    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.ZeroPadding2D(2, name="pad_to_32")(inputs)
    x = layers.Conv2D(6, 5, activation="tanh", name="c1")(x)
    x = layers.AveragePooling2D(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation="tanh", name="c3")(x)
    x = layers.AveragePooling2D(2, name="s4")(x)
    x = layers.Conv2D(120, 5, activation="tanh", name="c5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation="tanh", name="f6")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="lenet5")


# ------------------------------------------------------------------ study
def to_28(x: np.ndarray) -> np.ndarray:
    """LR digits -> 28x28 by bicubic, how a reader without SR sees them."""
    import tensorflow as tf

    if x.shape[1] == 28:
        return x
    return np.clip(tf.image.resize(x, [28, 28], method="bicubic").numpy(), 0, 1)


def measure(reader: Contender, digits, lr_scale: int = 4) -> dict:
    train, val, test = digits.train, digits.val, digits.test
    with PeakMemory() as mem:
        start = time.perf_counter()
        reader.fit(train, val)
        fit_s = time.perf_counter() - start
    if reader.train_seconds is None:
        reader.train_seconds = fit_s
    x = test[0].astype(np.float32) / 255.0
    if reader.reads_lr:
        x = corruptions.downsample(test[0], lr_scale)
    reader.predict(x[:64])  # warm-up (tracing) outside the timing
    with PeakMemory() as infer_mem:
        start = time.perf_counter()
        probs = reader.predict(x)
        infer_s = time.perf_counter() - start
    s = classification_summary(test[1], np.argmax(probs, 1))
    return {"model": reader.name, "input": f"{28 // lr_scale}x{28 // lr_scale} (4x low-res)" if reader.reads_lr
            else "28x28", "test_error": s["error"], "macro_precision": s["macro_precision"],
            "macro_recall": s["macro_recall"], "macro_f1": s["macro_f1"],
            "train_seconds": round(reader.train_seconds, 1), "train_time_source": reader.train_note,
            "inference_images_per_s": round(len(x) / infer_s), "params": reader.params,
            "size_bytes": reader.size_bytes, "train_peak_mem_mb": round(mem.mb, 1),
            "inference_peak_mem_mb": round(infer_mem.mb, 1), "note": reader.note}


def robustness(readers: list[Contender], test, n: int, seed: int = 0, severities=None) -> dict:
    """Accuracy of each reader on each corrupted version of a seeded test subset."""
    idx = np.random.default_rng(seed).permutation(len(test[1]))[:n]
    images, labels = test[0][idx], test[1][idx]
    out = {}
    for name, levels in (severities or corruptions.CORRUPTIONS).items():
        out[name] = {"severities": levels, "accuracy": {r.name: [] for r in readers}}
        if name == "downsample":
            out[name]["accuracy"]["bicubic + our recognizer"] = []
        for level in levels:
            x = corruptions.apply(name, images, level, seed)
            for r in readers:
                if name == "downsample":
                    inp = x if r.reads_lr else to_28(x)
                else:
                    inp = x
                acc = float(np.mean(np.argmax(r.predict(inp), 1) == labels))
                out[name]["accuracy"][r.name].append(acc)
            if name == "downsample":
                ours = next(r for r in readers if r.name.startswith("our recognizer"))
                acc = float(np.mean(np.argmax(ours.predict(to_28(x)), 1) == labels))
                out[name]["accuracy"]["bicubic + our recognizer"].append(acc)
    return out


def plot_robustness(study: dict, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name, data in study.items():
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for model, accs in data["accuracy"].items():
            ax.plot(data["severities"], accs, marker="o", ms=4, label=model)
        ax.set_xlabel({"gaussian_noise": "noise sigma", "gaussian_blur": "blur sigma (px)",
                       "rotation": "max rotation (degrees)", "elastic": "elastic alpha",
                       "downsample": "downsampling factor"}[name])
        ax.set_ylabel("accuracy")
        ax.set_title(f"Robustness: {name.replace('_', ' ')}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out_dir / f"robustness_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def markdown(rows: list[dict], study: dict, meta: dict) -> str:
    lines = ["# Comparative study (measured)", "",
             f"MNIST, the same seeded 9:1 split and the full test set ({meta['test_size']} digits) for every model. "
             f"Machine: {meta['machine']}. Run: `{meta['command']}`.", "",
             "| model | input | test error | macro precision | macro recall | macro F1 | training time (s) "
             "| inference (img/s) | params | size (bytes) | train peak mem (MB) | inference peak mem (MB) | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['input']} | {r['test_error']:.2%} | {r['macro_precision']:.4f} | "
            f"{r['macro_recall']:.4f} | {r['macro_f1']:.4f} | {r['train_seconds']} ({r['train_time_source']}) | "
            f"{r['inference_images_per_s']} | {r['params'] or '—'} | {r['size_bytes'] or '—'} | "
            f"{r['train_peak_mem_mb']} | {r['inference_peak_mem_mb']} | {r['note']} |")
    for name, err in PAPER_QUOTED:
        lines.append(f"| {name} | 28x28 | {err:.1%} | — | — | — | — | — | — | — | — | — | quoted from the paper's "
                     "Table 1, not measured |")
    lines += ["", "Memory: the peak rise of the process's resident memory during training / inference, sampled "
              "every 5 ms (shipped models: loading, not training). Training times of shipped models come from "
              "their own training runs.", "",
              f"## Robustness (accuracy on a seeded subset of {meta['robustness_size']} test digits)", ""]
    for name, data in study.items():
        lines += [f"### {name.replace('_', ' ')}", "",
                  "| model | " + " | ".join(str(s) for s in data["severities"]) + " |",
                  "|---|" + "---|" * len(data["severities"])]
        for model, accs in data["accuracy"].items():
            lines.append(f"| {model} | " + " | ".join(f"{a:.2%}" for a in accs) + " |")
        lines += ["", f"![{name}](robustness_{name}.png)", ""]
    if "downsample" in study:
        lines += ["Down-sampling: the hybrid reads the LR digit itself (its generator is trained for 4x; other "
                  "factors are resized to 7x7 first); every other model reads a bicubic upscaling to 28x28.", ""]
    return "\n".join(lines) + "\n"
