"""The ESRGAN job behind scripts/train_gan.py: the PSNR stage, then the GAN stage.

Layout of a run directory::

    config.json
    psnr/  log.csv tensorboard/ checkpoint/ samples/ generator.keras FINISHED
    gan/   log.csv tensorboard/ checkpoint/ samples/ generator.keras discriminator.keras FINISHED

The GAN stage starts from ``psnr/generator.keras``, as ESRGAN does. Each stage
is one :class:`~hdsr_tf.training.runner.Job`: it resumes from its own
checkpoint (G, D and both optimizers) and is skipped once finished.
"""

from __future__ import annotations

import functools
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from hdsr_tf.config import GANConfig
from hdsr_tf.data.degrade import Degradation
from hdsr_tf.data.pipelines import sr_pair_dataset
from hdsr_tf.data.recipe import load_recipe
from hdsr_tf.data.splits import check_dataset, load_digits
from hdsr_tf.errors import MissingFileError, UsageError
from hdsr_tf.models import load_model
from hdsr_tf.models.discriminator import build_discriminator
from hdsr_tf.models.rrdb import build_generator, generator_settings, with_back_projection
from hdsr_tf.training.esrgan import ESRGAN
from hdsr_tf.training.losses import PIXEL_LOSSES, build_perceptual_loss
from hdsr_tf.training.runner import Job, Runner

VAL_DIGITS = 1000  # validation PSNR/SSIM each epoch on this many digits: cheap and stable
ARCHITECTURE = ("scale", "nf", "gc", "num_blocks", "global_skip")


def validate(config: GANConfig) -> None:
    if config.stage not in ("psnr", "gan", "both"):
        raise UsageError(f"--stage must be psnr, gan or both, not {config.stage!r}")
    if config.scale not in (1, 2, 4):
        raise UsageError(f"--scale must be 1, 2 or 4, not {config.scale}")
    if config.scale == 1 and not config.recipe:
        raise UsageError("--scale 1 (the any-size generator) learns from a blind --recipe's pairs: give one")
    degradation(config)  # raises on a bad --degradation or ranges
    if config.recipe:
        load_recipe(config.recipe)
    if config.back_projection and (config.degradation != "area" or config.blur_sigma or config.noise_sigma
                                   or config.recipe):
        raise UsageError("--back-projection assumes LR digits made by area downsampling alone: drop it, or use "
                         "--degradation area without --blur-sigma/--noise-sigma")
    if config.pixel_loss not in PIXEL_LOSSES:
        raise UsageError(f"--pixel-loss must be one of {sorted(PIXEL_LOSSES)}, not {config.pixel_loss!r}")
    if config.init_generator:
        if not Path(config.init_generator).is_file():
            raise MissingFileError(f"--init-generator {config.init_generator} not found")
        if config.stage == "gan":
            raise UsageError("--init-generator seeds the PSNR stage; the GAN stage starts from psnr/generator.keras")
    check_dataset(config.dataset, config.dida_dir)
    if config.stage in ("gan", "both") and config.perceptual == "recognizer" and not Path(config.recognizer).is_file():
        raise MissingFileError(f"the GAN stage's perceptual loss needs a trained recognizer: {config.recognizer} "
                                "not found (train one with scripts/train_cnn.py or pass --recognizer)")


def degradation(config: GANConfig) -> Degradation:
    return Degradation(config.scale, config.degradation, (0.0, config.blur_sigma), (0.0, config.noise_sigma))


def step_decay(lr: float, steps_per_epoch: int, every_epochs: int):
    """ESRGAN's step decay: halve the learning rate every ``every_epochs`` epochs."""
    if every_epochs <= 0:
        return lr
    return keras.optimizers.schedules.ExponentialDecay(lr, steps_per_epoch * every_epochs, 0.5, staircase=True)


def build_model(config: GANConfig) -> keras.Model:
    """The generator architecture ``config`` describes (float32, untrained)."""
    return build_generator(config.scale, config.nf, config.gc, config.num_blocks, config.global_skip,
                           config.back_projection)


def initial_generator(config: GANConfig) -> keras.Model:
    """The PSNR stage's starting generator: ``--init-generator`` (checked against the config) or a new one."""
    if not config.init_generator:
        return build_model(config)
    generator = load_model(config.init_generator)
    found = generator_settings(generator)
    differ = [f"--{k.replace('_', '-')} {found[k]} (config: {getattr(config, k)})" for k in ARCHITECTURE
              if found[k] != getattr(config, k)]
    if differ:
        raise UsageError(f"--init-generator {config.init_generator} has " + ", ".join(differ)
                         + ": set the config to match it")
    if config.back_projection:
        generator = with_back_projection(generator)
    elif found["back_projection"]:
        raise UsageError(f"--init-generator {config.init_generator} ends in back-projection: pass --back-projection")
    return generator


