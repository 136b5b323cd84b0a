#!/usr/bin/env python
"""Benchmarks, each against a peer or baseline in the same run; results to benchmarks/results/<name>.json
and a combined benchmarks/RESULTS.md.

    python benchmarks/run.py                 # all
    python benchmarks/run.py cnn pipeline    # some

Each benchmark runs in its own process so its peak memory (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BENCHMARKS = ("cnn", "gan", "precision", "serving", "bfloat16", "upscale", "demo", "pipeline", "numbers", "forms",
              "predict", "hostile")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- cnn
def bench_cnn() -> dict:
    """Our recognizer vs the keras.io convnet: training images/s and wall time to 99.2% test accuracy."""
    import keras
    import numpy as np

    from hdsr_tf.config import CNNConfig
    from hdsr_tf.data.pipelines import Augmentation, classification_dataset
    from hdsr_tf.data.splits import load_digits
    from hdsr_tf.models.cnn import build_keras_io_convnet, build_recognizer
    from hdsr_tf.training.classifier import make_optimizer

    d = load_digits("mnist", seed=0)
    test = classification_dataset(*d.test, 1000, training=False)
    out = {}
    for name in ("ours", "keras_io"):
        keras.utils.set_random_seed(0)
        if name == "ours":
            cfg = CNNConfig()
            model = build_recognizer()
            train = classification_dataset(*d.train, cfg.batch_size, training=True, augment=Augmentation())
            steps = int(np.ceil(len(d.train[1]) / cfg.batch_size))
            model.compile(optimizer=make_optimizer(cfg, steps), loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            epochs, n_train = cfg.epochs, len(d.train[1])
        else:  # the recipe: Adam, batch 128, 15 epochs, validation split 0.1 (the same 9:1 split)
            model = build_keras_io_convnet()
            train = classification_dataset(*d.train, 128, training=True)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            epochs, n_train = 15, len(d.train[1])
        train_time, reached, curve = 0.0, None, []
        for epoch in range(epochs):
            t = time.perf_counter()
            model.fit(train, epochs=1, verbose=0)
            train_time += time.perf_counter() - t
            acc = float(model.evaluate(test, verbose=0)[1])
            curve.append(round(acc, 4))
            if reached is None and acc >= 0.992:
                reached = {"epoch": epoch + 1, "train_seconds": round(train_time, 1)}
                break
        out[name] = {"params": int(model.count_params()), "images_per_s": round(n_train * len(curve) / train_time),
                     "time_to_99.2": reached, "test_accuracy_per_epoch": curve}
    ratio = out["ours"]["images_per_s"] / out["keras_io"]["images_per_s"]
    out["ratio_images_per_s_ours_over_keras_io"] = round(ratio, 3)
    if out["ours"]["time_to_99.2"] and out["keras_io"]["time_to_99.2"]:
        out["ratio_time_to_99.2_ours_over_keras_io"] = round(
            out["ours"]["time_to_99.2"]["train_seconds"] / out["keras_io"]["time_to_99.2"]["train_seconds"], 3)
    return out


# ---------------------------------------------------------------- gan
def bench_gan(steps: int = 60) -> dict:
    """GAN-stage training images/s through fit() vs a bare tf.function step, plus generator inference."""
    import keras
    import numpy as np
    import tensorflow as tf

    from hdsr_tf.config import GANConfig
    from hdsr_tf.data.pipelines import sr_pair_dataset
    from hdsr_tf.data.splits import load_digits
    from hdsr_tf.models.cnn import build_recognizer
    from hdsr_tf.models.discriminator import build_discriminator
    from hdsr_tf.models.rrdb import build_generator
    from hdsr_tf.training.esrgan import ESRGAN
    from hdsr_tf.training.losses import PerceptualLoss, recognizer_features

    cfg = GANConfig()
    d = load_digits("mnist", seed=0)
    images = d.train[0][: cfg.batch_size * steps]
    ds = sr_pair_dataset(images, cfg.batch_size, training=True, drop_remainder=True)
    for _ in ds:  # fill the cache so both runs read from memory
        pass

    def model():
        keras.utils.set_random_seed(0)
        m = ESRGAN(build_generator(4, cfg.nf, cfg.gc, cfg.num_blocks), build_discriminator(28, cfg.d_filters))
        m.compile(g_optimizer=keras.optimizers.Adam(1e-4), d_optimizer=keras.optimizers.Adam(1e-4),
                  perceptual_loss=PerceptualLoss(recognizer_features(build_recognizer())))
        return m

    fit_model = model()
    fit_model.fit(ds.take(3), epochs=1, verbose=0)  # trace
    t = time.perf_counter()
    fit_model.fit(ds, epochs=1, verbose=0)
    fit_s = time.perf_counter() - t

    bare = model()
    step = tf.function(bare.train_step)
    for batch in ds.take(3):
        step(batch)
    t = time.perf_counter()
    for batch in ds:
        step(batch)
    bare_s = time.perf_counter() - t
    n = cfg.batch_size * steps

    lr = np.random.default_rng(0).random((256, 7, 7, 1)).astype("float32")

    def inference_rate(gen) -> int:
        infer = tf.function(lambda x: gen(x, training=False))
        infer(lr)
        t = time.perf_counter()
        for _ in range(10):
            infer(lr)
        return round(256 * 10 / (time.perf_counter() - t))

    gen = fit_model.generator
    wide = build_generator(4, 64, 32, cfg.num_blocks)  # saved_models/esrgan_x4_wide's size: what width costs
    return {"batch_size": cfg.batch_size, "steps": steps, "fit_images_per_s": round(n / fit_s),
            "bare_tf_function_images_per_s": round(n / bare_s),
            "ratio_bare_over_fit": round((n / bare_s) / (n / fit_s), 3),
            "generator_params": int(gen.count_params()),
            "generator_inference_images_per_s_batch256": inference_rate(gen),
            "wide_generator_params": int(wide.count_params()),
            "wide_generator_inference_images_per_s_batch256": inference_rate(wide)}


# ---------------------------------------------------------------- precision
def bench_precision(steps: int = 40) -> dict:
    """PSNR-stage training images/s at 2x through fit(): float32 against --precision mixed_bfloat16."""
    import keras
    import numpy as np

    from hdsr_tf.data.degrade import Degradation
    from hdsr_tf.data.pipelines import sr_pair_dataset
    from hdsr_tf.models.precision import with_dtype_policy
    from hdsr_tf.models.rrdb import build_generator
    from hdsr_tf.training.esrgan import ESRGAN

    batch = 64
    images = np.random.default_rng(0).integers(0, 256, (batch * steps, 28, 28, 1), dtype=np.uint8)
    ds = sr_pair_dataset(images, batch, training=True, degradation=Degradation(2), drop_remainder=True)
    for _ in ds:  # fill the cache so every run reads from memory
        pass

    def rate(nf: int, gc: int, policy: str) -> int:
        keras.utils.set_random_seed(0)
        m = ESRGAN(with_dtype_policy(build_generator(2, nf, gc, 3), policy), adversarial=False)
        m.compile(g_optimizer=keras.optimizers.Adam(1e-4), pixel_loss="psnr", ssim_weight=1.0)
        m.fit(ds.take(3), epochs=1, verbose=0)  # trace
        t = time.perf_counter()
        m.fit(ds, epochs=1, verbose=0)
        return round(batch * steps / (time.perf_counter() - t))

    out = {"scale": 2, "batch_size": batch, "steps": steps}
    for label, nf, gc in (("default", 32, 16), ("wide", 64, 32)):
        f32, bf16 = rate(nf, gc, "float32"), rate(nf, gc, "mixed_bfloat16")
        out[label] = {"nf": nf, "gc": gc, "float32_images_per_s": f32, "bfloat16_images_per_s": bf16,
                      "speedup": round(bf16 / f32, 2)}
    return out


# ---------------------------------------------------------------- serving
def bench_serving() -> dict:
    """The newest exported hybrid's signatures (drawing ``serving_default``, ``read`` and, when exported,
    ``read_bfloat16``) against the previous version, versions 1 and 4 and the recognizer alone: latency and
    throughput at batch 1, 32, 256 on 7x7 inputs, all timed in turns (sr_report.side_by_side_speed)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from hdsr_tf.evaluation.sr_report import side_by_side_speed
    from hdsr_tf.export import latest_version

    path = latest_version(ROOT / "saved_models" / "hybrid")
    before = path.parent / str(int(path.name) - 1)  # what the newest version changed, against this
    latest = tf.saved_model.load(str(path)).signatures
    fns = {"latest": latest["serving_default"],
           "first": tf.saved_model.load(str(ROOT / "saved_models" / "hybrid" / "1")).signatures["serving_default"],
           "previous": tf.saved_model.load(str(before)).signatures["serving_default"],
           # issue 27's yardstick: the reading signatures against version 4, the first to say "no digit"
           "fourth": tf.saved_model.load(str(ROOT / "saved_models" / "hybrid" / "4")).signatures["serving_default"]}
    fns.update({name: latest[name] for name in ("read", "read_bfloat16") if name in latest})
    rec = keras.saving.load_model(ROOT / "saved_models" / "cnn" / "recognizer.keras", compile=False)
    fns["recognizer"] = tf.function(lambda image: rec(image, training=False))
    lr = np.random.default_rng(0).random((1, 7, 7, 1)).astype("float32")
    hr = np.random.default_rng(0).random((1, 28, 28, 1)).astype("float32")
    speeds = side_by_side_speed(fns, "image", {k: hr if k == "recognizer" else lr for k in fns}, (1, 32, 256),
                                repeats=100)

    def ratio(a, b):
        return {n: round(speeds[a][n]["images_per_s"] / speeds[b][n]["images_per_s"], 3) for n in speeds[a]}

    out = {"savedmodel": str(path.relative_to(ROOT)), "input": "7x7 float32 (serving_default-style tensors)",
           "hybrid": speeds["latest"], "hybrid_version_1": speeds["first"], "recognizer_alone": speeds["recognizer"],
           "previous": str(before.relative_to(ROOT)), "hybrid_previous": speeds["previous"],
           "hybrid_version_4": speeds["fourth"],
           "throughput_ratio_latest_over_version_1": ratio("latest", "first"),
           "throughput_ratio_latest_over_previous": ratio("latest", "previous"),
           "throughput_ratio_hybrid_over_recognizer": ratio("latest", "recognizer")}
    for name in ("read", "read_bfloat16"):
        if name in speeds:
            out[name] = speeds[name]
            out[f"throughput_ratio_{name}_over_previous_serving_default"] = ratio(name, "previous")
            out[f"throughput_ratio_{name}_over_version_4_serving_default"] = ratio(name, "fourth")
    return out


