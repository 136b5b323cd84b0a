"""Tiny runs of the recognizer's training job (a few hundred digits, 1-3 epochs), and the runner's
resume, early-stopping, NaN and finished-run behaviour that every job shares."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import ROOT, kill_mid_run_then_resume, run_script

from hdsr_tf.config import CNNConfig
from hdsr_tf.errors import CorruptCheckpointError, DatasetFolderError, RunDirError
from hdsr_tf.training.classifier import train_recognizer
from hdsr_tf.training.resume import ResumableEarlyStopping, ResumeCheckpoint
from hdsr_tf.training.runner import NaNGuard


def tiny(tmp_path, **kw):
    values = dict(limit=192, epochs=1, batch_size=64, out_dir=str(tmp_path / "run"))
    values.update(kw)
    return CNNConfig(**values)


def test_a_too_short_run_says_why_it_reads_so_badly(tmp_path, mnist_ready, capsys):
    # two training steps: batch norm's moving statistics are still near their start, so every digit
    # reads as one class (the review's 10.95% case); the run must say why instead of ending silently
    summary = train_recognizer(tiny(tmp_path, limit=128, batch_size=64), verbose=0)
    assert summary["val_accuracy"] < 0.2
    assert "2 training steps were too few" in capsys.readouterr().out


def test_early_stopping_stops(tmp_path, mnist_ready):
    # A constant learning rate of 0 cannot improve val_loss: patience 1 must stop after epoch 2 of 6.
    config = tiny(tmp_path, epochs=6, learning_rate=0.0, schedule="constant", early_stopping_patience=1)
    summary = train_recognizer(config, verbose=0)
    assert summary["epochs_this_session"] == 2
    assert len((tmp_path / "run" / "log.csv").read_text().strip().splitlines()) == 3


def _stalled_model():
    """A model whose loss cannot improve (learning rate 0), so patience runs out on schedule."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    rng = np.random.default_rng(0)
    return model, rng.random((32, 3)).astype("float32"), rng.random((32, 1)).astype("float32")


def test_early_stopping_state_survives_a_restart(tmp_path, capsys):
    model, x, y = _stalled_model()
    # min_delta: float noise in a loss that cannot move must not count as an improvement
    first = ResumableEarlyStopping(tmp_path, monitor="loss", patience=4, restore_best_weights=True, min_delta=1e-6)
    model.fit(x, y, epochs=3, callbacks=[first], verbose=0)
    assert first.wait == 2 and not model.stop_training  # epochs 2 and 3 did not improve on epoch 1
    state = json.loads((tmp_path / "early_stopping.json").read_text())
    assert state["epoch"] == 3 and state["wait"] == 2 and state["best"] == pytest.approx(first.best)

    # A rerun resuming after epoch 3 continues the count: 2 more stalled epochs exhaust patience 4.
    second = ResumableEarlyStopping(tmp_path, monitor="loss", patience=4, restore_best_weights=True, min_delta=1e-6)
    second.resume_from(3)
    history = model.fit(x, y, epochs=10, initial_epoch=3, callbacks=[second], verbose=0)
    assert len(history.history["loss"]) == 2 and second.best_epoch == 0
    for a, b in zip(second.best_weights, first.best_weights):
        np.testing.assert_array_equal(a, b)

    # State from another epoch than the checkpoint's is not trusted.
    third = ResumableEarlyStopping(tmp_path, monitor="loss", patience=4)
    third.resume_from(2)
    third.set_model(model)
    third.on_train_begin()
    assert third.wait == 0 and third.best is None
    assert "patience starts afresh" in capsys.readouterr().out


@pytest.mark.slow
def test_finished_run_is_skipped_and_another_config_is_refused(tmp_path, mnist_ready, capsys):
    first = train_recognizer(tiny(tmp_path), verbose=0)
    model_file = tmp_path / "run" / "recognizer.keras"
    stamp = model_file.stat().st_mtime_ns
    assert train_recognizer(tiny(tmp_path), verbose=0) == first  # the recorded summary, nothing retrained
    assert model_file.stat().st_mtime_ns == stamp and "already finished" in capsys.readouterr().out
    with pytest.raises(RunDirError, match="another config"):
        train_recognizer(tiny(tmp_path, batch_size=32), verbose=0)
    again = train_recognizer(tiny(tmp_path, restart=True), verbose=0)  # --restart trains it again
    assert again["epochs_this_session"] == 1 and model_file.stat().st_mtime_ns != stamp


@pytest.mark.slow
def test_resume_continues_at_the_right_epoch(tmp_path, mnist_ready):
    run = tmp_path / "run"
    train_recognizer(tiny(tmp_path, epochs=1), verbose=0)
    (run / "FINISHED").unlink()  # as if the run had been killed after epoch 1 of 3
    summary = train_recognizer(tiny(tmp_path, epochs=3), verbose=0)
    assert summary["epochs_this_session"] == 2 and summary["final_epoch"] == 3
    epochs = [line.split(",")[0] for line in (run / "log.csv").read_text().strip().splitlines()[1:]]
    assert epochs == ["0", "1", "2"]
    assert json.loads((run / "checkpoint" / "state.json").read_text())["epoch"] == 3


