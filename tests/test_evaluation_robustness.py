"""The robustness benchmark: conditions, scoring, and the script end to end on tiny models."""

import json

import numpy as np
import pytest

from hdsr_tf.evaluation import conditions as cd
from hdsr_tf.evaluation import mnist_c
from hdsr_tf.evaluation import robustness as rb
from tests.conftest import run_script


def oracle(images):
    """Reads the "digit" a test image encodes as the row of its brightest pixel, whatever the size."""
    n, s = images.shape[:2]
    return np.eye(10, dtype=np.float32)[images.reshape(n, s, -1).max(axis=2).argmax(axis=1)]


def test_score_puts_each_part_back_in_its_place():
    labels = np.array([3, 1, 4, 1, 5, 9])
    parts = []
    for size, idx in ((10, np.array([0, 2, 4])), (12, np.array([1, 3, 5]))):
        x = np.zeros((len(idx), size, size, 1), np.float32)
        for j, i in enumerate(idx):
            x[j, labels[i], 0] = 1.0
        parts.append((idx, x))
    reader = rb.ReaderUnderTest("oracle", "nothing", lambda x: {"probabilities": oracle(x)})
    assert rb.score(reader, cd.Condition("low resolution", "t", parts), labels)["accuracy"] == 1.0
    swapped = [(parts[0][0], parts[1][1]), (parts[1][0], parts[0][1])]
    assert rb.score(reader, cd.Condition("low resolution", "t", swapped), labels)["accuracy"] < 0.5


def test_a_refused_digit_counts_as_wrong_and_is_reported():
    """A served version answers with ``digit``: -1 ("no digit") is wrong even when its probabilities'
    argmax is the right digit, and the share refused is reported."""
    labels = np.array([3, 1, 4, 1])
    x = np.zeros((4, 10, 10, 1), np.float32)
    for i, label in enumerate(labels):
        x[i, label, 0] = 1.0
    condition = cd.Condition("full resolution", "t", [(np.arange(4), x)])

    def served(images):
        digit = oracle(images).argmax(1)
        digit[:1] = -1  # refuses the first digit
        return {"probabilities": oracle(images), "digit": digit}

    result = rb.score(rb.ReaderUnderTest("served", "-", served), condition, labels)
    assert result["accuracy"] == 0.75 and result["refused"] == 0.25
    plain = rb.score(rb.ReaderUnderTest("plain", "-", lambda im: {"probabilities": oracle(im)}), condition, labels)
    assert plain["accuracy"] == 1.0 and "refused" not in plain


def test_mnist_c_rows_say_what_training_saw_and_both_held_out_means():
    assert mnist_c.seen_note("rotate") == "seen family"
    assert mnist_c.seen_note("motion_blur").startswith("near a trained step")
    assert mnist_c.seen_note("zigzag") == "held out of all training"
    rows = [{"group": "MNIST-C", "note": mnist_c.seen_note(name), "condition": name,
             "results": {"r": {"accuracy": acc}}}
            for name, acc in (("rotate", 0.9), ("motion_blur", 0.8), ("zigzag", 0.5))]
    summary = rb.summarize(rows, ["r"])["r"]
    assert summary["mnist_c_held_out_mean"] == pytest.approx(0.5)  # zigzag only
    assert summary["mnist_c_held_out_or_near_mean"] == pytest.approx(0.65)  # zigzag and motion blur


def test_sr_quality_is_measured_against_the_hr_digit_beside_bicubic():
    rng = np.random.default_rng(0)
    hr = (rng.random((8, 28, 28, 1)) > 0.7).astype(np.float32)
    lr = cd._resize(hr, 7, "area")
    condition = cd.Condition("low resolution", "7 px area", [(np.arange(8), lr)], "7")
    perfect = rb.ReaderUnderTest("perfect SR", "-", lambda x: {"probabilities": np.full((len(x), 10), 0.1, np.float32),
                                                       "sr_image": hr})
    result = rb.score(perfect, condition, np.zeros(8, int), hr)
    assert result["psnr"] > 90 and result["ssim"] > 0.999
    bicubic = rb.bicubic_quality(condition, hr)
    assert bicubic["psnr"] < 10 and bicubic["ssim"] < 0.5


def test_low_resolution_suite_has_every_size_method_and_detail():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 28, 28, 1), np.uint8)
    conditions = {c.name: c for c in cd.low_resolution_conditions(images, seed=0)}
    for size in cd.LR_SIZES:
        for method in cd.LR_METHODS if size < 28 else ("area",):
            x = conditions[f"{size} px {method}"].parts[0][1]
            assert x.shape == (20, size, size, 1)
    for size in cd.DETAIL_SIZES:
        for what in ("noise 0.02", "noise 0.05", "noise 0.1", "JPEG 30", "JPEG 50", "JPEG 75", "contrast 0.5"):
            assert conditions[f"{size} px {what}"].parts[0][1].shape == (20, size, size, 1)
    mixed = conditions["mixed (blind recipe, held-out seed)"]
    assert sorted(np.concatenate([idx for idx, _ in mixed.parts]).tolist()) == list(range(20))
    assert all(5 <= x.shape[1] <= 14 for _, x in mixed.parts)
    noisy = conditions["10 px noise 0.1"].parts[0][1] - conditions["10 px area"].parts[0][1]
    assert 0.07 < noisy.std() < 0.11  # sigma 0.1 (less where clipping bites; 0.05 or 0.2 would fail)


