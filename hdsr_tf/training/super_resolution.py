"""The ESRGAN job behind scripts/train_gan.py: PSNR stage, then GAN stage.

Layout of a run directory::

    config.json
    psnr/  log.csv tensorboard/ checkpoint/ samples/ generator.keras
    gan/   log.csv tensorboard/ checkpoint/ samples/ generator.keras discriminator.keras

The GAN stage starts from ``psnr/generator.keras``, as ESRGAN does. Each stage
resumes from its own checkpoint (G, D and both optimizers) and is skipped when
its generator already exists.
"""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from hdsr_tf.config import GANConfig, to_dict
from hdsr_tf.data.degrade import Degradation
from hdsr_tf.data.pipelines import sr_pair_dataset
from hdsr_tf.data.splits import load_digits
from hdsr_tf.errors import TrainingStopped
from hdsr_tf.models import load_model
from hdsr_tf.models.discriminator import build_discriminator
from hdsr_tf.models.hybrid import generator_scale
from hdsr_tf.models.precision import with_dtype_policy
from hdsr_tf.models.rrdb import build_generator, deepened, with_back_projection
from hdsr_tf.training import run_dir
from hdsr_tf.training.callbacks import NaNGuard, ResumeCheckpoint, SampleGrid, save_model_atomic
from hdsr_tf.training.distribute import get_strategy, output_dir, prepare_fit
from hdsr_tf.training.esrgan import ESRGAN
from hdsr_tf.training.losses import PIXEL_LOSSES, RecognitionLoss, build_perceptual_loss

VAL_DIGITS = 1000  # validation PSNR/SSIM each epoch on this many digits: cheap and stable


def validate(config: GANConfig) -> None:
    if config.stage not in ("psnr", "gan", "both"):
        raise ValueError(f"--stage must be psnr, gan or both, not {config.stage!r}")
    if config.scale not in (2, 4):
        raise ValueError(f"--scale must be 2 or 4, not {config.scale}")
    degradation(config)  # raises on a bad --degradation or ranges
    if config.back_projection and (config.degradation != "area" or config.blur_sigma or config.noise_sigma):
        raise ValueError("--back-projection assumes LR digits made by area downsampling alone: drop it, or use "
                         "--degradation area without --blur-sigma/--noise-sigma")
    if config.pixel_loss not in PIXEL_LOSSES:
        raise ValueError(f"--pixel-loss must be one of {sorted(PIXEL_LOSSES)}, not {config.pixel_loss!r}")
    if config.init_generator:
        if not Path(config.init_generator).is_file():
            raise FileNotFoundError(f"--init-generator {config.init_generator} not found")
        if config.stage == "gan":
            raise ValueError("--init-generator seeds the PSNR stage; the GAN stage starts from psnr/generator.keras")
    if config.grow_blocks < 0 or (config.grow_blocks and not config.init_generator):
        raise ValueError("--grow-blocks needs --init-generator and a count of 1 or more")
    if config.dataset in ("dida", "combined"):
        from hdsr_tf.data.dida import list_files

        if not config.dida_dir:
            raise ValueError(f"--dataset {config.dataset} needs --dida-dir")
        list_files(config.dida_dir)
    if config.stage in ("gan", "both") and (config.perceptual == "recognizer" or config.recognition_weight) \
            and not Path(config.recognizer).is_file():
        raise FileNotFoundError(f"the GAN stage's losses need a trained recognizer: {config.recognizer} "
                                "not found (train one with scripts/train_cnn.py or pass --recognizer)")


def degradation(config: GANConfig) -> Degradation:
    return Degradation(config.scale, config.degradation, (0.0, config.blur_sigma), (0.0, config.noise_sigma))


def step_decay(lr: float, steps_per_epoch: int, every_epochs: int):
    """ESRGAN's step decay: halve the learning rate every ``every_epochs`` epochs."""
    if every_epochs <= 0:
        return lr
    return keras.optimizers.schedules.ExponentialDecay(lr, steps_per_epoch * every_epochs, 0.5, staircase=True)


def _for_training(generator: keras.Model, config: GANConfig) -> keras.Model:
    """The generator as it trains: bfloat16 compute when asked (its weights stay float32)."""
    return with_dtype_policy(generator, "mixed_bfloat16") if config.bfloat16 else generator