def test_corrupted_checkpoint_is_detected(tmp_path, mnist_ready):
    run = tmp_path / "run"
    train_recognizer(tiny(tmp_path, epochs=1), verbose=0)
    (run / "FINISHED").unlink()
    weights = next((run / "checkpoint").glob("*.weights.h5"))
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CorruptCheckpointError, match="corrupted"):
        train_recognizer(tiny(tmp_path, epochs=2), verbose=0)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    x = np.random.default_rng(0).random((64, 4)).astype(np.float32)
    y = np.zeros((64, 1), np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")

    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                self.model.layers[0].kernel.assign(np.full((4, 1), np.nan, np.float32))

    guard = NaNGuard()
    checkpoint = ResumeCheckpoint(tmp_path / "ckpt", lambda: guard.triggered is not None)
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[Poison(), guard, checkpoint])
    assert guard.triggered is not None and guard.triggered.startswith("epoch 3")
    assert len(history.history["loss"]) == 3
    assert checkpoint.saved_epoch() == 2
    fresh = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    fresh.compile("sgd", "mse")
    assert ResumeCheckpoint(tmp_path / "ckpt").restore(fresh) == 2
    assert np.all(np.isfinite(fresh.layers[0].kernel.numpy()))


def test_bad_folders_are_refused_before_anything_loads(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunDirError, match="not writable"):
        train_recognizer(tiny(tmp_path, out_dir=str(blocker / "run")), verbose=0)
    with pytest.raises(DatasetFolderError, match="does not exist"):
        train_recognizer(tiny(tmp_path, dataset="dida", dida_dir=str(tmp_path / "missing")), verbose=0)
    assert not (tmp_path / "run").exists()  # refused before the run directory was even made
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_script("train_cnn.py", "--dataset", "combined", "--dida-dir", empty, "--out-dir", tmp_path / "r",
                      timeout=120)  # as a user sees it: one line, exit status 2, no traceback
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "is empty" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r" / "log.csv").exists()  # nothing started training


@pytest.mark.slow
def test_script_killed_mid_epoch_resumes_then_reports_on_the_full_test_set(tmp_path, mnist_ready):
    # 1500 digits in batches of 32 with SGD: enough steps for batch norm's moving statistics to settle.
    out = tmp_path / "run"
    kill_mid_run_then_resume(["train_cnn.py", "--limit", "1500", "--epochs", "2", "--batch-size", "32",
                              "--optimizer", "sgd", "--learning-rate", "0.05", "--early-stopping-patience", "0",
                              "--out-dir", out], out / "checkpoint" / "state.json", 2)
    for name in ("recognizer.keras", "metrics.json", "classification_report.txt", "confusion_matrix.png",
                 "accuracy.png", "loss.png", "misclassified.png", "log.csv", "config.json", "FINISHED"):
        assert (out / name).exists(), name
    assert (out / "tensorboard").is_dir()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final_epoch"] == 2 and metrics["epochs_this_session"] == 1
    assert metrics["num_examples"] == 10000 and metrics["split"] == "mnist test"  # never a subset of the test set
    assert sum(map(sum, metrics["confusion_matrix"])) == 10000
    assert metrics["accuracy"] > 0.5 and metrics["val_accuracy"] > 0.5
    model = keras.saving.load_model(out / "recognizer.keras", safe_mode=True)
    assert model.optimizer.__class__.__name__ == "SGD" and metrics["config"]["optimizer"] == "sgd"


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus_learns(tmp_path, mnist_ready):
    code = f"""
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from hdsr_tf.config import CNNConfig
from hdsr_tf.training.classifier import train_recognizer
from hdsr_tf.training.distribute import get_strategy
strategy = get_strategy("mirrored")
assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
m = train_recognizer(CNNConfig(limit=1000, epochs=2, batch_size=32, strategy="mirrored",
                               out_dir={str(tmp_path / 'run')!r}), strategy, verbose=0)
print("VAL", m["val_accuracy"])
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    val = float(proc.stdout.split("VAL")[-1])
    assert val > 0.5  # two replicas, each on half of every batch of 32, still learn
    assert (tmp_path / "run" / "recognizer.keras").exists()


def test_mixed_precision_trains_saves_float32_and_leaves_the_global_policy(tmp_path, mnist_ready):
    train_recognizer(tiny(tmp_path, precision="mixed_bfloat16", limit=128), verbose=0)
    assert keras.mixed_precision.global_policy().name == "float32"
    model = keras.saving.load_model(tmp_path / "run" / "recognizer.keras", safe_mode=True)
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    log = (tmp_path / "run" / "log.csv").read_text().strip().splitlines()
    assert np.isfinite(float(log[1].split(",")[log[0].split(",").index("loss")]))
