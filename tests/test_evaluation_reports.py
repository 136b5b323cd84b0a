"""The report scripts, end to end on tiny untrained models laid out like saved_models/, on the full test set."""

import json

import pytest
from conftest import run_script

from hdsr_tf.data import mnist
from hdsr_tf.evaluation import sr_report as sr
from hdsr_tf.image_metrics import image_quality


@pytest.fixture(scope="module")
def bicubic_4x(mnist_ready):
    """PSNR/SSIM of bicubic upscaling of the area-downsampled 4x test set, computed here directly."""
    lr, hr = sr.lr_test_images(mnist.load_arrays("test")[0], 4)
    return image_quality(sr.bicubic(lr), hr)


@pytest.mark.slow
def test_evaluate_report_has_every_row(tiny_shipped, tmp_path, bicubic_4x):
    out = tmp_path / "report"
    proc = run_script("evaluate.py", "--models", tiny_shipped, "--out", out, "--numbers", "3", check=True, timeout=600)
    assert f"report: {out / 'report.md'}" in proc.stdout
    report = json.loads((out / "report.json").read_text())["results"]
    assert [r["scale"] for r in report] == [4]  # no 2x models: skipped
    assert report[0]["num_examples"] == 10000
    names = [row["name"][:3] for row in report[0]["rows"]]
    assert names == ["(a)", "(b)", "(c)", "(d)", "(e)", "(e'", '(e"', "(f)", "(g)"]
    rows = {row["name"][:3]: row for row in report[0]["rows"]}
    # this tiny hybrid nests the shipped recognizer, so it reads HR digits and its own SR output alike
    assert rows["(e'"]["accuracy"] == rows["(a)"]["accuracy"]
    assert rows['(e"']["accuracy"] == pytest.approx(rows["(e)"]["accuracy"], abs=0.004)
    assert rows["(f)"]["identical_predictions_to_e"] is True
    assert rows["(f)"]["accuracy"] == rows["(e)"]["accuracy"]
    assert rows["(a)"]["psnr"] is None
    for key in ("psnr", "ssim", "ssim_7x7"):
        assert rows["(b)"][key] == pytest.approx(bicubic_4x[key], abs=1e-4), key
    assert set(report[0]["savedmodel_speed"]) == {"1", "256"}
    md = (out / "report.md").read_text()
    assert "(g) CNN trained directly on 7x7 digits" in md and (out / "comparison_mnist_x4.png").exists()
    assert "SSIM (11x11)" in md and "SSIM (7x7)" in md
    numbers = json.loads((out / "report.json").read_text())["numbers"]
    assert [r["n"] for r in numbers] == [3, 3, 3] and "## Whole numbers" in md
    assert [r["condition"].split(",")[0] for r in numbers] == ["separated", "separated", "touching"]
    from hdsr_tf.evaluation.conditions import SHORT

    robustness = json.loads((out / "report.json").read_text())["robustness"]
    assert sorted(r["condition"] for r in robustness) == sorted(SHORT)  # each once; 7 px read here (no row (h))
    assert not any("as_row" in r for r in robustness) and "## Robustness, short" in md


@pytest.mark.slow
def test_evaluate_sr_writes_metrics_and_interpolates(tiny_shipped, tmp_path, bicubic_4x):
    out = tmp_path / "sr"
    run_script("evaluate_sr.py", "--psnr-generator", tiny_shipped / "esrgan_x4" / "generator_psnr.keras",
               "--gan-generator", tiny_shipped / "esrgan_x4" / "generator_gan.keras", "--alpha", "0.5",
               "--recognizer", tiny_shipped / "cnn" / "recognizer.keras", "--out", out, check=True, timeout=600)
    metrics = json.loads((out / "sr_metrics.json").read_text())
    rows = {r["name"]: r for r in metrics["mnist"]}
    assert list(rows) == ["bicubic", "PSNR model", "GAN model", "interpolated, alpha 0.5"]
    assert rows["bicubic"]["psnr"] == pytest.approx(bicubic_4x["psnr"], abs=1e-4)
    assert rows["bicubic"]["ssim"] == pytest.approx(bicubic_4x["ssim"], abs=1e-4)
    assert rows["bicubic"]["ssim"] < rows["bicubic"]["ssim_7x7"]  # the 11x11 window is the stricter one
    # the two tiny generators differ, so their half-way blend is a third model
    assert len({round(rows[k]["psnr"], 6) for k in ("PSNR model", "GAN model", "interpolated, alpha 0.5")}) == 3
    assert (out / "comparison_mnist.png").exists() and (out / "sr_report.md").exists()


@pytest.mark.slow
def test_evaluate_sr_names_a_missing_generator(tmp_path):
    proc = run_script("evaluate_sr.py", "--gan-generator", tmp_path / "typo.keras", "--out", tmp_path, timeout=120)
    assert proc.returncode != 0 and "typo.keras not found" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_side_by_side_speed_times_the_signatures_in_turns():
    """Each round calls every signature once, so a slow spell of the machine falls on all of them; a
    signature that takes longer reads slower."""
    import time

    import numpy as np

    from hdsr_tf.evaluation.sr_report import side_by_side_speed

    calls = []

    def signature(name, seconds):
        def fn(image):
            calls.append((name, int(image.shape[0])))
            time.sleep(seconds)
        return fn

    examples = {"fast": np.zeros((1, 7, 7, 1)), "slow": np.zeros((1, 7, 7, 1))}
    speeds = side_by_side_speed({"fast": signature("fast", 0.001), "slow": signature("slow", 0.02)}, "image",
                                examples, batch_sizes=(1, 4), repeats=8)
    timed = [c for c in calls if c[1] == 4][2:]  # after one warm-up call each
    assert [name for name, _ in timed] == ["fast", "slow"] * 3
    assert speeds["fast"]["4"]["images_per_s"] > 5 * speeds["slow"]["4"]["images_per_s"]
