"""The ESRGAN training model with tiny networks (nf 8, N 1) and a few dozen digits."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import kill_mid_run_then_resume

from hdsr_tf.config import GANConfig
from hdsr_tf.data.degrade import Degradation
from hdsr_tf.data.pipelines import sr_pair_dataset
from hdsr_tf.errors import RunDirError
from hdsr_tf.models.cnn import build_recognizer
from hdsr_tf.models.discriminator import build_discriminator
from hdsr_tf.models.rrdb import build_generator
from hdsr_tf.training.esrgan import ESRGAN
from hdsr_tf.training.losses import PerceptualLoss, recognizer_features
from hdsr_tf.training.super_resolution import train_sr


def _pairs(n=48, batch=16, scale=4):
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)
    return sr_pair_dataset(images, batch, training=True, degradation=Degradation(scale), drop_remainder=True)


def _model(adversarial):
    g = build_generator(4, nf=8, gc=8, num_blocks=1)
    if not adversarial:
        m = ESRGAN(g, adversarial=False)
        m.compile(g_optimizer=keras.optimizers.Adam(1e-3))
        return m
    m = ESRGAN(g, build_discriminator(28, 8), adversarial=True)
    m.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3),
              perceptual_loss=PerceptualLoss(recognizer_features(build_recognizer())))
    return m


@pytest.mark.slow
@pytest.mark.parametrize("adversarial", [False, True])
def test_one_epoch_changes_weights_and_logs(adversarial):
    m = _model(adversarial)
    g_before = [w.copy() for w in m.generator.get_weights()]
    d_before = [w.copy() for w in m.discriminator.get_weights()] if adversarial else []
    history = m.fit(_pairs(), validation_data=_pairs(), epochs=1, verbose=0)
    logs = history.history
    for key in ["g_loss", "psnr", "ssim", "val_psnr", "val_ssim"] + (["d_loss", "perceptual", "gan"]
                                                                     if adversarial else []):
        assert key in logs and np.isfinite(logs[key][0]), key
    assert any(not np.allclose(a, b) for a, b in zip(g_before, m.generator.get_weights()))
    if adversarial:
        assert any(not np.allclose(a, b) for a, b in zip(d_before, m.discriminator.get_weights()))


def test_gan_stage_requires_its_parts():
    with pytest.raises(ValueError, match="discriminator"):
        ESRGAN(build_generator(4, nf=8, gc=8, num_blocks=1), None, adversarial=True)


def _tiny_config(tmp_path, recognizer, **kw):
    values = dict(limit=64, batch_size=16, nf=8, gc=8, num_blocks=1, d_filters=8, psnr_epochs=1, gan_epochs=1,
                  recognizer=str(recognizer), out_dir=str(tmp_path / "run"))
    values.update(kw)
    return GANConfig(**values)


@pytest.fixture
def recognizer_file(tmp_path):
    path = tmp_path / "recognizer.keras"
    build_recognizer().save(path)
    return path


@pytest.mark.slow
def test_both_stages_and_resume(tmp_path, mnist_ready, recognizer_file):
    paths = train_sr(_tiny_config(tmp_path, recognizer_file))
    run = tmp_path / "run"
    assert paths["psnr"].exists() and paths["gan"].exists()
    assert (run / "gan" / "samples" / "epoch_001.png").exists()
    header = (run / "gan" / "log.csv").read_text().splitlines()[0]
    assert "d_loss" in header and "g_loss" in header and "val_psnr" in header
    gan_gen = keras.saving.load_model(paths["gan"], safe_mode=True)
    psnr_gen = keras.saving.load_model(paths["psnr"], safe_mode=True)
    assert any(not np.allclose(a, b) for a, b in zip(gan_gen.get_weights(), psnr_gen.get_weights()))

    # A finished stage is skipped; an interrupted one (no FINISHED marker yet) resumes after epoch 1.
    stamp = paths["psnr"].stat().st_mtime_ns
    (run / "gan" / "FINISHED").unlink()
    state = run / "gan" / "checkpoint" / "state.json"
    assert json.loads(state.read_text())["epoch"] == 1
    train_sr(_tiny_config(tmp_path, recognizer_file, gan_epochs=3))
    assert json.loads(state.read_text())["epoch"] == 3
    epochs = [line.split(",")[0] for line in (run / "gan" / "log.csv").read_text().strip().splitlines()[1:]]
    assert epochs == ["0", "1", "2"]
    assert paths["psnr"].stat().st_mtime_ns == stamp


def test_ssim_weight_changes_the_psnr_stage_gradients():
    lr, hr = next(iter(_pairs()))
    m = _model(adversarial=False)
    plain = m.gradients(lr, hr)
    m.ssim_weight = 0.5
    weighted = m.gradients(lr, hr)
    assert np.all(weighted["g_loss"].numpy() > plain["g_loss"].numpy())  # the (1 - SSIM) term, per example
    assert any(not np.allclose(a, b) for a, b in zip(plain["g_grads"], weighted["g_grads"]))
    m.compile(g_optimizer=keras.optimizers.Adam(1e-3), pixel_loss="psnr")
    np.testing.assert_allclose(m.gradients(lr, hr)["g_loss"].numpy(),
                               -tf.image.psnr(m.generator(lr), hr, max_val=1.0).numpy() / 10, rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="pixel_loss"):
        m.compile(g_optimizer=keras.optimizers.Adam(1e-3), pixel_loss="l2")


def test_one_generator_forward_per_gan_step():
    lr, hr = next(iter(_pairs()))
    m = _model(adversarial=True)
    calls = []
    generator_call = m.generator.call
    m.generator.call = lambda *a, **k: calls.append(1) or generator_call(*a, **k)
    step = m.gradients(lr, hr)
    assert len(calls) == 1
    # D's gradients see the SR batch as a constant: the same as feeding it a detached copy
    d_real = m.discriminator(hr, training=True)
    np.testing.assert_allclose(step["d_real"].numpy(), d_real.numpy(), atol=1e-5)
    assert len(step["d_grads"]) == len(m.discriminator.trainable_variables)
    assert all(g is not None for g in step["g_grads"])


@pytest.mark.slow
def test_gan_stage_straight_from_a_given_generator(tmp_path, mnist_ready, recognizer_file):
    start_path = tmp_path / "start.keras"
    build_generator(4, nf=8, gc=8, num_blocks=1).save(start_path)
    paths = train_sr(_tiny_config(tmp_path, recognizer_file, stage="both", init_generator=str(start_path),
                                  psnr_epochs=0))
    start = keras.saving.load_model(start_path, safe_mode=True)
    after_psnr = keras.saving.load_model(paths["psnr"], safe_mode=True)
    for a, b in zip(start.get_weights(), after_psnr.get_weights()):
        np.testing.assert_array_equal(a, b)  # zero PSNR epochs: the given generator goes to the GAN stage as is
    tuned = keras.saving.load_model(paths["gan"], safe_mode=True)
    assert any(not np.allclose(a, b) for a, b in zip(start.get_weights(), tuned.get_weights()))
    assert "d_loss" in (tmp_path / "run" / "gan" / "log.csv").read_text().splitlines()[0]


@pytest.mark.slow
def test_psnr_stage_can_start_from_a_generator(tmp_path, mnist_ready, recognizer_file):
    first = train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr"))["psnr"]
    start = keras.saving.load_model(first, safe_mode=True)
    second = train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr", init_generator=str(first),
                                   shift_augment=2, ssim_weight=0.5, out_dir=str(tmp_path / "again")))["psnr"]
    tuned = keras.saving.load_model(second, safe_mode=True)
    assert tuned.count_params() == start.count_params()
    assert any(not np.allclose(a, b) for a, b in zip(start.get_weights(), tuned.get_weights()))
    x2 = build_generator(2, nf=8, gc=8, num_blocks=1)
    x2.save(tmp_path / "x2.keras")
    with pytest.raises(ValueError, match="--scale 2 \\(config: 4\\)"):
        train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr", init_generator=str(tmp_path / "x2.keras"),
                              out_dir=str(tmp_path / "wrong")))


@pytest.mark.slow
def test_bfloat16_training_saves_float32_generators(tmp_path, mnist_ready, recognizer_file):
    paths = train_sr(_tiny_config(tmp_path, recognizer_file, precision="mixed_bfloat16", scale=2))
    for path in [*paths.values(), tmp_path / "run" / "gan" / "discriminator.keras"]:
        g = keras.saving.load_model(path, safe_mode=True)
        assert {layer.dtype_policy.name for layer in g.layers} == {"float32"}
    assert keras.mixed_precision.global_policy().name == "float32"
    psnr_log = (tmp_path / "run" / "psnr" / "log.csv").read_text().splitlines()
    assert np.isfinite(float(psnr_log[1].split(",")[psnr_log[0].split(",").index("val_psnr")]))
    with pytest.raises(RunDirError, match="precision"):  # a bfloat16 run is not silently resumed in float32
        train_sr(_tiny_config(tmp_path, recognizer_file, scale=2))


@pytest.mark.slow
def test_back_projection_fine_tuning_and_its_limits(tmp_path, mnist_ready, recognizer_file):
    start_path = tmp_path / "start.keras"
    build_generator(2, nf=8, gc=8, num_blocks=1).save(start_path)
    tuned = train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr", scale=2, init_generator=str(start_path),
                                  back_projection=True))["psnr"]
    g = keras.saving.load_model(tuned, safe_mode=True)
    assert g.get_layer("sr_image").__class__.__name__ == "BackProjection" and g.get_layer("sr_raw")
    with pytest.raises(ValueError, match="pass --back-projection"):
        train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr", scale=2, init_generator=str(tuned),
                              out_dir=str(tmp_path / "again")))
    with pytest.raises(ValueError, match="area downsampling"):
        train_sr(_tiny_config(tmp_path, recognizer_file, back_projection=True, blur_sigma=1.0,
                              out_dir=str(tmp_path / "blurred")))


def test_gan_stage_alone_needs_the_psnr_generator(tmp_path, mnist_ready, recognizer_file):
    with pytest.raises(FileNotFoundError, match="PSNR stage's generator"):
        train_sr(_tiny_config(tmp_path, recognizer_file, stage="gan"))


@pytest.mark.slow
def test_two_replicas_give_the_same_gradients_as_one(tmp_path):
    code = """