def _stage(config: GANConfig, run: Path, stage: str, strategy, train, val, samples, steps: int) -> Path:
    out = run / stage
    generator_path = out / "generator.keras"
    if generator_path.exists():
        print(f"[{stage}] already finished: {generator_path}")
        return generator_path
    adversarial = stage == "gan"
    epochs = config.gan_epochs if adversarial else config.psnr_epochs
    with strategy.scope():
        if adversarial:
            init = run / "psnr" / "generator.keras"
            if not init.exists():
                raise FileNotFoundError(f"the GAN stage starts from the PSNR stage's generator: {init} not found "
                                        "(run --stage psnr first)")
            generator = load_model(init)
            discriminator = build_discriminator(28, config.d_filters)
            perceptual = build_perceptual_loss(config.perceptual, config.recognizer, config.vgg_weights)
            recognition = (RecognitionLoss(load_model(config.recognizer), config.recognition_temperature)
                           if config.recognition_weight else None)
            lr = step_decay(config.gan_lr, steps, config.lr_decay_epochs)
            model = ESRGAN(_for_training(generator, config), discriminator, adversarial=True)
            model.compile(g_optimizer=keras.optimizers.Adam(lr, beta_1=0.9, beta_2=0.99),
                          d_optimizer=keras.optimizers.Adam(lr, beta_1=0.9, beta_2=0.99),
                          perceptual_loss=perceptual, perceptual_weight=config.perceptual_weight,
                          gan_weight=config.gan_weight, l1_weight=config.l1_weight,
                          recognition_loss=recognition, recognition_weight=config.recognition_weight)
        else:
            if config.init_generator:
                generator = load_model(config.init_generator)
                init_scale = generator_scale(generator)
                if init_scale != config.scale:
                    raise ValueError(f"--init-generator {config.init_generator} is a {init_scale}x "
                                     f"generator, but --scale is {config.scale}")
                if config.grow_blocks:
                    generator = deepened(generator, config.grow_blocks)
                if config.back_projection:
                    generator = with_back_projection(generator)
            else:
                generator = build_generator(config.scale, config.nf, config.gc, config.num_blocks,
                                            config.global_skip, config.back_projection)
            model = ESRGAN(_for_training(generator, config), adversarial=False)
            model.compile(g_optimizer=keras.optimizers.Adam(step_decay(config.psnr_lr, steps,
                                                                       config.lr_decay_epochs),
                                                            beta_1=0.9, beta_2=0.99),
                          pixel_loss=config.pixel_loss, ssim_weight=config.ssim_weight)
    out.mkdir(parents=True, exist_ok=True)
    guard = NaNGuard()
    checkpoint = ResumeCheckpoint(out / "checkpoint", guard)
    initial_epoch = checkpoint.restore(model, model.build_optimizers)
    callbacks = [guard, checkpoint,
                 keras.callbacks.CSVLogger(str(out / "log.csv"), append=initial_epoch > 0),
                 keras.callbacks.TensorBoard(str(out / "tensorboard"), write_graph=False),
                 SampleGrid(*samples, out / "samples")]
    print(f"[{stage}] training {epochs} epochs from epoch {initial_epoch}")
    prepare_fit(model, train, strategy)
    start = time.time()
    model.fit(train, validation_data=val, epochs=epochs, initial_epoch=initial_epoch, callbacks=callbacks)
    if guard.triggered:
        raise TrainingStopped(f"{stage} stage: loss became non-finite or exploded at {guard.triggered}. "
                              f"The last good checkpoint (epoch {checkpoint.saved_epoch()}) is kept in "
                              f"{out / 'checkpoint'}; lower the learning rate and rerun to resume")
    print(f"[{stage}] {time.time() - start:.0f} s")
    if adversarial:
        save_model_atomic(model.discriminator, out / "discriminator.keras")
    save_model_atomic(with_dtype_policy(model.generator, "float32"), generator_path)
    return generator_path


def train_sr(config: GANConfig, strategy=None) -> dict[str, Path]:
    """Runs the requested stage(s); returns {stage: generator path}."""
    validate(config)
    strategy = strategy or get_strategy(config.strategy)
    run = run_dir.prepare(output_dir(config.out_dir, strategy), to_dict(config), config.restart)
    keras.utils.set_random_seed(config.seed)
    digits = load_digits(config.dataset, config.dida_dir or None, config.seed).limited(config.limit)
    deg = degradation(config)
    train = sr_pair_dataset(digits.train[0], config.batch_size, training=True, degradation=deg,
                            seed=config.seed, drop_remainder=True,
                            shift=config.shift_augment)
    val_images = digits.val[0][:VAL_DIGITS]
    val = sr_pair_dataset(val_images, 256, training=False, degradation=deg, seed=config.seed + 1)
    lr_s, hr_s = next(iter(sr_pair_dataset(val_images[:8], 8, training=False, degradation=deg,
                                           seed=config.seed + 1)))
    samples = (np.asarray(lr_s), np.asarray(hr_s))
    steps = len(digits.train[0]) // config.batch_size
    stages = ["psnr", "gan"] if config.stage == "both" else [config.stage]
    return {s: _stage(config, run, s, strategy, train, val, samples, steps) for s in stages}
