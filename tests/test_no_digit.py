"""The "no digit" answer: synthetic non-digits, the detector's training and threshold, the export's
``no_digit`` output, what predict.py prints, and the trust study end to end."""

import json

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import run_script

from hdsr_tf import export
from hdsr_tf.config import DetectorConfig
from hdsr_tf.data import non_digits
from hdsr_tf.errors import UsageError
from hdsr_tf.models.cnn import build_recognizer, has_no_digit_head, with_no_digit_head
from hdsr_tf.models.hybrid import build_hybrid
from hdsr_tf.models.rrdb import build_generator
from hdsr_tf.reading.printing import answer
from hdsr_tf.training.detector import fit_threshold, fonts, validate
from hdsr_tf.training.resume import finished_summary


@pytest.mark.parametrize("family", non_digits.FAMILIES)
def test_each_family_is_seeded_and_in_range(family):
    digits = np.zeros((5, 28, 28, 1), np.uint8)
    digits[:, 4:24, 6:20] = 255
    a = non_digits.draw(family, 20, 3, digits=digits)
    assert a.shape == (20, 28, 28, 1) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, non_digits.draw(family, 20, 3, digits=digits))
    if family != "blank":
        assert not np.array_equal(a, non_digits.draw(family, 20, 4, digits=digits))


def test_families_look_as_named():
    assert non_digits.draw("blank", 4, 0).max() == 0
    uniform = non_digits.draw("uniform", 10, 0)
    assert all(len(np.unique(u)) == 1 for u in uniform) and len(np.unique(uniform)) > 5  # one level each, many levels
    noise = non_digits.draw("gaussian_noise", 10, 0).astype(float)
    assert noise.std(axis=(1, 2, 3)).min() > 5  # every image is noisy
    assert non_digits.draw("lines", 10, 0).max(axis=(1, 2, 3)).min() > 100  # every image holds a stroke


def test_fragments_hold_only_part_of_a_digit():
    digit = np.zeros((28, 28), np.uint8)
    cv2.circle(digit, (14, 14), 8, 255, 3)  # a "0"
    pieces = non_digits.draw("fragments", 40, 0, digits=digit[None, ..., None])[..., 0].astype(int)
    in_place = [p for p in pieces if p.any() and (p <= digit).all()]  # the others were enlarged and centred
    assert 10 <= len(in_place) < 40
    total = int(digit.astype(int).sum())
    assert all(0.1 * total <= p.sum() <= 0.4 * total for p in in_place)
    with pytest.raises(ValueError, match="digits="):
        non_digits.draw("fragments", 1, 0)


def test_pairs_are_two_digits_framed_as_one_crop():
    digits = np.zeros((2, 28, 28, 1), np.uint8)
    digits[:, 4:24, 7:21] = 255  # 14 px wide, 20 high
    pairs = non_digits.draw("pairs", 10, 0, digits=digits)[..., 0]
    for pair in pairs:
        ys, xs = np.nonzero(pair > 30)
        assert xs.max() - xs.min() >= ys.max() - ys.min()  # at least as wide as high: two side by side
        assert xs.max() - xs.min() >= 17  # fitted into the 20x20 box by its width


def test_letters_exclude_digit_look_alikes_and_the_probe_fonts_are_held_out():
    assert not set("OoIlZzSsBgqbGTJ0123456789") & set(non_digits.LETTERS)
    assert not set(non_digits.TRAIN_FONTS) & set(non_digits.PROBE_FONTS)
    seen = non_digits.draw("letters", 30, 0, fonts=non_digits.TRAIN_FONTS)
    held_out = non_digits.draw("letters", 30, 0, fonts=non_digits.PROBE_FONTS)
    assert not np.array_equal(seen, held_out)
    for image in held_out:  # framed as MNIST was: ink inside the 20x20 box, centred
        ys, xs = np.nonzero(image[..., 0] > 30)
        assert ys.max() - ys.min() < 22 and xs.max() - xs.min() < 22