import numpy as np, tensorflow as tf, keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from hdsr_tf.models.cnn import build_recognizer
from hdsr_tf.models.discriminator import build_discriminator
from hdsr_tf.models.rrdb import build_generator
from hdsr_tf.training.esrgan import ESRGAN
from hdsr_tf.training.losses import PerceptualLoss, recognizer_features
keras.utils.set_random_seed(0)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    m = ESRGAN(build_generator(4, nf=8, gc=8, num_blocks=1), build_discriminator(28, 8), adversarial=True)
    m.compile(g_optimizer=keras.optimizers.Adam(), d_optimizer=keras.optimizers.Adam(),
              perceptual_loss=PerceptualLoss(recognizer_features(build_recognizer())))
rng = np.random.default_rng(0)
hr = tf.constant(rng.random((8, 28, 28, 1)), tf.float32)
lr = tf.image.resize(hr, [7, 7], method="area")
one = m.gradients(lr, hr)
one_d, one_g = one["d_grads"], one["g_grads"]
def split(ctx):
    i = ctx.replica_id_in_sync_group
    return lr[4 * i: 4 * i + 4], hr[4 * i: 4 * i + 4]
lr_d, hr_d = strategy.experimental_distribute_values_from_function(split)
@tf.function
def both(a, b):
    step = m.gradients(a, b)
    return step["d_grads"], step["g_grads"]
