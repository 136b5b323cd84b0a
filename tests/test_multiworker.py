"""Two worker processes on 127.0.0.1 train one tiny epoch under MultiWorkerMirroredStrategy."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import ROOT

from hdsr_tf.models.cnn import build_recognizer


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_train_and_the_chief_model_predicts(tmp_path, mnist_ready):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    out = tmp_path / "run"
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "train_cnn.py"), "--strategy", "multiworker", "--limit", "512",
             "--epochs", "1", "--batch-size", "64", "--out-dir", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT))
    results = [p.communicate(timeout=900) for p in procs]
    for p, (stdout, stderr) in zip(procs, results):
        assert p.returncode == 0, stderr[-3000:]
    chief = keras.saving.load_model(out / "recognizer.keras", safe_mode=True)
    other = keras.saving.load_model(out / ".workers" / "worker_1" / "recognizer.keras", safe_mode=True)
    # synchronous training: both workers end with the very same weights, and those moved off the start
    keras.utils.set_random_seed(0)
    start = build_recognizer()
    for a, b, s0 in zip(chief.trainable_weights, other.trainable_weights, start.trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    assert any(not np.allclose(a.numpy(), s0.numpy()) for a, s0 in zip(chief.trainable_weights,
                                                                       start.trainable_weights))
    assert json.loads((out / "metrics.json").read_text())["num_examples"] == 10000  # the full test set
