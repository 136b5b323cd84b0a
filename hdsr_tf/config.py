"""Each job's settings as a dataclass: defaults live here, in one place.

Scripts turn every field into a command-line flag (``--batch-size``) with
:func:`add_arguments` and read them back with :func:`from_args`, so a default
is never written twice. A YAML/JSON file given with ``--config`` sets fields
too; flags given explicitly win over it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path


def _help(text: str, **kw):
    return field(metadata={"help": text}, **kw)


@dataclass
class CNNConfig:
    dataset: str = _help("mnist, dida or combined", default="mnist")
    dida_dir: str = _help("DIDA-style folder <root>/<0-9>/<images> (for dida/combined)", default="")
    seed: int = _help("seed for the split, shuffles, augmentation and initial weights", default=0)
    optimizer: str = _help("adam or sgd (SGD uses momentum and Nesterov)", default="adam")
    learning_rate: float = _help("peak learning rate", default=3e-3)
    schedule: str = _help("cosine (one warm-up epoch, then cosine decay), step or constant",
                          default="cosine")
    momentum: float = _help("SGD momentum", default=0.9)
    nesterov: bool = _help("SGD with Nesterov momentum", default=True)
    batch_size: int = _help("global batch size", default=128)
    epochs: int = _help("maximum number of epochs", default=15)
    early_stopping_monitor: str = _help("metric watched by early stopping", default="val_loss")
    early_stopping_patience: int = _help("epochs without improvement before stopping (0 = off)",
                                         default=5)
    restore_best_weights: bool = _help("end with the best epoch's weights", default=True)
    augment: bool = _help("random rotation, shift and zoom while training", default=True)
    dropout: float = _help("dropout before the classifier", default=0.3)
    lr_scale: int = _help("0: full-resolution digits. 2 or 4: train the direct low-res rival on digits "
                          "area-downsampled by this factor", default=0)
    limit: int = _help("use only the first N digits of each split (0 = all); for quick runs", default=0)
    mixed_precision: bool = _help("Keras mixed_float16 policy (outputs and losses stay float32); for GPUs",
                                  default=False)
    out_dir: str = _help("run directory (config, logs, checkpoints, model, report)",
                         default="runs/cnn")
    strategy: str = _help("default, mirrored or multiworker (reads TF_CONFIG)", default="default")
    restart: bool = _help("discard the run directory's checkpoint and start over", default=False)


@dataclass
class GANConfig:
    stage: str = _help("psnr, gan or both (psnr first, then gan from its weights)", default="both")
    scale: int = _help("super-resolution factor: 2 or 4", default=4)
    dataset: str = _help("mnist, dida or combined", default="mnist")
    dida_dir: str = _help("DIDA-style folder <root>/<0-9>/<images>", default="")
    seed: int = _help("seed for the split, degradation, shuffles and weights", default=0)
    nf: int = _help("generator feature channels (64 with --gc 32 measured +0.49 dB at 4x for 2.9x slower "
                    "inference; see benchmarks/NOTES.md)", default=32)
    gc: int = _help("generator dense-block growth channels", default=16)
    num_blocks: int = _help("number of RRDB blocks", default=3)
    global_skip: bool = _help("add a bicubic upscaling of the input to the generator's output", default=True)
    back_projection: bool = _help("end the generator with a back-projection layer that makes its output agree "
                                  "exactly with the LR input (area downsampling only; see "
                                  "hdsr_tf/models/consistency.py)", default=False)
    init_generator: str = _help("start the PSNR stage from this generator .keras instead of random weights "
                                "(fine-tuning; --nf/--gc/--num-blocks/--scale are then taken from it, see also "
                                "--grow-blocks)", default="")
    grow_blocks: int = _help("add this many RRDBs to --init-generator's trunk, started so that its output is "
                             "unchanged: a deeper generator that keeps what the smaller one learned", default=0)
    d_filters: int = _help("discriminator base filters", default=32)
    bfloat16: bool = _help("train the generator in Keras' mixed_bfloat16 policy: up to 2x faster on CPUs with "
                           "AVX512-BF16 (1.0-2.0x measured, benchmarks/NOTES.md), slower without it; weights and "
                           "the saved generator stay float32", default=False)
    batch_size: int = _help("global batch size", default=64)
    psnr_epochs: int = _help("epochs of the PSNR (L1) stage", default=16)
    gan_epochs: int = _help("epochs of the GAN stage", default=3)
    psnr_lr: float = _help("Adam learning rate of the PSNR stage (ESRGAN: 2e-4; see benchmarks)", default=1e-3)
    gan_lr: float = _help("Adam learning rate of the GAN stage (both nets)", default=1e-4)
    pixel_loss: str = _help("PSNR stage pixel loss: l1 (ESRGAN) or psnr (log10 of each image's MSE)",
                            default="l1")
    ssim_weight: float = _help("PSNR stage: add this weight times (1 - SSIM) to the pixel loss (0 = none)",
                               default=0.0)
    lr_decay_epochs: int = _help("halve the learning rate every this many epochs (0 = never)",
                                 default=6)
    perceptual: str = _help("feature network: recognizer or vgg19", default="recognizer")
    recognizer: str = _help("recognizer .keras file for the perceptual loss",
                            default="saved_models/cnn/recognizer.keras")
    vgg_weights: str = _help("VGG19 weights file (.h5) for --perceptual vgg19", default="")
    perceptual_weight: float = _help("weight of the perceptual loss", default=1.0)
    gan_weight: float = _help("weight of the RaGAN generator loss", default=5e-3)
    l1_weight: float = _help("weight of the L1 pixel loss in the GAN stage", default=1e-2)
    recognition_weight: float = _help("GAN stage: add this weight times the distillation from --recognizer "
                                      "reading HR to it reading SR (0 = none, as ESRGAN; 1.0 measured no better on "
                                      "validation, see benchmarks/NOTES.md)", default=0.0)
    recognition_temperature: float = _help("temperature of that distillation", default=1.0)
    degradation: str = _help("downsampling: area or bicubic", default="area")
    blur_sigma: float = _help("max Gaussian blur sigma before downsampling (0 = none)", default=0.0)
    noise_sigma: float = _help("max Gaussian noise sigma after downsampling (0 = none)",
                               default=0.0)
    shift_augment: int = _help("shift each training HR digit by up to this many whole pixels, fresh every "
                               "epoch, before degrading it (0 = fixed pairs)", default=0)
    limit: int = _help("use only the first N digits of each split (0 = all); for quick runs", default=0)
    out_dir: str = _help("run directory", default="runs/esrgan_x4")
    strategy: str = _help("default, mirrored or multiworker (reads TF_CONFIG)", default="default")
    restart: bool = _help("discard the run directory's checkpoints and start over", default=False)


@dataclass
class HybridConfig:
    generator: str = _help("generator .keras to fine-tune", default="saved_models/esrgan_x4/generator_gan.keras")
    recognizer: str = _help("recognizer .keras", default="saved_models/cnn/recognizer.keras")
    mode: str = _help("what learns from the task loss: generator (recognizer frozen), recognizer "
                      "(on a mix of HR and SR digits, generator frozen) or both (best, measured)",
                      default="both")
    task_weight: float = _help("weight of the recognizer's cross-entropy on SR digits (1.0 beat 0.1, measured)",
                               default=1.0)
    l1_weight: float = _help("weight of the L1 pixel loss on SR digits", default=1.0)
    hr_weight: float = _help("weight of the cross-entropy on HR digits (recognizer modes)", default=1.0)
    distill_weight: float = _help("weight of distillation from a frozen copy of --recognizer reading the HR "
                                  "digit (0 = none)", default=1.0)
    temperature: float = _help("distillation temperature", default=4.0)
    learning_rate: float = _help("Adam learning rate (cosine decay)", default=1e-4)
    ema_momentum: float = _help("keep an exponential moving average of the weights with this momentum and end "
                                "on it (Polyak averaging; 0 = end on the last weights; 0.999 measured no better "
                                "than cosine decay alone)", default=0.0)
    batch_size: int = _help("global batch size", default=64)
    epochs: int = _help("epochs (4 and 8 measured equal)", default=4)
    shift_augment: int = _help("shift each training HR digit by up to this many whole pixels, fresh every "
                               "epoch, before degrading it (0 = fixed pairs; 1 beat 3 on two seeds, measured)",
                               default=1)
    seed: int = _help("seed for the split, degradation and shuffles", default=0)
    limit: int = _help("use only the first N digits of each split (0 = all); for quick runs", default=0)
    out_dir: str = _help("run directory", default="runs/hybrid")
    strategy: str = _help("default, mirrored or multiworker (reads TF_CONFIG)", default="default")
    restart: bool = _help("discard the run directory's checkpoint and start over", default=False)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, not {text!r}")


def add_arguments(parser: argparse.ArgumentParser, cls) -> None:
    """One flag per field; booleans take --x / --no-x."""
    hints = typing.get_type_hints(cls)
    parser.add_argument("--config", help="YAML or JSON file of settings (flags override it)")
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        help_text = f"{f.metadata.get('help', '')} (default: {f.default})"
        if kind is bool:
            parser.add_argument(_flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
        else:
            parser.add_argument(_flag(f.name), dest=f.name, type=kind, default=None, help=help_text)


def from_args(cls, args: argparse.Namespace):
    """Defaults, then the --config file, then explicit flags."""
    values = {}
    if getattr(args, "config", None):
        values.update(load_file(args.config))
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"{args.config}: unknown settings {sorted(unknown)}")
    values.update({k: v for k, v in vars(args).items() if k in known and v is not None})
    return cls(**values)


def load_file(path: str) -> dict:
    text = Path(path).read_text()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise ValueError("reading YAML needs PyYAML; use a .json config instead") from None
        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of settings")
    return {k.replace("-", "_"): v for k, v in data.items()}


# What runs made before a setting existed effectively used; lets a newer version resume them.
LEGACY_VALUES = {"shift_augment": 0, "init_generator": "", "pixel_loss": "l1", "ssim_weight": 0.0,
                 "distill_weight": 0.0, "temperature": 4.0,
                 "recognition_weight": 0.0, "recognition_temperature": 1.0, "ema_momentum": 0.0,
                 "bfloat16": False, "back_projection": False, "grow_blocks": 0}


def to_dict(config) -> dict:
    return dataclasses.asdict(config)