two_d, two_g = strategy.run(both, args=(lr_d, hr_d))
worst = 0.0
for one, two in ((one_d, two_d), (one_g, two_g)):
    # Relative to the network's largest gradient: RaGAN gives D's logit bias exactly 0, so a
    # per-variable ratio would divide rounding noise by zero.
    scale = max(np.abs(g.numpy()).max() for g in one)
    for g1, g2 in zip(one, two):
        total = strategy.reduce("SUM", g2, axis=None).numpy()
        worst = max(worst, np.abs(total - g1.numpy()).max() / scale)
print("WORST", worst)
assert worst < 1e-3, worst
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "WORST" in proc.stdout


@pytest.mark.slow
def test_sigkill_mid_epoch_then_rerun_finishes(tmp_path, mnist_ready, recognizer_file):
    out = tmp_path / "run"
    kill_mid_run_then_resume(["train_gan.py", "--stage", "psnr", "--limit", "1024", "--batch-size", "16", "--nf",
                              "8", "--gc", "8", "--num-blocks", "1", "--psnr-epochs", "2",
                              "--recognizer", recognizer_file, "--out-dir", out],
                             out / "psnr" / "checkpoint" / "state.json", 2)
    assert (out / "psnr" / "generator.keras").exists() and (out / "psnr" / "FINISHED").exists()
    epochs = [line.split(",")[0] for line in (out / "psnr" / "log.csv").read_text().strip().splitlines()[1:]]
    assert epochs[-1] == "1" and "0" in epochs
