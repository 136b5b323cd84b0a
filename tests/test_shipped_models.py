"""Every committed model loads in safe mode and still scores what its metrics file says, on the
full MNIST test set (never a subset: tfds' order names no subset anyone else can reproduce)."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from hdsr_tf.data import mnist
from hdsr_tf.data.splits import recognizer_input
from hdsr_tf.evaluation import sr_report as sr
from hdsr_tf.evaluation.classification import predict_labels
from hdsr_tf.export import load_version
from hdsr_tf.image_metrics import image_quality
from hdsr_tf.models import load_model

SHIPPED = Path(__file__).resolve().parents[1] / "saved_models"
RECOGNIZERS = [("cnn", 0), ("lowres_cnn_x4", 4), ("lowres_cnn_x2", 2)]
GENERATORS = [("esrgan_x4", "generator_psnr.keras", "PSNR model"), ("esrgan_x4", "generator_gan.keras", "GAN model"),
              ("esrgan_x4_wide", "generator_psnr.keras", "PSNR model"),
              ("esrgan_x4_wide", "generator_gan.keras", "GAN model"),
              ("esrgan_x2", "generator_psnr.keras", "PSNR model"), ("esrgan_x2", "generator_gan.keras", "GAN model"),
              ("esrgan_x2_wide", "generator_psnr.keras", "PSNR model")]
HYBRIDS = [("hybrid_x4", 4), ("hybrid_x2", 2)]
COVERED = ({f"{f}/recognizer.keras" for f, _ in RECOGNIZERS} | {f"{f}/{n}" for f, n, _ in GENERATORS}
           | {f"{f}/hybrid.keras" for f, _ in HYBRIDS})


@pytest.fixture(scope="module")
def test_set(mnist_ready):
    images, labels = mnist.load_arrays("test")
    assert len(labels) == 10000
    return images, labels


def served_version(name: str):
    """A version of the shipped SavedModel, loaded once per test process (seconds each)."""
    return load_version(SHIPPED / "hybrid" / name)


def _metrics(folder: str, name: str = "metrics.json") -> dict:
    return json.loads((SHIPPED / folder / name).read_text())


def test_every_shipped_model_is_checked_here():
    shipped = {str(p.relative_to(SHIPPED)) for p in SHIPPED.rglob("*.keras")}
    assert shipped == COVERED, f"not checked: {shipped - COVERED}; missing: {COVERED - shipped}"


@pytest.mark.slow
@pytest.mark.parametrize("folder,lr_scale", RECOGNIZERS)
def test_shipped_recognizers_match_their_metrics(test_set, folder, lr_scale, tmp_path):
    metrics = _metrics(folder)
    assert metrics["num_examples"] == 10000
    if folder == "cnn":  # as a user checks it: the evaluation script on the shipped model
        from conftest import run_script

        run_script("evaluate_cnn.py", "--out", tmp_path, check=True, timeout=300)
        measured = json.loads((tmp_path / "metrics.json").read_text())
        assert np.trace(np.array(measured["confusion_matrix"])) == round(measured["accuracy"] * 10000)
        assert (tmp_path / "classification_report.txt").read_text().startswith(f"accuracy {measured['accuracy']:.4%}")
        accuracy = measured["accuracy"]
    else:
        images, labels = test_set
        pred, _ = predict_labels(load_model(SHIPPED / folder / "recognizer.keras"), recognizer_input(images, lr_scale))
        accuracy = float(np.mean(pred == labels))
    assert accuracy == pytest.approx(metrics["accuracy"], abs=0.0005)  # +-0.05 points


@pytest.mark.slow
@pytest.mark.parametrize("folder,name,row", GENERATORS)
def test_shipped_generators_match_their_psnr_ssim_and_recognition(test_set, folder, name, row):
    images, labels = test_set
    generator = load_model(SHIPPED / folder / name)
    metrics = _metrics(folder, "sr_metrics.json")
    recorded = {r["name"]: r for r in metrics["mnist"]}[row]
    lr, hr = sr.lr_test_images(images, metrics["scale"])
    out = sr.super_resolve(generator, lr)
    measured = image_quality(out, hr)
    assert measured["psnr"] == pytest.approx(recorded["psnr"], abs=0.02)
    assert measured["ssim"] == pytest.approx(recorded["ssim"], abs=5e-4)  # 11x11 window
    assert measured["ssim_7x7"] == pytest.approx(recorded["ssim_7x7"], abs=5e-4)
    if "wide" in folder:  # the headline "read at" figures (the others' are in sr_metrics.json the same way)
        pred = np.argmax(sr.predict_probs(load_model(SHIPPED / "cnn" / "recognizer.keras"), out), 1)
        assert float(np.mean(pred == labels)) == pytest.approx(recorded["accuracy"], abs=0.0005)


@pytest.mark.slow
@pytest.mark.parametrize("folder,scale", HYBRIDS)
def test_shipped_hybrids_match_their_metrics(test_set, folder, scale):
    images, labels = test_set
    metrics = _metrics(folder)
    hybrid = load_model(SHIPPED / folder / "hybrid.keras")
    lr, _ = sr.lr_test_images(images, scale)
    probs = sr.predict_probs(hybrid, lr)
    assert float(np.mean(np.argmax(probs, 1) == labels)) == pytest.approx(metrics["after"]["hybrid_lr_accuracy"],
                                                                          abs=0.0005)
    # Joint fine-tuning may retrain the recognizer inside the hybrid; on full-resolution
    # digits it must stay within 0.1 points of the shipped CNN.
    hr_pred, _ = predict_labels(hybrid.get_layer("recognizer"), images)
    hr_accuracy = float(np.mean(hr_pred == labels))
    assert hr_accuracy == pytest.approx(metrics["after"]["recognizer_hr_accuracy"], abs=0.0005)
    assert hr_accuracy >= _metrics("cnn")["accuracy"] - 0.001
    if folder == "hybrid_x4":  # the served SavedModel is this hybrid, exported: version 1, and 2 with size routing
        def served(version, x):
            fn = served_version(version).signatures["serving_default"]
            return np.concatenate([fn(image=tf.constant(x[i:i + 1000]))["probabilities"].numpy()
                                   for i in range(0, len(x), 1000)])

        # the accuracy above is the full test set's; that the exports compute the same function, a sample shows
        sample = np.random.default_rng(0).permutation(len(lr))[:2000]
        v2 = served("2", lr[sample])
        np.testing.assert_array_equal(np.argmax(v2, 1), np.argmax(probs[sample], 1))
        np.testing.assert_allclose(served("1", lr[sample[:1000]]), v2[:1000], atol=1e-5)  # a version-1 request
        full = np.argmax(served("2", images.astype(np.float32) / 255), 1)  # full resolution: no SR detour
        np.testing.assert_array_equal(full, hr_pred)


# Models trained on the blind degradation recipes: each metrics.json records, under "robustness", figures
# measured by the robustness benchmark's own conditions (seed 0) on the full test set.
ROBUST = {"cnn_robust/recognizer.keras": "classifier", "rival_blind/recognizer.keras": "classifier",
          "hybrid_x4_blind/hybrid.keras": "classifier", "esrgan_x4_blind/generator_psnr.keras": "generator"}
COVERED |= set(ROBUST)


def sr_reader(name: str, generator, recognizer, seen: str):
    """A generator and a recognizer chained (the hybrid before or without joint fine-tuning): inputs are
    ResizeTo'd to the generator's LR size, super-resolved, then read; the SR image is kept."""
    from hdsr_tf.evaluation.robustness import ReaderUnderTest
    from hdsr_tf.models.layers import ResizeTo
    from hdsr_tf.models.rrdb import generator_scale

    resize = ResizeTo(28 // generator_scale(generator))

    @tf.function(reduce_retracing=True)
    def run(x):
        sr = tf.clip_by_value(generator(resize(x), training=False), 0.0, 1.0)
        return recognizer(sr, training=False), sr

    def outputs(x):
        probs, sr = run(tf.constant(x, tf.float32))
        return {"probabilities": probs.numpy(), "sr_image": sr.numpy()}

    return ReaderUnderTest(name, seen, outputs, int(generator.count_params() + recognizer.count_params()))


@pytest.mark.slow
@pytest.mark.parametrize("model_file", sorted(ROBUST))
def test_blind_models_match_their_recorded_robustness(test_set, model_file):
    from hdsr_tf.evaluation import robustness as rb

    images, labels = test_set
    folder = model_file.split("/")[0]
    recorded = _metrics(folder)["robustness"]
    model = load_model(SHIPPED / model_file)
    if ROBUST[model_file] == "generator":
        reader = sr_reader(folder, model, load_model(SHIPPED / "cnn_robust" / "recognizer.keras"), "")
    else:
        reader = rb.keras_reader(folder, model, "")
    measured = {r["condition"]: r for r in rb.short_summary(reader, images, labels, names=list(recorded))}
    assert set(measured) == set(recorded)
    for name, want in recorded.items():
        assert measured[name]["accuracy"] == pytest.approx(want["accuracy"], abs=0.0005), name
        if "psnr" in want:
            assert measured[name]["psnr"] == pytest.approx(want["psnr"], abs=0.02), name


def test_version_3_answers_a_version_1_client_and_reads_like_its_parts(test_set):
    """hybrid/3 (saved_models/hybrid/VERSIONS.md): a version-1 request (7x7 float digits; an encoded file)
    gets the same kind of answer; small digits are read by rival_blind, full-resolution ones by cnn_robust."""
    from hdsr_tf.models.layers import ResizeTo

    images, labels = test_set
    sample = np.random.default_rng(0).permutation(len(labels))[:500]
    lr, hr = sr.lr_test_images(images[sample], 4)
    v3 = served_version("3").signatures
    for version, fn in (("1", served_version("1").signatures), ("3", v3)):
        out = fn["serving_default"](image=tf.constant(lr))
        assert {"probabilities", "digit", "confidence", "sr_image"} <= set(out), version
        png = tf.io.encode_png(tf.cast(tf.round(lr[0] * 255), tf.uint8))
        coded = fn["predict_image_bytes"](image_bytes=tf.constant([png.numpy()]))
        assert coded["digit"].shape == (1,) and 0 <= int(coded["digit"][0]) <= 9, version
    rival = load_model(SHIPPED / "rival_blind" / "recognizer.keras")
    small = v3["serving_default"](image=tf.constant(lr))["probabilities"].numpy()
    np.testing.assert_allclose(small, rival(ResizeTo(28)(lr)).numpy(), atol=1e-5)
    robust = load_model(SHIPPED / "cnn_robust" / "recognizer.keras")
    full = v3["serving_default"](image=tf.constant(hr))["probabilities"].numpy()
    np.testing.assert_allclose(full, robust(hr).numpy(), atol=1e-5)


COVERED.add("detector/detector.keras")


@pytest.mark.slow
def test_version_4_says_no_digit_as_recorded(test_set):
    """hybrid/4 = hybrid/3's readers behind the shipped no-digit detector (saved_models/detector): its
    probe of non-digits (200 per family, held-out seed and fonts, 7/14/28 px) and the clean and 7x7
    test digits (refusals, accuracy, ECE) match saved_models/detector/metrics.json; and its
    probabilities are version 3's, so a client that reads only those sees no change."""
    from hdsr_tf.evaluation import trust

    images, labels = test_set
    recorded = _metrics("detector")["served"]
    run = trust.served(SHIPPED / "hybrid" / "4")
    probe = {(r["family"], r["size"]): r["no_digit"] for r in trust.probe(run, recorded["per_family"])}
    for row in recorded["probe"]:
        assert probe[(row["family"], row["size"])] == pytest.approx(row["no_digit"], abs=0.003), row
    wanted = {r["condition"] for r in recorded["digits"]}
    names = {"clean": "28 px area"}
    rows = trust.digit_rows(run, images, labels, sizes=(7, 28),
                            wanted=lambda name: name in {names.get(w, w) for w in wanted})
    assert {r["condition"] for r in rows} == wanted
    for row, want in zip(rows, recorded["digits"]):
        for key in ("refused", "accuracy", "ece"):
            assert row[key] == pytest.approx(want[key], abs=0.0005), (row["condition"], key)
    x = images[:500].astype(np.float32) / 255.0
    v3 = served_version("3").signatures["serving_default"]
    np.testing.assert_allclose(run(x)["probabilities"], v3(image=tf.constant(x))["probabilities"].numpy(), atol=1e-5)