def _sample_strip(lr: np.ndarray, sr: np.ndarray, hr: np.ndarray) -> np.ndarray:
    """uint8 image: one row per example, columns LR (enlarged) | bicubic | SR | HR."""
    size = hr.shape[1:3]
    columns = [tf.image.resize(lr, size, method="nearest").numpy(),
               tf.image.resize(lr, size, method="bicubic").numpy(), sr, hr]
    rows = np.concatenate([np.concatenate([np.pad(c[i], ((1, 1), (1, 1), (0, 0)), constant_values=0.5)
                                           for c in columns], axis=1) for i in range(len(hr))], axis=0)
    return (np.clip(rows, 0, 1) * 255 + 0.5).astype(np.uint8)


class SampleGrid(keras.callbacks.Callback):
    """Writes LR | bicubic | SR | HR for a fixed batch after every epoch: the quickest way
    to see whether a GAN is learning strokes or artefacts."""

    def __init__(self, lr_images: np.ndarray, hr_images: np.ndarray, directory: Path):
        super().__init__()
        self.lr, self.hr, self.directory = lr_images, hr_images, Path(directory)

    def on_epoch_end(self, epoch, logs=None):
        sr = np.asarray(self.model.generator(self.lr, training=False), np.float32)
        self.directory.mkdir(parents=True, exist_ok=True)
        png = tf.io.encode_png(_sample_strip(self.lr, sr, self.hr))
        (self.directory / f"epoch_{epoch + 1:03d}.png").write_bytes(png.numpy())


def train_sr(config: GANConfig, strategy=None, verbose: int = 1) -> dict[str, Path]:
    """Runs the requested stage(s); returns {stage: generator path}."""
    validate(config)
    runner = Runner(config, strategy, verbose)
    deg = degradation(config)
    recipe = load_recipe(config.recipe) if config.recipe else None

    @functools.cache
    def data():
        digits = load_digits(config.dataset, config.dida_dir or None, config.seed).limited(config.limit)
        train = sr_pair_dataset(digits.train[0], config.batch_size, training=True, degradation=deg,
                                seed=config.seed, drop_remainder=True, shift=config.shift_augment, recipe=recipe)
        val_images = digits.val[0][:VAL_DIGITS]
        val = sr_pair_dataset(val_images, 256, training=False, degradation=deg, seed=config.seed + 1, recipe=recipe)
        samples = next(iter(sr_pair_dataset(val_images[:8], 8, training=False, degradation=deg,
                                            seed=config.seed + 1, recipe=recipe)))
        return train, val, [np.asarray(s) for s in samples], len(digits.train[0]) // config.batch_size

    def build(stage: str) -> Job:
        train, val, samples, steps = data()
        adam = functools.partial(keras.optimizers.Adam, beta_1=0.9, beta_2=0.99)
        if stage == "gan":
            init = runner.dir / "psnr" / "generator.keras"
            if not init.exists():
                raise MissingFileError(f"the GAN stage starts from the PSNR stage's generator: {init} not found "
                                        "(run --stage psnr first)")
            lr = step_decay(config.gan_lr, steps, config.lr_decay_epochs)
            model = ESRGAN(runner.for_training(load_model(init)),
                           runner.for_training(build_discriminator(28, config.d_filters)), adversarial=True)
            model.compile(g_optimizer=adam(lr), d_optimizer=adam(lr),
                          perceptual_loss=build_perceptual_loss(config.perceptual, config.recognizer,
                                                                config.vgg_weights),
                          perceptual_weight=config.perceptual_weight, gan_weight=config.gan_weight,
                          l1_weight=config.l1_weight)
        else:
            model = ESRGAN(runner.for_training(initial_generator(config)), adversarial=False)
            model.compile(g_optimizer=adam(step_decay(config.psnr_lr, steps, config.lr_decay_epochs)),
                          pixel_loss=config.pixel_loss, ssim_weight=config.ssim_weight)

        def finish(run, history) -> dict:
            if model.adversarial:
                runner.save_model(model.discriminator, run / "discriminator.keras")
            path = runner.save_model(model.generator, run / "generator.keras")
            last = {k: float(v[-1]) for k, v in history.history.items() if k.startswith("val_") and v}
            return {"generator": str(path), **last}

        return Job(model, train, val, config.gan_epochs if stage == "gan" else config.psnr_epochs, finish,
                   build_optimizers=model.build_optimizers,
                   callbacks=[SampleGrid(*samples, runner.dir / stage / "samples")])

    stages = ["psnr", "gan"] if config.stage == "both" else [config.stage]
    for stage in stages:
        runner.run(functools.partial(build, stage), stage)
    return {stage: runner.dir / stage / "generator.keras" for stage in stages}
