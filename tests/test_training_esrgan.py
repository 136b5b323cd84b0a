"""The ESRGAN training model with tiny networks (nf 8, N 1) and a few dozen digits."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from hdsr_tf.config import GANConfig
from hdsr_tf.data.degrade import Degradation
from hdsr_tf.data.pipelines import sr_pair_dataset
from hdsr_tf.errors import RunDirError
from hdsr_tf.models.cnn import build_recognizer
from hdsr_tf.models.discriminator import build_discriminator
from hdsr_tf.models.rrdb import build_generator
from hdsr_tf.training.esrgan import ESRGAN
from hdsr_tf.training.losses import PerceptualLoss, RecognitionLoss, recognizer_features
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

    # An interrupted GAN stage: drop its final generator, ask for 3 epochs; it resumes after epoch 1.
    paths["gan"].unlink()
    state = run / "gan" / "checkpoint" / "state.json"
    assert json.loads(state.read_text())["epoch"] == 1
    train_sr(_tiny_config(tmp_path, recognizer_file, gan_epochs=3))
    assert json.loads(state.read_text())["epoch"] == 3
    epochs = [line.split(",")[0] for line in (run / "gan" / "log.csv").read_text().strip().splitlines()[1:]]
    assert epochs == ["0", "1", "2"]


def test_ssim_weight_changes_the_psnr_stage_gradients():
    lr, hr = next(iter(_pairs()))
    m = _model(adversarial=False)
    plain = m.g_gradients(lr, hr)
    m.ssim_weight = 0.5
    weighted = m.g_gradients(lr, hr)
    assert np.all(weighted[0].numpy() > plain[0].numpy())  # the (1 - SSIM) term is added per example
    assert any(not np.allclose(a, b) for a, b in zip(plain[3], weighted[3]))
    m.compile(g_optimizer=keras.optimizers.Adam(1e-3), pixel_loss="psnr")
    np.testing.assert_allclose(m.g_gradients(lr, hr)[0].numpy(),
                               -tf.image.psnr(m.generator(lr), hr, max_val=1.0).numpy() / 10, rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="pixel_loss"):
        m.compile(g_optimizer=keras.optimizers.Adam(1e-3), pixel_loss="l2")


def test_recognition_weight_adds_a_logged_term_to_the_gan_stage():
    lr, hr = next(iter(_pairs()))
    m = _model(adversarial=True)
    plain = m.g_gradients(lr, hr)
    recognizer = build_recognizer()
    m.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3),
              perceptual_loss=m.perceptual_loss, recognition_loss=RecognitionLoss(recognizer),
              recognition_weight=1.0)
    total, terms, _, grads = m.g_gradients(lr, hr)
    assert np.all(terms["recognition"].numpy() > 0)
    np.testing.assert_allclose(total.numpy(), plain[0].numpy() + terms["recognition"].numpy(), rtol=1e-4)
    assert any(not np.allclose(a, b) for a, b in zip(plain[3], grads))
    assert "recognition" in m.fit(_pairs(), epochs=1, verbose=0).history
    psnr_stage = _model(adversarial=False)
    with pytest.raises(ValueError, match="recognition"):
        psnr_stage.compile(g_optimizer=keras.optimizers.Adam(1e-3), recognition_loss=RecognitionLoss(recognizer),
                           recognition_weight=1.0)


def test_gan_stage_straight_from_a_given_generator(tmp_path, mnist_ready, recognizer_file):
    start_path = tmp_path / "start.keras"
    build_generator(4, nf=8, gc=8, num_blocks=1).save(start_path)
    paths = train_sr(_tiny_config(tmp_path, recognizer_file, stage="both", init_generator=str(start_path),
                                  psnr_epochs=0, recognition_weight=0.5))
    start = keras.saving.load_model(start_path, safe_mode=True)
    after_psnr = keras.saving.load_model(paths["psnr"], safe_mode=True)
    for a, b in zip(start.get_weights(), after_psnr.get_weights()):
        np.testing.assert_array_equal(a, b)  # zero PSNR epochs: the given generator goes to the GAN stage as is
    tuned = keras.saving.load_model(paths["gan"], safe_mode=True)
    assert any(not np.allclose(a, b) for a, b in zip(start.get_weights(), tuned.get_weights()))
    assert "recognition" in (tmp_path / "run" / "gan" / "log.csv").read_text().splitlines()[0]


def test_psnr_stage_can_start_from_a_generator(tmp_path, mnist_ready, recognizer_file):
    first = train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr"))["psnr"]
    start = keras.saving.load_model(first, safe_mode=True)
    second = train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr", init_generator=str(first),
                                   shift_augment=2, ssim_weight=0.5, out_dir=str(tmp_path / "again")))["psnr"]
    tuned = keras.saving.load_model(second, safe_mode=True)
    assert tuned.count_params() == start.count_params()
    assert any(not np.allclose(a, b) for a, b in zip(start.get_weights(), tuned.get_weights()))
    with pytest.raises(ValueError, match="2x"):
        x2 = build_generator(2, nf=8, gc=8, num_blocks=1)
        x2.save(tmp_path / "x2.keras")
        train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr", init_generator=str(tmp_path / "x2.keras"),
                              out_dir=str(tmp_path / "wrong")))


def test_bfloat16_training_saves_float32_generators(tmp_path, mnist_ready, recognizer_file):
    paths = train_sr(_tiny_config(tmp_path, recognizer_file, bfloat16=True, scale=2))
    for path in paths.values():
        g = keras.saving.load_model(path, safe_mode=True)
        assert {layer.dtype_policy.name for layer in g.layers} == {"float32"}
    psnr_log = (tmp_path / "run" / "psnr" / "log.csv").read_text().splitlines()
    assert np.isfinite(float(psnr_log[1].split(",")[psnr_log[0].split(",").index("val_psnr")]))
    with pytest.raises(RunDirError, match="bfloat16"):  # a float32 run is not silently resumed in bfloat16
        train_sr(_tiny_config(tmp_path, recognizer_file, scale=2))


def test_back_projection_and_growth_fine_tuning_and_their_limits(tmp_path, mnist_ready, recognizer_file):
    start_path = tmp_path / "start.keras"
    build_generator(2, nf=8, gc=8, num_blocks=1).save(start_path)
    tuned = train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr", scale=2, init_generator=str(start_path),
                                  back_projection=True, bfloat16=True))["psnr"]
    g = keras.saving.load_model(tuned, safe_mode=True)
    assert g.get_layer("sr_image").__class__.__name__ == "BackProjection" and g.get_layer("sr_raw")
    grown = train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr", scale=2, init_generator=str(tuned),
                                  grow_blocks=1, out_dir=str(tmp_path / "grown")))["psnr"]
    deeper = keras.saving.load_model(grown, safe_mode=True)
    assert deeper.get_layer("rrdb2_add") and deeper.get_layer("sr_image").__class__.__name__ == "BackProjection"
    assert np.any(deeper.get_layer("rrdb2_rdb3_conv5").kernel.numpy())  # trained off its zero start
    with pytest.raises(ValueError, match="--grow-blocks needs --init-generator"):
        train_sr(_tiny_config(tmp_path, recognizer_file, stage="psnr", grow_blocks=1, out_dir=str(tmp_path / "g")))
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
one_d = m.d_gradients(lr, hr)[3]
one_g = m.g_gradients(lr, hr)[3]
def split(ctx):
    i = ctx.replica_id_in_sync_group
    return lr[4 * i: 4 * i + 4], hr[4 * i: 4 * i + 4]
lr_d, hr_d = strategy.experimental_distribute_values_from_function(split)
@tf.function
def both(a, b):
    return m.d_gradients(a, b)[3], m.g_gradients(a, b)[3]
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
    import signal
    import time

    from conftest import ROOT

    out = tmp_path / "run"
    args = [sys.executable, str(ROOT / "scripts" / "train_gan.py"), "--limit", "1024", "--batch-size", "16",
            "--nf", "8", "--gc", "8", "--num-blocks", "1", "--d-filters", "8", "--psnr-epochs", "3",
            "--gan-epochs", "1", "--recognizer", str(recognizer_file), "--out-dir", str(out)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    state = out / "psnr" / "checkpoint" / "state.json"
    deadline = time.time() + 300
    while not state.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = json.loads(state.read_text())["epoch"]
    assert 1 <= done < 3
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"after epoch {done}" in result.stdout
    assert json.loads(state.read_text())["epoch"] == 3
    assert (out / "psnr" / "generator.keras").exists() and (out / "gan" / "generator.keras").exists()
    epochs = [line.split(",")[0] for line in (out / "psnr" / "log.csv").read_text().strip().splitlines()[1:]]
    assert epochs[-1] == "2" and "0" in epochs