def bench_bfloat16(sizes=(5, 7, 10, 14, 28)) -> dict:
    """The newest export's ``read_bfloat16`` against its float32 ``read`` on the full MNIST test set at each
    size (area-downsampled): how many digits (refusals included) agree, and each one's accuracy."""
    import numpy as np
    import tensorflow as tf

    from hdsr_tf.data import mnist
    from hdsr_tf.export import latest_version

    path = latest_version(ROOT / "saved_models" / "hybrid")
    signatures = tf.saved_model.load(str(path)).signatures
    x, y = mnist.load_arrays("test")
    x = x.reshape(-1, 28, 28, 1).astype("float32") / 255
    out = {"savedmodel": str(path.relative_to(ROOT)), "digits": len(y), "sizes": {}}
    for size in sizes:
        small = x if size == 28 else tf.image.resize(x, (size, size), method="area").numpy()
        digits = {name: np.concatenate([signatures[name](image=tf.constant(small[i:i + 1000]))["digit"].numpy()
                                        for i in range(0, len(small), 1000)]) for name in ("read", "read_bfloat16")}
        f32, bf16 = digits["read"], digits["read_bfloat16"]
        out["sizes"][str(size)] = {"agreement": float(np.mean(f32 == bf16)), "differ": int(np.sum(f32 != bf16)),
                                   "accuracy_float32": float(np.mean(f32 == y)),
                                   "accuracy_bfloat16": float(np.mean(bf16 == y))}
    out["lowest_agreement"] = min(v["agreement"] for v in out["sizes"].values())
    return out