@pytest.fixture(scope="module")
def quick_study(tiny_shipped, mnist_ready, tmp_path_factory):
    out = tmp_path_factory.mktemp("robustness")
    extra = tiny_shipped / "lowres_cnn_x4" / "recognizer.keras"
    run_script("robustness.py", "--quick", "--models", tiny_shipped, "--out", out,
               "--reader", f"extra rival={extra}", check=True)
    return out, json.loads((out / "robustness.json").read_text())


@pytest.mark.slow
def test_quick_benchmark_writes_every_condition_for_every_reader(quick_study):
    out, study = quick_study
    names = [r["name"] for r in study["readers"]]
    # shipped models the tiny tree lacks are left out; its newest export (hybrid/1) is the served one
    assert names == ["keras.io convnet", "recognizer (cnn)", "direct LR rival (lowres_cnn_x4)", "served hybrid/1",
                     "extra rival"]
    mc = [r["condition"] for r in study["rows"] if r["group"] == "MNIST-C"]
    assert mc == list(mnist_c.CORRUPTIONS)
    for row in study["rows"]:
        assert set(row["results"]) == set(names)
    assert all(r["seen"] for r in study["readers"])
    assert (out / "accuracy_by_size.png").stat().st_size > 10_000 and (out / "mnist_c.png").exists()
    sr_rows = [r for r in study["rows"] if "bicubic" in r]
    assert sr_rows and all("psnr" in r["results"]["served hybrid/1"] for r in sr_rows)  # the hybrid's SR image
    assert all("psnr" not in r["results"]["extra rival"] for r in sr_rows)
    md = (out / "robustness.md").read_text()
    assert "held out of all training" in md and " cores (" in md


@pytest.mark.slow
def test_quick_benchmark_matches_a_direct_reading(quick_study, tiny_shipped):
    """The shipped recognizer's clean row is its accuracy on the same 300 test digits, read directly."""
    from hdsr_tf.data.splits import load_digits
    from hdsr_tf.models import load_model

    _, study = quick_study
    images, labels = load_digits("mnist", seed=0).test
    model = load_model(tiny_shipped / "cnn" / "recognizer.keras")
    probs = model.predict(images[:300].astype(np.float32) / 255.0, verbose=0)
    clean = next(r for r in study["rows"] if r["condition"] == "clean")
    assert clean["results"]["recognizer (cnn)"]["accuracy"] == pytest.approx(
        float(np.mean(probs.argmax(1) == labels[:300])), abs=1e-9)


def test_a_bad_reader_path_is_one_clear_line(tmp_path):
    proc = run_script("robustness.py", "--quick", "--reader", f"x={tmp_path / 'missing.keras'}")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: --reader takes NAME=PATH")


def test_a_named_subset_draws_exactly_the_full_benchmarks_images():
    """The main report's short summary and the shipped-model checks pick conditions by name: each must
    be the same images the full benchmark measured, whatever else is generated beside it."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (16, 28, 28, 1), np.uint8)
    full = {c.name: c for c in cd.low_resolution_conditions(images, seed=0)}
    for c in cd.named_conditions(images, ["10 px noise 0.05", "7 px JPEG 50", "mixed (blind recipe, held-out seed)"]):
        for (i, x), (j, y) in zip(c.parts, full[c.name].parts):
            np.testing.assert_array_equal(i, j)
            np.testing.assert_array_equal(x, y)


@pytest.mark.slow
def test_validation_split_measures_only_the_added_reader_on_validation_digits(tiny_shipped, mnist_ready, tmp_path):
    """Models are chosen on validation digits: --split validation --only-added reads the seeded validation
    split (its clean row is the reader's accuracy there, not on the test digits) and trains no convnet."""
    from hdsr_tf.data.splits import load_digits
    from hdsr_tf.models import load_model

    path = tiny_shipped / "cnn" / "recognizer.keras"
    run_script("robustness.py", "--quick", "--split", "validation", "--only-added", "--models", tiny_shipped,
               "--out", tmp_path, "--reader", f"mine={path}", check=True)
    study = json.loads((tmp_path / "robustness.json").read_text())
    assert [r["name"] for r in study["readers"]] == ["mine"] and study["split"] == "validation"
    digits = load_digits("mnist", seed=0)
    probs = load_model(path).predict(digits.val[0][:300].astype(np.float32) / 255.0, verbose=0)
    clean = next(r for r in study["rows"] if r["condition"] == "clean")
    assert clean["results"]["mine"]["accuracy"] == pytest.approx(float(np.mean(probs.argmax(1) == digits.val[1][:300])))
    assert "MNIST validation digits" in (tmp_path / "robustness.md").read_text()