def test_a_held_out_font_is_left_out_of_training_and_alone_in_validation(tmp_path):
    train, val = fonts(3)
    assert val == (non_digits.TRAIN_FONTS[3],) and non_digits.TRAIN_FONTS[3] not in train and len(train) == 3
    assert fonts(-1) == (non_digits.TRAIN_FONTS, non_digits.TRAIN_FONTS)
    assert not np.array_equal(non_digits.draw("letters", 30, 1, fonts=val),
                              non_digits.draw("letters", 30, 1, fonts=train))
    with pytest.raises(UsageError, match="--held-out-font"):
        validate(DetectorConfig(held_out_font=4, out_dir=str(tmp_path)))


def test_threshold_refuses_at_most_the_allowed_share_of_digits():
    scores = np.linspace(0, 1, 1000)
    t = fit_threshold(scores, 0.01)
    assert np.mean(scores > t) <= 0.01 and np.mean(scores > t - 0.002) > 0.01
    assert fit_threshold(np.full(10, 0.1), 0.0) == 0.5  # never below one half


@pytest.mark.slow
def test_detector_training_fits_a_threshold_and_saves_a_safe_model(mnist_ready, tmp_path):
    out = tmp_path / "det"
    proc = run_script("train_detector.py", "--limit", "128", "--epochs", "1", "--filters", "8,12,16", "--out-dir", out,
                      check=True, timeout=300)
    assert "threshold" in proc.stdout
    model = keras.saving.load_model(out / "detector.keras", safe_mode=True)
    assert model.output_shape == (None, 1) and model.layers[-1].name == "no_digit"
    assert [model.get_layer(f"conv{s}b").filters for s in (1, 2, 3)] == [8, 12, 16]  # --filters set the widths
    summary = finished_summary(out)  # what a rerun reads to skip the finished run
    assert summary["threshold"] >= 0.5 and 0 <= summary["val_digits_refused"] <= 0.002 + 1 / 128


def test_a_head_trained_on_a_readers_frozen_features_leaves_its_answers_unchanged(mnist_ready, tmp_path):
    """--reader: only the head learns; the saved model answers the reader's own probabilities and no_digit."""
    reader = build_recognizer(filters=(4, 8, 8))
    reader_path = tmp_path / "reader.keras"
    reader.save(reader_path)
    out = tmp_path / "head"
    run_script("train_detector.py", "--reader", reader_path, "--recipes", "blind", "--limit", "128", "--epochs", "1",
               "--head-units", "8", "--out-dir", out, check=True, timeout=300)
    both = keras.saving.load_model(out / "reader_with_head.keras", safe_mode=True)
    assert has_no_digit_head(both) and not has_no_digit_head(reader)
    x = np.random.default_rng(0).random((16, 28, 28, 1)).astype(np.float32)
    probs, no_digit = both(x)
    np.testing.assert_allclose(probs.numpy(), reader(x).numpy(), atol=1e-6)  # the frozen reader, untouched
    fresh = with_no_digit_head(reader, 8)  # the same head before training: it learned
    assert not np.allclose(fresh(x)[1].numpy(), no_digit.numpy(), atol=1e-4)
    summary = finished_summary(out)
    assert summary["threshold"] >= 0.5
    # the served model's joint threshold, over this one run, scores its validation set as training did
    fitted = run_script("fit_no_digit_threshold.py", out, "--out", tmp_path / "fit.json", check=True, timeout=300)
    refit = json.loads((tmp_path / "fit.json").read_text())
    assert refit["threshold"] == pytest.approx(summary["threshold"], abs=1e-6)
    assert refit["runs"][str(out)]["val_non_digits_refused"] == pytest.approx(summary["val_non_digits_refused"])
    assert f"threshold {summary['threshold']:.4f}" in fitted.stdout
    proc = run_script("fit_no_digit_threshold.py", tmp_path)  # a folder that is no run
    assert proc.returncode == 2 and "no config.json" in proc.stderr.strip().splitlines()[-1]
    proc = run_script("train_detector.py", "--reader", reader_path, "--precision", "mixed_bfloat16",
                      "--out-dir", tmp_path / "bf16")
    assert proc.returncode == 2 and "float32" in proc.stderr.strip().splitlines()[-1]