def _photo(height: int, width: int):
    """A synthetic phone photo of a page of handwriting: MNIST test digits as blue-black ink on paper,
    uneven light and sensor noise, BGR uint8."""
    import numpy as np

    from hdsr_tf.data import mnist

    x, _ = mnist.load_arrays("test")
    rng = np.random.default_rng(0)
    ink = np.zeros((height, width), np.float32)
    for top in range(8, height - 40, 48):
        for left in range(8, width - 40, 36):
            ink[top:top + 28, left:left + 28] = x[rng.integers(len(x)), ..., 0] / 255.0
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 0.75 + 0.2 * (xx / width) - 0.1 * (yy / height)
    paper = np.stack([light * 0.93, light * 0.95, light], axis=-1)
    pen = np.array([0.35, 0.12, 0.1], np.float32)
    image = paper * (1 - ink[..., None]) + pen * ink[..., None] + rng.normal(0, 0.02, (height, width, 1))
    return np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)


def bench_upscale(height: int = 3000, width: int = 4000) -> dict:
    """scripts/upscale.py on a 4000x3000 colour photo (PNG) at 4x in its default tiles, as a user runs it: wall
    time and the script's own peak memory (max RSS of the child process); and the engine's tiled result
    against the untiled one on a 400x300 crop of the photo."""
    import tempfile

    import cv2
    import numpy as np

    from hdsr_tf.reading.upscaling import Upscaler

    photo = _photo(height, width)
    with tempfile.TemporaryDirectory() as tmp:
        cv2.imwrite(f"{tmp}/photo.png", photo)
        start = time.perf_counter()
        script = str(ROOT / "scripts" / "upscale.py")
        subprocess.run([sys.executable, script, f"{tmp}/photo.png", "--out", f"{tmp}/out"], check=True, cwd=ROOT,
                       capture_output=True)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        written = cv2.imread(f"{tmp}/out/photo.x4.png", cv2.IMREAD_UNCHANGED).shape
    upscaler = Upscaler(ROOT / "saved_models" / "esrgan_x4_blind" / "generator_psnr.keras")
    crop = photo[:300, :400]
    whole, tiled = upscaler.upscale(crop, tile=0), upscaler.upscale(crop)
    return {"input": f"{width}x{height} BGR PNG", "output": f"{written[1]}x{written[0]}", "scale": 4,
            "tile": "default (128 px, 16 px overlap)", "seconds": round(seconds, 1),
            "input_megapixels_per_s": round(height * width / seconds / 1e6, 3),
            "upscale_py_peak_rss_mb": round(peak),
            "crop_tiled_vs_untiled_max_abs_diff_of_255": int(np.abs(whole.astype(int) - tiled.astype(int)).max())}