@pytest.mark.slow
def test_version_4_answers_no_digit_where_version_1_guessed():
    """Issue 17's table: a blank page, an all-zero or all-NaN tensor, a uniform grey field and random
    noise each got a confident digit from version 1; version 4 answers -1 for each, small or large."""
    rng = np.random.default_rng(0)
    fn = served_version("4").signatures["serving_default"]
    for size in (7, 28, 64):
        x = np.stack([np.zeros((size, size, 1)), np.full((size, size, 1), np.nan), np.full((size, size, 1), 0.5),
                      rng.random((size, size, 1))]).astype(np.float32)
        out = fn(image=tf.constant(x))
        assert out["digit"].numpy().tolist() == [-1] * 4, size
        assert (out["no_digit"].numpy() > 0.9314).all()


@pytest.mark.slow
def test_version_5_reads_as_version_4_and_read_as_its_serving_default(test_set):
    """hybrid/5 is hybrid/4 plus the reading signatures: at 7 and 28 px (the first 2,000 test digits) its
    ``serving_default`` answers as version 4's, and ``read`` as its own ``serving_default`` less ``sr_image``.
    (bfloat16 agreement is checked on the newest version, whose figures benchmarks/results/bfloat16.json holds.)"""
    images, _ = test_set
    v4 = served_version("4").signatures["serving_default"]
    v5 = served_version("5").signatures
    x = images[:2000].astype(np.float32) / 255.0
    for size in (7, 28):
        small = tf.constant(x if size == 28 else tf.image.resize(x, (size, size), method="area").numpy())
        old, drawn, read = v4(image=small), v5["serving_default"](image=small), v5["read"](image=small)
        np.testing.assert_array_equal(drawn["digit"].numpy(), old["digit"].numpy())
        assert set(drawn) - set(read) == {"sr_image"}
        for key in read:
            np.testing.assert_allclose(read[key].numpy(), drawn[key].numpy(), atol=1e-5)


