"""compare.py in its tiny mode: every model, every column, every corruption."""

import json

import numpy as np
import pytest
from conftest import run_script

from hdsr_tf.evaluation import corruptions

COLUMNS = {"model", "input", "test_error", "macro_precision", "macro_recall", "macro_f1", "train_seconds",
           "inference_images_per_s", "params", "size_bytes", "train_peak_mem_mb", "inference_peak_mem_mb"}


@pytest.mark.slow
def test_tiny_comparison_has_every_model_and_column(tmp_path, mnist_ready, tiny_shipped):
    run_script("compare.py", "--tiny", "--models", tiny_shipped, "--out", tmp_path, check=True, timeout=900)
    data = json.loads((tmp_path / "comparison.json").read_text())
    assert data["meta"]["command"].endswith("--tiny")
    names = [r["model"] for r in data["rows"]]
    for expected in ("k-nearest", "SVM", "LeNet-5", "keras.io", "our recognizer", "our hybrid"):
        assert any(n.startswith(expected) for n in names), expected
    for row in data["rows"]:
        assert COLUMNS <= set(row), set(COLUMNS) - set(row)
    # the shipped recognizer's row is what that model scores on the same (tiny) test set
    from hdsr_tf.data.splits import load_digits
    from hdsr_tf.evaluation.classification import predict_labels
    from hdsr_tf.models import load_model

    x, y = load_digits("mnist", seed=0).limited(400).test
    pred, _ = predict_labels(load_model(tiny_shipped / "cnn" / "recognizer.keras"), x)
    ours = next(r for r in data["rows"] if r["model"].startswith("our recognizer"))
    assert ours["test_error"] == pytest.approx(float(np.mean(pred != y)))
    assert set(data["robustness"]) == set(corruptions.CORRUPTIONS)
    down = data["robustness"]["downsample"]["accuracy"]
    assert "bicubic + our recognizer" in down and any(k.startswith("our hybrid") for k in down)
    md = (tmp_path / "comparison.md").read_text()
    assert "quoted from the paper" in md
    for name in corruptions.CORRUPTIONS:
        assert (tmp_path / f"robustness_{name}.png").exists()


def test_corruptions_are_seeded_and_shaped(mnist_ready):
    from hdsr_tf.data import mnist

    x = mnist.load_arrays("test")[0][:8]
    for name, levels in corruptions.CORRUPTIONS.items():
        a = corruptions.apply(name, x, levels[-1], seed=1)
        b = corruptions.apply(name, x, levels[-1], seed=1)
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1
        side = 28 if name != "downsample" else int(round(28 / levels[-1]))
        assert a.shape == (8, side, side, 1)
        if name != "downsample":  # each corruption changes the digits it is given
            assert np.abs(a - x / 255.0).mean() > 0.01, name
    assert not np.array_equal(corruptions.apply("rotation", x, 40, 1), corruptions.apply("rotation", x, 40, 2))