def bench_demo(repeats: int = 5) -> dict:
    """The demo page in headless Chromium: milliseconds from dropping a file to the answer on the page, for a
    7x7 digit and a five-digit comb field (median of ``repeats``), the page served by scripts/demo.py."""
    import statistics
    import subprocess

    from playwright.sync_api import sync_playwright

    from hdsr_tf.demo.examples import HERE

    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "demo.py")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = ""
        while not line.startswith("demo: "):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise RuntimeError("demo.py did not start")
        url = line.split()[1]
        out = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page()
            page.goto(url)
            for tab, name, file in (("digit", "Digit", "digit_7x7.png"), ("number", "Number or form field",
                                                                         "comb_field.png")):
                page.get_by_role("tab", name=name).click()
                times = []
                for i in range(repeats + 1):  # the first is a warm-up
                    clear = page.locator(f"#{tab}-file button[aria-label='Clear']")
                    if clear.count():
                        clear.click()
                        page.wait_for_function(f"document.querySelector('#{tab}-answer textarea')?.value === ''")
                    start = time.perf_counter()
                    page.locator(f"#{tab}-file input[type=file]").set_input_files(str(HERE / file))
                    page.wait_for_function(f"(document.querySelector('#{tab}-answer textarea')?.value || '') !== ''",
                                           polling=5)
                    if i:
                        times.append((time.perf_counter() - start) * 1000)
                out[f"{tab}_ms"] = {"file": file, "median": round(statistics.median(times)),
                                    "all": [round(t) for t in times]}
            browser.close()
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_hostile() -> dict:
    """Hostile images through the newest export's bytes signature: the decompression bomb (a
    20000x20000 PNG of a few hundred KB) refused from its header, against the worst image the
    25-megapixel limit lets through (5000x5000, 16-bit RGBA), decoded and read."""
    import tensorflow as tf

    from hdsr_tf.data.headers import blank_png
    from hdsr_tf.evaluation.compare import PeakMemory
    from hdsr_tf.export import latest_version

    path = latest_version(ROOT / "saved_models" / "hybrid")
    fn = tf.saved_model.load(str(path)).signatures["predict_image_bytes"]
    small = blank_png(7, 7)
    fn(image_bytes=tf.constant([small]))  # tracing outside the measurements
    out = {"savedmodel": str(path.relative_to(ROOT))}
    for name, data in (("bomb_20000x20000_8bit_gray", blank_png(20000, 20000)),
                       ("largest_allowed_5000x5000_16bit_rgba", blank_png(5000, 5000, 16, 4))):
        with PeakMemory() as mem:
            start = time.perf_counter()
            answer = fn(image_bytes=tf.constant([data, small]))
            seconds = time.perf_counter() - start
        out[name] = {"file_kb": round(len(data) / 1024), "seconds": round(seconds, 3),
                     "peak_rss_rise_mb": round(mem.mb), "error": answer["error"].numpy()[0].decode(),
                     "other_item_answered": int(answer["digit"][1]) >= 0}
    return out