COVERED.update({"rival_blind_head/reader_with_head.keras", "cnn_robust_head/reader_with_head.keras"})


@pytest.mark.slow
def test_version_7_reads_as_version_6_and_says_no_digit_with_its_readers_heads(test_set):
    """hybrid/7 = version 6's readers, each with its own no-digit head (saved_models/rival_blind_head under
    28 px, cnn_robust_head at 28 px) in place of the separate detector: its probabilities are version 6's (the
    heads leave the readers alone), its ``no_digit`` is the shipped heads' own, ``read`` answers as its
    ``serving_default`` less ``sr_image``, its probe (200 per family) and clean and 7x7 test digits match
    rival_blind_head/metrics.json, and ``read_bfloat16`` agrees with ``read`` as
    benchmarks/results/bfloat16.json records."""
    from hdsr_tf.evaluation import trust
    from hdsr_tf.models.layers import ResizeTo

    images, labels = test_set
    metrics = _metrics("rival_blind_head")
    recorded, threshold = metrics["served"], metrics["served"]["threshold"]
    v6, v7 = served_version("6").signatures, served_version("7").signatures
    x = images[:2000].astype(np.float32) / 255.0
    heads = {7: load_model(SHIPPED / "rival_blind_head" / "reader_with_head.keras"),
             28: load_model(SHIPPED / "cnn_robust_head" / "reader_with_head.keras")}
    for size, head in heads.items():
        small = x if size == 28 else tf.image.resize(x, (size, size), method="area").numpy()
        old, drawn, read = (fn(image=tf.constant(small)) for fn in (v6["read"], v7["serving_default"], v7["read"]))
        np.testing.assert_allclose(read["probabilities"].numpy(), old["probabilities"].numpy(), atol=1e-5)
        _, no_digit = head(ResizeTo(28)(small) if size < 28 else small)
        np.testing.assert_allclose(read["no_digit"].numpy(), no_digit.numpy()[:, 0], atol=1e-5)
        want = np.where(no_digit.numpy()[:, 0] > threshold, -1, old["probabilities"].numpy().argmax(1))
        np.testing.assert_array_equal(read["digit"].numpy(), want)
        assert set(drawn) - set(read) == {"sr_image"}
        for key in read:
            np.testing.assert_allclose(drawn[key].numpy(), read[key].numpy(), atol=1e-5)
    run = trust.served(SHIPPED / "hybrid" / "7")
    probe = {(r["family"], r["size"]): r["no_digit"] for r in trust.probe(run, recorded["per_family"])}
    for row in recorded["probe"]:
        assert probe[(row["family"], row["size"])] == pytest.approx(row["no_digit"], abs=0.003), row
    names = {"clean": "28 px area"}
    rows = trust.digit_rows(run, images, labels, sizes=(7, 28),
                            wanted=lambda name: name in {names.get(r["condition"], r["condition"])
                                                         for r in recorded["digits"]})
    assert [r["condition"] for r in rows] == [r["condition"] for r in recorded["digits"]]
    for row, want in zip(rows, recorded["digits"]):
        for key in ("refused", "accuracy", "ece"):
            assert row[key] == pytest.approx(want[key], abs=0.0005), (row["condition"], key)
    bf16 = json.loads((SHIPPED.parent / "benchmarks" / "results" / "bfloat16.json").read_text())
    assert bf16["savedmodel"] == "saved_models/hybrid/7" and bf16["digits"] == len(labels)
    full = images.astype(np.float32) / 255.0
    for size in (7, 28):
        small = full if size == 28 else tf.image.resize(full, (size, size), method="area").numpy()
        digits = {name: np.concatenate([v7[name](image=tf.constant(small[i:i + 1000]))["digit"].numpy()
                                        for i in range(0, len(small), 1000)]) for name in ("read", "read_bfloat16")}
        differ = int(np.sum(digits["read"] != digits["read_bfloat16"]))
        assert differ <= len(labels) * 0.0005 and abs(differ - bf16["sizes"][str(size)]["differ"]) <= 2, size


