"""Tiny runs of the recognizer's training job (a few hundred digits, 1-3 epochs)."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from conftest import ROOT, run_script

from hdsr_tf.config import CNNConfig
from hdsr_tf.errors import CorruptCheckpointError, RunDirError
from hdsr_tf.training.callbacks import NaNGuard, ResumableEarlyStopping, ResumeCheckpoint
from hdsr_tf.training.classifier import train_recognizer


def tiny(tmp_path, **kw):
    values = dict(limit=300, epochs=1, batch_size=64, out_dir=str(tmp_path / "run"))
    values.update(kw)
    return CNNConfig(**values)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_both_optimizers_train_and_report(tmp_path, mnist_ready, optimizer):
    # 1000 digits in batches of 32: enough steps for batch norm's moving statistics to settle.
    config = tiny(tmp_path, optimizer=optimizer, epochs=2, limit=1000, batch_size=32,
                  learning_rate=0.05 if optimizer == "sgd" else 3e-3)
    metrics = train_recognizer(config, verbose=0)
    run = tmp_path / "run"
    for name in ("recognizer.keras", "metrics.json", "classification_report.txt", "confusion_matrix.png",
                 "accuracy.png", "loss.png", "misclassified.png", "log.csv", "config.json"):
        assert (run / name).exists(), name
    assert (run / "tensorboard").is_dir()
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["accuracy"] == pytest.approx(metrics["accuracy"])
    assert metrics["accuracy"] > 0.5  # 2 epochs on 1000 digits: far above chance (0.1)
    assert metrics["config"]["optimizer"] == optimizer
    model = keras.saving.load_model(run / "recognizer.keras", safe_mode=True)
    assert model.optimizer.__class__.__name__.lower() == optimizer


def test_early_stopping_stops(tmp_path, mnist_ready):
    # A constant learning rate of 0 cannot improve val_loss: patience 1 must stop after epoch 2 of 6.
    config = tiny(tmp_path, epochs=6, learning_rate=0.0, schedule="constant", early_stopping_patience=1)
    metrics = train_recognizer(config, verbose=0)
    assert metrics["epochs_this_session"] == 2
    assert len((tmp_path / "run" / "log.csv").read_text().strip().splitlines()) == 3


def _stalled_model():
    """A model whose loss cannot improve (learning rate 0), so patience runs out on schedule."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    rng = np.random.default_rng(0)
    return model, rng.random((32, 3)).astype("float32"), rng.random((32, 1)).astype("float32")


def test_early_stopping_state_survives_a_restart(tmp_path, capsys):
    model, x, y = _stalled_model()
    first = ResumableEarlyStopping(tmp_path, monitor="loss", patience=4, restore_best_weights=True)
    model.fit(x, y, epochs=3, callbacks=[first], verbose=0)
    assert first.wait == 2 and not model.stop_training  # epochs 2 and 3 did not improve on epoch 1
    state = json.loads((tmp_path / "early_stopping.json").read_text())
    assert state["epoch"] == 3 and state["wait"] == 2 and state["best"] == pytest.approx(first.best)

    # A rerun resuming after epoch 3 continues the count: 2 more stalled epochs exhaust patience 4.
    second = ResumableEarlyStopping(tmp_path, monitor="loss", patience=4, restore_best_weights=True)
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


def test_finished_run_is_not_retrained_and_other_config_is_refused(tmp_path, mnist_ready):
    train_recognizer(tiny(tmp_path), verbose=0)
    with pytest.raises(RunDirError, match="finished run"):
        train_recognizer(tiny(tmp_path), verbose=0)
    with pytest.raises(RunDirError, match="another config"):
        train_recognizer(tiny(tmp_path, batch_size=32), verbose=0)


def test_resume_continues_at_the_right_epoch(tmp_path, mnist_ready):
    run = tmp_path / "run"
    train_recognizer(tiny(tmp_path, epochs=1), verbose=0)
    (run / "FINISHED").unlink()  # as if the run had been killed after epoch 1 of 3
    metrics = train_recognizer(tiny(tmp_path, epochs=3), verbose=0)
    assert metrics["epochs_this_session"] == 2 and metrics["final_epoch"] == 3
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
    checkpoint = ResumeCheckpoint(tmp_path / "ckpt", guard)
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[Poison(), guard, checkpoint])
    assert guard.triggered is not None and guard.triggered.startswith("epoch 3")
    assert len(history.history["loss"]) == 3
    assert checkpoint.saved_epoch() == 2
    fresh = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    fresh.compile("sgd", "mse")
    assert ResumeCheckpoint(tmp_path / "ckpt").restore(fresh) == 2
    assert np.all(np.isfinite(fresh.layers[0].kernel.numpy()))


def test_script_errors_up_front(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_script("train_cnn.py", "--out-dir", blocker / "run", timeout=120)
    assert proc.returncode == 2 and "not writable" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_script("train_cnn.py", "--dataset", "dida", "--dida-dir", tmp_path / "missing",
                      "--out-dir", tmp_path / "r", timeout=120)
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_script("train_cnn.py", "--dataset", "combined", "--dida-dir", empty,
                      "--out-dir", tmp_path / "r", timeout=120)
    assert proc.returncode == 2 and "is empty" in proc.stderr
    assert not (tmp_path / "r" / "log.csv").exists()  # nothing started training


@pytest.mark.slow
def test_sigkill_mid_epoch_then_rerun_finishes(tmp_path, mnist_ready):
    out = tmp_path / "run"
    args = [sys.executable, str(ROOT / "scripts" / "train_cnn.py"), "--limit", "3000", "--epochs", "3",
            "--batch-size", "32", "--early-stopping-patience", "0", "--out-dir", str(out)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    state = out / "checkpoint" / "state.json"
    deadline = time.time() + 300
    while not state.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(1.0)  # into epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads(state.read_text())["epoch"]
    assert 1 <= done < 3
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"after epoch {done}" in result.stdout
    assert json.loads((out / "metrics.json").read_text())["final_epoch"] == 3
    assert json.loads(state.read_text())["epoch"] == 3


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(tmp_path, mnist_ready):
    code = f"""
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from hdsr_tf.config import CNNConfig
from hdsr_tf.training.classifier import train_recognizer
from hdsr_tf.training.distribute import get_strategy
strategy = get_strategy("mirrored")
assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
m = train_recognizer(CNNConfig(limit=300, epochs=1, batch_size=64, strategy="mirrored",
                               out_dir={str(tmp_path / 'run')!r}), strategy, verbose=0)
print("ACC", m["accuracy"])
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ACC" in proc.stdout
    assert (tmp_path / "run" / "recognizer.keras").exists()


def test_mixed_precision_step_on_cpu_stays_finite(tmp_path, mnist_ready):
    try:
        metrics = train_recognizer(tiny(tmp_path, mixed_precision=True, limit=128), verbose=0)
        model = keras.saving.load_model(tmp_path / "run" / "recognizer.keras", safe_mode=True)
        assert model.get_layer("conv1a").compute_dtype == "float16"
        assert model.get_layer("probabilities").compute_dtype == "float32"
        log = (tmp_path / "run" / "log.csv").read_text().strip().splitlines()
        loss = float(log[1].split(",")[log[0].split(",").index("loss")])
        assert np.isfinite(loss) and 0 <= metrics["accuracy"] <= 1
    finally:
        keras.mixed_precision.set_global_policy("float32")