# ---------------------------------------------------------------- numbers
def bench_numbers(n: int = 1000) -> dict:
    """Reading 1,000 five-digit numbers (MNIST test digits, clear gaps, full resolution): the line reader
    (predict.py --number's default; the digits that stand alone read again by the SavedModel) beside the
    segmenter (every candidate crop through the SavedModel, in batches) and the naive equal-cell slicing
    (N known) read the same way."""
    from hdsr_tf.data import mnist
    from hdsr_tf.data.framing import to_ink
    from hdsr_tf.evaluation import numbers as ev
    from hdsr_tf.reading import cut_reader
    from hdsr_tf.reading.predictor import Predictor

    x, y = mnist.load_arrays("test")
    images, truth = ev.make_set(x, y, ev.NumberCondition("separated", "full", "dark_on_light"), n, seed=0)
    predictor = Predictor(ROOT / "saved_models" / "hybrid")
    cut_reader.read_numbers(images[:20], predictor.read)  # warm-up (tracing)
    t = time.perf_counter()
    prepared = [cut_reader.prepare(to_ink(image)) for image in images]
    segment_s = time.perf_counter() - t
    t = time.perf_counter()
    reads = cut_reader.read_numbers(images, predictor.read)
    total_s = time.perf_counter() - t
    t = time.perf_counter()
    baseline = ev.baseline_reads(images, truth, predictor.read)
    baseline_s = time.perf_counter() - t
    crops = sum(len(c) for _, c in prepared)
    out = {"numbers": n, "digits_per_number": 5, "savedmodel": str(predictor.path.relative_to(ROOT)),
           "seconds": round(total_s, 2), "numbers_per_s": round(n / total_s),
           "segmentation_seconds": round(segment_s, 2), "candidate_crops": crops,
           "string_accuracy": ev.score([r.number for r in reads], truth)["string_accuracy"],
           "equal_cells_seconds_one_batch_per_image": round(baseline_s, 2),
           "equal_cells_string_accuracy": ev.score(baseline, truth)["string_accuracy"]}
    line_reader_path = ROOT / "saved_models" / "line_reader" / "line_reader.keras"
    if line_reader_path.is_file():  # the default of predict.py --number: each number read whole, and
        from hdsr_tf.reading.line_reading import LineReader  # the digits that stand alone read again by the SavedModel

        line_reader = LineReader(line_reader_path)
        line_reader.read(images[:20], crop_reader=predictor.read)  # warm-up
        t = time.perf_counter()
        reads = line_reader.read(images, crop_reader=predictor.read)
        line_s = time.perf_counter() - t
        out.update({"line_reader": str(line_reader_path.relative_to(ROOT)), "line_reader_seconds": round(line_s, 2),
                    "line_reader_numbers_per_s": round(n / line_s),
                    "line_reader_string_accuracy": ev.score([r.number for r in reads], truth)["string_accuracy"]})
    return out