COVERED.add("esrgan_any_size/generator_psnr.keras")


@pytest.mark.slow
def test_the_any_size_generator_keeps_full_size_digits_and_draws_as_recorded(test_set):
    """saved_models/esrgan_any_size on the full test set: a 28-px digit comes back unchanged or sharper
    (PSNR against it >= 40 dB, no less edge energy), and its PSNR on the conditions metrics.json names
    matches the record; version 6's sr_image is its picture, but at 7 px, where it is version 5's."""
    from hdsr_tf.evaluation import conditions
    from hdsr_tf.models.layers import ResizeTo

    images, _ = test_set
    generator = load_model(SHIPPED / "esrgan_any_size" / "generator_psnr.keras")
    x = images.astype(np.float32) / 255.0

    def psnr(a, b):  # per-image PSNR (peak 1), averaged: what metrics.image_quality reports, without its SSIM
        return float(np.mean(10 * np.log10(1.0 / np.mean((a - b) ** 2, axis=(1, 2, 3)))))

    same = sr.super_resolve(generator, x)  # one traced function, clipped to [0, 1]
    assert psnr(same, x) >= 40.0

    def edges(a):
        return np.abs(np.diff(a, axis=1)).mean() + np.abs(np.diff(a, axis=2)).mean()

    assert edges(same) >= edges(x)
    recorded = _metrics("esrgan_any_size")["test"]
    for condition in conditions.named_conditions(images, set(recorded)):
        (idx, lr), = condition.parts
        drawn = sr.super_resolve(generator, ResizeTo(28)(lr).numpy())
        assert psnr(drawn, x) == pytest.approx(recorded[condition.name]["psnr"], abs=0.02)
    v5 = served_version("5").signatures["serving_default"]
    v6 = served_version("6").signatures["serving_default"]
    for size in (6, 7, 8):
        lr = tf.image.resize(x[:500], (size, size), method="area")
        got, old = v6(image=lr), v5(image=lr)
        np.testing.assert_array_equal(got["digit"].numpy(), old["digit"].numpy())
        want = old["sr_image"].numpy() if size == 7 else np.clip(generator(ResizeTo(28)(lr)).numpy(), 0, 1)
        np.testing.assert_allclose(got["sr_image"].numpy(), want, atol=1e-5)