def test_a_head_with_its_own_filters_reads_the_middle_stage_and_leaves_the_reader_alone():
    reader = build_recognizer(filters=(4, 8, 8))
    both = with_no_digit_head(reader, 8, conv=3)
    conv = both.get_layer("head_conv")
    assert conv.filters == 3 and conv.input is reader.get_layer("relu2b").output
    x = np.random.default_rng(1).random((4, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(both(x)[0].numpy(), reader(x).numpy(), atol=1e-6)
    assert has_no_digit_head(both)
    with pytest.raises(ValueError, match="filters of its own"):
        with_no_digit_head(reader, 8, conv=0)  # a head without them refused fewer letters (NOTES, session 19)


@pytest.mark.slow
def test_bad_detector_widths_are_one_clear_line(tmp_path):
    proc = run_script("train_detector.py", "--filters", "16,x", "--out-dir", tmp_path / "det")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: --filters must be")


def ink_detector() -> keras.Model:
    """A hand-set detector: "no digit" when the image's mean ink is under 0.02 (a blank or faint field)."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    out = keras.layers.Dense(1, activation="sigmoid", name="no_digit")(x)
    model = keras.Model(inputs, out)
    model.get_layer("no_digit").set_weights([np.array([[-500.0]]), np.array([10.0])])
    return model


@pytest.fixture(scope="module")
def with_detector(tmp_path_factory):
    base = tmp_path_factory.mktemp("serving")
    model = build_hybrid(build_generator(4, nf=8, gc=8, num_blocks=1), build_recognizer())
    plain = tf.saved_model.load(str(export.export_hybrid(model, base, version=1)))
    path = export.export_hybrid(model, base, version=2, detector=ink_detector(), no_digit_threshold=0.5)
    return base, plain, tf.saved_model.load(str(path))


def digit_image(size: int) -> np.ndarray:
    canvas = np.zeros((28, 28), np.float32)
    cv2.putText(canvas, "4", (6, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 1.0, 3)
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)[..., None]


@pytest.mark.slow
@pytest.mark.parametrize("size", [7, 28])
def test_the_export_answers_no_digit_on_both_paths_and_keeps_version_1_outputs(with_detector, size):
    _, plain, loaded = with_detector
    x = np.stack([np.zeros((size, size, 1), np.float32), digit_image(size)])
    got = loaded.signatures["serving_default"](image=tf.constant(x))
    want = plain.signatures["serving_default"](image=tf.constant(x))
    assert got["no_digit"][0] > 0.5 > got["no_digit"][1]
    assert int(got["digit"][0]) == -1 and int(got["digit"][1]) == int(want["digit"][1])
    for key in ("probabilities", "confidence", "sr_image"):  # what a version-1 client reads is unchanged
        np.testing.assert_allclose(got[key].numpy(), want[key].numpy(), atol=1e-6)


@pytest.mark.slow
def test_bytes_signatures_and_empty_batches_carry_no_digit(with_detector):
    *_, loaded = with_detector
    blank, four = (cv2.imencode(".png", np.round(i * 255).astype(np.uint8))[1].tobytes()
                   for i in (np.zeros((28, 28, 1)), digit_image(28)))
    out = loaded.signatures["predict_image_bytes"](image_bytes=tf.constant([blank, b"", four]))
    assert out["digit"].numpy().tolist()[:2] == [-1, -1] and int(out["digit"][2]) >= 0
    assert out["error"].numpy()[1] and not out["error"].numpy()[0]  # the empty item is an error, not "no digit"
    assert out["no_digit"].shape == (3,)
    empty = loaded.signatures["serving_default"](image=tf.zeros([0, 7, 7, 1]))
    assert empty["no_digit"].shape == (0,) and empty["digit"].shape == (0,)


def test_a_detector_needs_size_routing(tmp_path):
    model = build_hybrid(build_generator(4, nf=8, gc=8, num_blocks=1), build_recognizer())
    with pytest.raises(ValueError, match="size routing"):
        export.export_hybrid(model, tmp_path, detector=ink_detector(), route_full_resolution=False)


def test_answers_as_printed():
    assert answer(-1, 0.99) == "-"
    assert answer(3, 0.4, min_confidence=0.5) == "unsure"
    assert answer(3, 0.6, min_confidence=0.5) == "3"


@pytest.mark.slow
def test_predict_prints_a_dash_for_no_digit_and_unsure_under_the_confidence_floor(with_detector, tmp_path):
    base, *_ = with_detector
    cv2.imwrite(str(tmp_path / "blank.png"), np.zeros((28, 28), np.uint8))
    cv2.imwrite(str(tmp_path / "four.png"), np.round(digit_image(28) * 255).astype(np.uint8))
    lines = run_script("predict.py", "--model", base / "2", "--min-confidence", "1", tmp_path,
                       check=True).stdout.strip().splitlines()
    answers = {line.split("\t")[0].rsplit("/", 1)[1]: line.split("\t")[1] for line in lines}
    assert answers == {"blank.png": "-", "four.png": "unsure"}  # no digit beats the confidence floor
    records = {r["path"].rsplit("/", 1)[1]: r for r in json.loads(
        run_script("predict.py", "--model", base / "2", "--format", "json", tmp_path, check=True).stdout)}
    assert records["four.png"]["answer"] == str(records["four.png"]["digit"]) and records["four.png"]["digit"] >= 0
    assert records["blank.png"]["answer"] == "-" and records["blank.png"]["digit"] == -1
    assert records["blank.png"]["no_digit"] > 0.5 > records["four.png"]["no_digit"]


def test_a_confidence_floor_outside_0_1_is_one_clear_line(tmp_path):
    bad = run_script("predict.py", "--min-confidence", "2", tmp_path)
    assert bad.returncode == 2 and "--min-confidence" in bad.stderr and "Traceback" not in bad.stderr


def test_the_validation_probe_draws_validation_non_digits_with_letters_in_the_held_out_font():
    from hdsr_tf.evaluation import trust

    seen = []

    def run(x):
        seen.append(x)
        return {"digit": np.full(len(x), -1)}

    rows = trust.probe(run, 6, sizes=(28,), validation_font=3)
    letters = seen[non_digits.PROBE_FAMILIES.index("letters")]
    wanted = non_digits.draw("letters", 6, non_digits.VAL_SEED_OFFSET, fonts=(non_digits.TRAIN_FONTS[3],))
    np.testing.assert_array_equal(letters, trust.shrink(wanted, 28))
    trust.probe(run, 6, sizes=(28,))  # the test probe: another seed, the probe's fonts
    for family in ("gaussian_noise", "letters"):
        k = non_digits.PROBE_FAMILIES.index(family)
        assert not np.array_equal(seen[len(rows) + k], seen[k])


@pytest.mark.slow
def test_trust_study_end_to_end(with_detector, mnist_ready, tmp_path):
    base, *_ = with_detector
    proc = run_script("evaluate_trust.py", "--model", base / "2", "--quick", "--out", tmp_path, check=True)
    assert "report:" in proc.stdout
    study = json.loads((tmp_path / "trust.json").read_text())
    assert study["signature"] == "read"  # a client's answers, without drawing the pictures nobody reads here
    probe = {(r["family"], r["size"]): r["no_digit"] for r in study["probe"]}
    assert {f for f, _ in probe} == set(non_digits.PROBE_FAMILIES) and {s for _, s in probe} == {7, 14, 28}
    assert probe[("blank", 7)] == probe[("blank", 28)] == 1.0  # the hand-set detector refuses every blank
    clean = next(r for r in study["digits"] if r["condition"] == "clean")
    assert clean["refused"] == 0.0  # and no MNIST digit (mean ink over 0.02)
    assert set(study["calibration"]) >= {"clean", "7 px area"} and (tmp_path / "reliability.png").exists()
    bins = study["calibration"]["clean"]
    assert sum(bins["count"]) == study["test_digits"]