# ---------------------------------------------------------------- forms
def bench_forms(n: int = 1000) -> dict:
    """Reading 1,000 five-digit form fields (the seven layouts in turn, dark and blue ink, full size, MNIST
    test digits) as predict.py --number reads them: with the form step and without it (today's reader
    before this step), timed in turns on the same images; and predict.py --number given a 13000 x 13000
    PNG of 193 KB (its header refused before any model loads), beside the same command on one small
    field: wall seconds and peak memory of each process."""
    import tempfile

    import cv2
    import numpy as np

    from hdsr_tf.data import mnist
    from hdsr_tf.data.form_layouts import INKS, LAYOUTS, FormStyle, draw_field, make_fields
    from hdsr_tf.data.headers import blank_png

    # predict.py --number on the 13000 x 13000 PNG and on one small field, each process's own peak memory
    # through GNU time (a child's getrusage peak would count the pages it was forked with from here)
    first = {}
    digit = np.zeros((28, 28), np.uint8)
    cv2.putText(digit, "5", (6, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2, cv2.LINE_AA)
    with tempfile.TemporaryDirectory() as tmp:
        huge, small = Path(tmp) / "huge.png", Path(tmp) / "field.png"
        huge.write_bytes(blank_png(13000, 13000))
        field = draw_field([digit] * 5, FormStyle("comb", "blue", "full"), np.random.default_rng(0))
        cv2.imwrite(str(small), field)
        for name, path in (("huge_png_13000x13000", huge), ("one_small_field", small)):
            start = time.perf_counter()
            proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, str(ROOT / "scripts" / "predict.py"),
                                   "--number", str(path)], cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - start
            *rest, peak_kb = proc.stderr.strip().splitlines() or ["0"]
            first[name] = {"file_kb": round(path.stat().st_size / 1024), "seconds": round(wall, 2),
                           "peak_rss_mb": round(int(peak_kb) / 1024), "exit_code": proc.returncode,
                           "output": (proc.stdout + "\n".join(rest)).strip()[-200:]}
    from hdsr_tf.evaluation.numbers import score
    from hdsr_tf.reading.fields import read_fields
    from hdsr_tf.reading.line_reading import LineReader
    from hdsr_tf.reading.predictor import Predictor

    x, y = mnist.load_arrays("test")
    styles = [FormStyle(layout, ink, "full") for layout in LAYOUTS for ink in INKS]
    images, truth = [], []
    for k, style in enumerate(styles):
        share = n // len(styles) + (k < n % len(styles))
        fields, numbers = make_fields(x, y, style, share, seed=0)
        images += fields
        truth += numbers
    predictor = Predictor(ROOT / "saved_models" / "hybrid")
    line_reader = LineReader(ROOT / "saved_models" / "line_reader" / "line_reader.keras")
    read_fields(images[:20], predictor.read, line_reader)  # warm-up (tracing)
    seconds = {"form_step": [], "without": []}
    for _ in range(2):
        for name, structure in (("form_step", True), ("without", False)):
            t = time.perf_counter()
            reads, _ = read_fields(images, predictor.read, line_reader, structure)
            seconds[name].append(time.perf_counter() - t)
            accuracy = score([r.number for r in reads], truth)["string_accuracy"]
            seconds[name + "_string_accuracy"] = accuracy
    out = {"fields": n, "layouts": list(LAYOUTS), "inks": list(INKS),
           "seconds_with_form_step": round(min(seconds["form_step"]), 2),
           "seconds_without": round(min(seconds["without"]), 2),
           "fields_per_s_with_form_step": round(n / min(seconds["form_step"])),
           "string_accuracy_with_form_step": seconds["form_step_string_accuracy"],
           "string_accuracy_without": seconds["without_string_accuracy"],
           "all_runs_seconds": {k: [round(v, 2) for v in seconds[k]] for k in ("form_step", "without")}, **first}
    return out


# ---------------------------------------------------------------- predict
def bench_predict(n: int = 2000) -> dict:
    """scripts/predict.py's reading of n small PNGs (7x7 test digits) through the SavedModel's bytes
    signature: in batches of 256, against one file per call (how predict.py read before session 7)."""
    import tempfile

    import cv2
    import numpy as np

    from hdsr_tf.data import mnist
    from hdsr_tf.evaluation.sr_report import lr_test_images
    from hdsr_tf.reading.predictor import Predictor

    lr, _ = lr_test_images(mnist.load_arrays("test")[0][:n], 4)
    predictor = Predictor(ROOT / "saved_models" / "hybrid")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, digit in enumerate(lr):
            paths.append(Path(tmp) / f"{i:05d}.png")
            cv2.imwrite(str(paths[-1]), np.round(digit[..., 0] * 255).astype(np.uint8))
        rates = {}
        for name, batch in (("one_file_per_call", 1), ("batches_of_256", 256)):
            predictor.predict_files(paths[:300], batch_size=batch)  # warm-up (tracing)
            t = time.perf_counter()
            results = predictor.predict_files(paths, batch_size=batch)
            rates[name] = round(n / (time.perf_counter() - t))
        assert not any(r["error"] for r in results)
    return {"files": n, "savedmodel": str(predictor.path.relative_to(ROOT)), "images_per_s": rates,
            "speedup": round(rates["batches_of_256"] / rates["one_file_per_call"], 2)}


