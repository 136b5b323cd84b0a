"""Joint fine-tuning with tiny models: who learns in each mode, and the job's outputs."""

import json

import keras
import numpy as np
import pytest

from hdsr_tf.config import HybridConfig
from hdsr_tf.data.degrade import Degradation
from hdsr_tf.data.pipelines import sr_pair_dataset
from hdsr_tf.models.cnn import build_recognizer
from hdsr_tf.models.rrdb import build_generator
from hdsr_tf.training.hybrid_finetune import train_hybrid
from hdsr_tf.training.joint import JointTrainer


def _data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 28, 28, 1), dtype=np.uint8)
    labels = rng.integers(0, 10, 64).astype(np.int64)
    return sr_pair_dataset(images, 16, training=True, degradation=Degradation(4), labels=labels)


def _changed(before, model):
    return any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("mode,g_moves,r_moves", [("generator", True, False), ("recognizer", False, True),
                                                  ("both", True, True)])
@pytest.mark.slow
def test_modes_train_the_right_networks(mode, g_moves, r_moves):
    g, r = build_generator(4, nf=8, gc=8, num_blocks=1), build_recognizer()
    gw, rw = [w.copy() for w in g.get_weights()], [w.copy() for w in r.get_weights()]
    trainer = JointTrainer(g, r, mode)
    trainer.compile(keras.optimizers.Adam(1e-3))
    logs = trainer.fit(_data(), validation_data=_data(), epochs=1, verbose=0).history
    assert np.isfinite(logs["loss"][0]) and "val_sr_accuracy" in logs and "val_hr_accuracy" in logs
    assert _changed(gw, g) == g_moves
    # batch-norm statistics move in training mode, so compare only trainable weights for "no change"
    trainable_now = [v.numpy() for v in r.trainable_variables]
    trainable_before = [w for w, v in zip(rw, r.weights) if v.trainable]
    assert any(not np.allclose(a, b) for a, b in zip(trainable_before, trainable_now)) == r_moves


def test_unknown_mode():
    with pytest.raises(ValueError, match="mode must be one of"):
        JointTrainer(build_generator(4, nf=8, gc=8, num_blocks=1), build_recognizer(), "everything")


@pytest.mark.slow
def test_job_writes_models_and_validation_figures(tmp_path, mnist_ready):
    g_path, r_path = tmp_path / "g.keras", tmp_path / "r.keras"
    build_generator(4, nf=8, gc=8, num_blocks=1).save(g_path)
    recognizer = build_recognizer()
    recognizer.save(r_path)
    config = HybridConfig(generator=str(g_path), recognizer=str(r_path), mode="generator", limit=128, batch_size=32,
                          epochs=1, distill_weight=0.0, out_dir=str(tmp_path / "run"))
    summary = train_hybrid(config, verbose=0)
    run = tmp_path / "run"
    for name in ("generator.keras", "recognizer.keras", "hybrid.keras", "FINISHED", "log.csv"):
        assert (run / name).exists(), name
    assert set(summary["validation"]) == {"sr_accuracy", "hr_accuracy", "psnr"}
    # generator mode leaves the recognizer alone
    tuned = keras.saving.load_model(run / "recognizer.keras", safe_mode=True)
    for a, b in zip(recognizer.get_weights(), tuned.get_weights()):
        np.testing.assert_array_equal(a, b)
    hybrid = keras.saving.load_model(run / "hybrid.keras", safe_mode=True)
    assert set(hybrid.output_names) == {"probabilities", "digit", "confidence", "sr_image"}
    np.testing.assert_array_equal(hybrid.get_layer("generator").get_weights()[0],
                                  keras.saving.load_model(run / "generator.keras").get_weights()[0])
    # a finished run is skipped: the log keeps its one epoch
    log = (run / "log.csv").read_text()
    assert train_hybrid(config, verbose=0) == json.loads((run / "FINISHED").read_text())
    assert (run / "log.csv").read_text() == log


def test_distillation_is_zero_for_the_teacher_itself_and_positive_otherwise():
    from hdsr_tf.training.losses import distillation_per_example

    teacher = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1]], np.float32)
    np.testing.assert_allclose(distillation_per_example(teacher, teacher, 4.0).numpy(), 0.0, atol=1e-6)
    other = np.array([[0.05, 0.9, 0.05], [0.2, 0.7, 0.1]], np.float32)
    kd = distillation_per_example(teacher, other, 4.0).numpy()
    assert kd[0] > 0.1 and abs(kd[1]) < 1e-6


@pytest.mark.slow
def test_distillation_needs_a_teacher_and_keeps_it_frozen():
    g, r = build_generator(4, nf=8, gc=8, num_blocks=1), build_recognizer()
    with pytest.raises(ValueError, match="teacher"):
        JointTrainer(g, r, "both").compile(keras.optimizers.Adam(1e-3), distill_weight=1.0)
    teacher = build_recognizer()
    teacher_weights = [w.copy() for w in teacher.get_weights()]
    trainer = JointTrainer(g, r, "both", teacher=teacher)
    trainer.compile(keras.optimizers.Adam(1e-3), distill_weight=1.0)
    logs = trainer.fit(_data(), epochs=1, verbose=0).history
    assert np.isfinite(logs["loss"][0])
    assert not _changed(teacher_weights, teacher)  # the teacher stays frozen
