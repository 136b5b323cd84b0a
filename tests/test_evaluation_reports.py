"""The report scripts, end to end on tiny untrained models laid out like saved_models/."""

import json

import pytest
from conftest import run_script


@pytest.mark.slow
def test_evaluate_report_has_every_row(tiny_shipped, tmp_path, mnist_ready):
    out = tmp_path / "report"
    run_script("evaluate.py", "--models", tiny_shipped, "--out", out, "--limit", "300", check=True, timeout=600)
    report = json.loads((out / "report.json").read_text())["results"]
    assert [r["scale"] for r in report] == [4]  # no 2x models: skipped
    names = [row["name"][:3] for row in report[0]["rows"]]
    assert names == ["(a)", "(b)", "(c)", "(d)", "(e)", "(e'", '(e"', "(f)", "(g)"]
    rows = {row["name"][:3]: row for row in report[0]["rows"]}
    # this tiny hybrid nests the shipped recognizer, so it reads HR digits and its own SR output alike
    assert rows["(e'"]["accuracy"] == rows["(a)"]["accuracy"]
    assert rows['(e"']["accuracy"] == pytest.approx(rows["(e)"]["accuracy"], abs=0.004)
    assert rows["(f)"]["identical_predictions_to_e"] is True
    assert rows["(f)"]["accuracy"] == rows["(e)"]["accuracy"]
    assert rows["(b)"]["psnr"] > 5 and rows["(a)"]["psnr"] is None
    assert set(report[0]["savedmodel_speed"]) == {"1", "256"}
    md = (out / "report.md").read_text()
    assert "(g) CNN trained directly on 7x7 digits" in md and (out / "comparison_mnist_x4.png").exists()


@pytest.mark.slow
def test_evaluate_sr_writes_metrics(tiny_shipped, tmp_path, mnist_ready):
    out = tmp_path / "sr"
    run_script("evaluate_sr.py", "--psnr-generator", tiny_shipped / "esrgan_x4" / "generator_psnr.keras",
               "--gan-generator", tiny_shipped / "esrgan_x4" / "generator_gan.keras",
               "--recognizer", tiny_shipped / "cnn" / "recognizer.keras", "--out", out, check=True, timeout=600)
    metrics = json.loads((out / "sr_metrics.json").read_text())
    assert [r["name"] for r in metrics["mnist"]] == ["bicubic", "PSNR model", "GAN model"]
    bicubic = metrics["mnist"][0]
    assert 13.0 < bicubic["psnr"] < 16.0  # area-downsampled 4x MNIST, bicubic back up: about 14.6 dB
    assert (out / "comparison_mnist.png").exists() and (out / "sr_report.md").exists()


def test_evaluate_cnn_on_the_shipped_model(tmp_path, mnist_ready):
    out = tmp_path / "cnn"
    run_script("evaluate_cnn.py", "--out", out, check=True, timeout=300)
    metrics = json.loads((out / "metrics.json").read_text())
    shipped = json.loads(open("saved_models/cnn/metrics.json").read())
    assert metrics["accuracy"] == pytest.approx(shipped["accuracy"], abs=0.0005)
    assert (out / "confusion_matrix.png").exists() and (out / "classification_report.txt").exists()


def test_scripts_answer_help():
    for script in ("train_cnn.py", "train_gan.py", "train_hybrid.py", "export_hybrid.py", "evaluate.py",
                   "evaluate_cnn.py", "evaluate_sr.py", "predict.py", "serving_client.py"):
        proc = run_script(script, "--help", timeout=120)
        assert proc.returncode == 0 and "usage:" in proc.stdout, script


def test_evaluate_sr_names_a_missing_generator(tmp_path):
    proc = run_script("evaluate_sr.py", "--gan-generator", tmp_path / "typo.keras", "--out", tmp_path, timeout=120)
    assert proc.returncode != 0 and "typo.keras not found" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