# ---------------------------------------------------------------- pipeline
def bench_pipeline() -> dict:
    """tf.data throughput against what the models consume, to show input is never the bottleneck."""
    import keras
    import numpy as np

    from hdsr_tf.data.pipelines import Augmentation, classification_dataset, sr_pair_dataset
    from hdsr_tf.data.recipe import load_recipe
    from hdsr_tf.data.splits import load_digits
    from hdsr_tf.models.cnn import build_recognizer

    d = load_digits("mnist", seed=0)

    def rate(ds, epochs=2):
        out = []
        for _ in range(epochs):
            t, n = time.perf_counter(), 0
            for batch in ds:
                n += int(batch[1].shape[0])
            out.append(n / (time.perf_counter() - t))
        return [round(v) for v in out]

    cls = rate(classification_dataset(*d.train, 128, training=True, augment=Augmentation()))
    srp = rate(sr_pair_dataset(d.train[0], 64, training=True))
    shifted = rate(sr_pair_dataset(d.train[0], 64, training=True, shift=3))  # re-degraded every epoch
    # The blind degradation model (issue 16): drawn fresh every epoch, so no epoch is cached.
    recipes = {name: load_recipe(name) for name in ("recognizer", "blind")}
    blind_cls = {f"{name}_recipe_at_28px": rate(classification_dataset(*d.train, 128, training=True, recipe=r), 1)[0]
                 for name, r in recipes.items()}
    blind_pairs = rate(sr_pair_dataset(d.train[0], 64, training=True, recipe=recipes["blind"]), 1)[0]
    model = build_recognizer()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((128, 28, 28, 1)).astype("float32")
    y = np.zeros(128, "int64")
    model.train_on_batch(x, y)
    t = time.perf_counter()
    for _ in range(20):
        model.train_on_batch(x, y)
    consume = 128 * 20 / (time.perf_counter() - t)
    keras.backend.clear_session()
    return {"classification_pipeline_images_per_s": {"first_epoch": cls[0], "cached_epoch": cls[1]},
            "sr_pair_pipeline_images_per_s": {"first_epoch": srp[0], "cached_epoch": srp[1]},
            "sr_pair_shift_augmented_images_per_s": {"first_epoch": shifted[0], "later_epoch": shifted[1]},
            "blind_classification_pipeline_images_per_s": blind_cls,
            "blind_sr_pair_pipeline_images_per_s (7 px LR)": blind_pairs,
            "recognizer_training_consumes_images_per_s": round(consume),
            "ratio_pipeline_over_consumption": round(cls[1] / consume, 2),
            "ratio_blind_pipelines_over_recognizer_consumption": {
                k: round(v / consume, 2) for k, v in {**blind_cls, "blind_sr_pairs": blind_pairs}.items()}}


# ---------------------------------------------------------------- driver
def run_one(name: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.time()
    result = globals()[f"bench_{name}"]()
    result["wall_seconds"] = round(time.time() - start, 1)
    result["peak_rss_mb"] = round(peak_rss_mb())
    from hdsr_tf.cli import machine

    result["machine"] = machine()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def write_markdown() -> None:
    lines = ["# Benchmark results", "",
             "Written by `python benchmarks/run.py`; each benchmark compares against a peer or baseline in the same "
             "run. Figures are measured, on the machine named in each section.", ""]
    for name in BENCHMARKS:
        path = RESULTS / f"{name}.json"
        if path.exists():
            data = json.loads(path.read_text())
            lines += [f"## {name}", "", f"Machine: {data.get('machine', '?')}", "",
                      "```json", json.dumps({k: v for k, v in data.items() if k != "machine"}, indent=2), "```", ""]
    lines += ["What was tried, kept or removed, and why: [NOTES.md](NOTES.md).", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run, of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(args.child)
        return
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}; choose from {BENCHMARKS}")
    for name in args.names or BENCHMARKS:
        print(f"== {name}", flush=True)
        proc = subprocess.run([sys.executable, __file__, "--child", name], cwd=ROOT)
        if proc.returncode:
            print(f"benchmark {name} failed ({proc.returncode})", file=sys.stderr)
    write_markdown()
    print(f"results: {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