COVERED.add("line_reader/line_reader.keras")


@pytest.mark.slow
def test_the_line_reader_reads_numbers_as_recorded(mnist_ready):
    """saved_models/line_reader, as `predict.py --number` reads with it (digits that stand alone read
    again by the hybrid version metrics.json names), on the report's rows that metrics.json names under
    `checked` (500 seeded numbers of MNIST test digits each): string and digit accuracy as recorded; and
    its served export (saved_models/line_reader/2) answers as the Keras model."""
    from hdsr_tf.data.lines import HEIGHT
    from hdsr_tf.evaluation import numbers as ev
    from hdsr_tf.reading.fields import read_fields
    from hdsr_tf.reading.line_reading import LineReader
    from hdsr_tf.reading.predictor import Predictor

    recorded = _metrics("line_reader")["test"]
    rows = {r["condition"]: r for r in recorded["rows"]}
    x, y = mnist.load_arrays("test")
    reader = LineReader(SHIPPED / "line_reader" / "line_reader.keras")
    hybrid = Predictor(SHIPPED / "hybrid" / recorded["hybrid_version"]).read
    conditions = [c for c in ev.conditions() if c.name in recorded["checked"]]
    assert len(conditions) == len(recorded["checked"])
    for condition in conditions:
        composed, truth = ev.make_set(x, y, condition, recorded["n"], recorded["seed"])
        got = ev.score([r.number for r in read_fields(composed, hybrid, reader)[0]], truth)
        want = rows[condition.name]
        assert got["string_accuracy"] == pytest.approx(want["string_accuracy"], abs=0.0021), condition.name
        assert got["digit_accuracy"] == pytest.approx(want["digit_accuracy"], abs=0.0021), condition.name
    lines = np.random.default_rng(0).random((4, HEIGHT, 64, 1)).astype(np.float32)
    served = tf.saved_model.load(str(SHIPPED / "line_reader" / "2")).signatures["serving_default"]
    np.testing.assert_allclose(served(line=tf.constant(lines))["frame_probabilities"].numpy(), reader.frames(lines),
                               atol=1e-5)
