"""Each job's settings as a dataclass: defaults live here, in one place.

Scripts turn every field into a command-line flag (``--batch-size``) with
:func:`add_arguments` and read them back with :func:`from_args`, so a default
is never written twice. A JSON file given with ``--config`` sets fields too
(every shipped model has one); flags given explicitly win over it. What a
setting was measured to do is in benchmarks/NOTES.md, not here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path

from hdsr_tf.errors import UsageError

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def positive_ints(text: str, flag: str, count: int | None = None, count_word: str = "") -> tuple[int, ...]:
    """A flag's comma-separated positive integers (``count`` of them when given, named ``count_word`` in
    the error); ValueError with the flag's name otherwise."""
    try:
        values = tuple(int(w) for w in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1 or (count is not None and len(values) != count):
        amount = f"{count_word} " if count_word else ""
        raise UsageError(f"{flag} must be {amount}positive integers separated by commas, not {text!r}")
    return values


def _help(text: str, **kw):
    return field(metadata={"help": text}, **kw)


@dataclass
class RunSettings:
    """What every training job has: where it writes, how it is seeded, computed and distributed."""

    seed: int = _help("seed for the split, shuffles, augmentation, degradation and initial weights", default=0)
    limit: int = _help("use only the first N digits of each split (0 = all); for quick runs", default=0)
    precision: str = _help("compute dtype policy while training: float32, mixed_bfloat16 (fast on CPUs with "
                           "AVX512-BF16/AMX) or mixed_float16 (GPUs); weights and saved models stay float32",
                           default="float32")
    strategy: str = _help("default, mirrored or multiworker (reads TF_CONFIG)", default="default")
    restart: bool = _help("discard the run directory's checkpoints and outputs and start over", default=False)


@dataclass
class CNNConfig(RunSettings):
    dataset: str = _help("mnist, dida or combined", default="mnist")
    dida_dir: str = _help("DIDA-style folder <root>/<0-9>/<images> (for dida/combined)", default="")
    optimizer: str = _help("adam or sgd (SGD uses momentum and Nesterov)", default="adam")
    learning_rate: float = _help("peak learning rate", default=3e-3)
    schedule: str = _help("cosine (one warm-up epoch, then cosine decay), step or constant", default="cosine")
    momentum: float = _help("SGD momentum", default=0.9)
    nesterov: bool = _help("SGD with Nesterov momentum", default=True)
    batch_size: int = _help("global batch size", default=128)
    epochs: int = _help("maximum number of epochs", default=15)
    early_stopping_monitor: str = _help("metric watched by early stopping", default="val_loss")
    early_stopping_patience: int = _help("epochs without improvement before stopping (0 = off)", default=5)
    restore_best_weights: bool = _help("end with the best epoch's weights", default=True)
    augment: bool = _help("random rotation, shift and zoom while training", default=True)
    dropout: float = _help("dropout before the classifier", default=0.3)
    lr_scale: int = _help("0: full-resolution digits. 2 or 4: train the direct low-res rival on digits "
                          "area-downsampled by this factor", default=0)
    recipe: str = _help("degrade training and validation digits with this blind degradation recipe (a name in "
                        "hdsr_tf/data/recipes or a JSON path; '' = none); the model reads them at 28 / lr-scale px",
                        default="")
    out_dir: str = _help("run directory (config, logs, checkpoints, model, report)", default="runs/cnn")


@dataclass
class DetectorConfig(RunSettings):
    dataset: str = _help("mnist, dida or combined: the digits", default="mnist")
    dida_dir: str = _help("DIDA-style folder <root>/<0-9>/<images> (for dida/combined)", default="")
    non_digits: float = _help("synthetic non-digits drawn per training digit (hdsr_tf/data/non_digits.py)",
                              default=1.0)
    recipes: str = _help("comma-separated degradation recipes; each batch (digits and non-digits alike) draws "
                         "one, so degradation tells nothing about the answer", default="recognizer,blind")
    digit_weight: float = _help("loss weight of a digit against a non-digit's 1 (a digit wrongly refused "
                                "costs more than a blot read as a digit)", default=2.0)
    learning_rate: float = _help("peak learning rate (Adam, cosine)", default=3e-3)
    batch_size: int = _help("global batch size", default=128)
    epochs: int = _help("epochs", default=8)
    filters: str = _help("filters per stage, comma-separated (FLOPs grow with their square)", default="16,32,64")
    reader: str = _help("a recognizer .keras: train a no-digit head on its own frozen features instead of a "
                        "separate detector (--filters unused); the run saves the reader with its head",
                        default="")
    head_units: int = _help("hidden units of the head (with --reader)", default=64)
    head_conv: int = _help("3x3 filters of the head's own on the reader's middle stage (with --reader)",
                           default=16)
    held_out_font: int = _help("a training font (0-3 of non_digits.TRAIN_FONTS) left out of training's "
                               "letters and the only one of validation's, so validation measures letters of "
                               "an unseen shape, as the probe does, without reading the probe (-1: none)",
                               default=-1)
    max_false_refusals: float = _help("the threshold is the lowest no-digit probability that refuses at most "
                                      "this fraction of validation digits (issue 17 allows 0.2 percent of test digits)",
                                      default=0.002)
    out_dir: str = _help("run directory", default="runs/detector")


@dataclass
class LineReaderConfig(RunSettings):
    dataset: str = _help("mnist, dida or combined: the digits the lines are composed of", default="mnist")
    dida_dir: str = _help("DIDA-style folder <root>/<0-9>/<images> (for dida/combined)", default="")
    lines: int = _help("training lines composed once from training digits (hdsr_tf/data/lines.py)",
                       default=200000)
    val_lines: int = _help("validation lines composed from validation digits", default=4000)
    distractors: float = _help("share of lines with an unlabelled letter or smudge among the digits, so the "
                               "reader passes over marks that are no digit", default=0.25)
    filters: str = _help("filters of the three conv stages, comma-separated", default="16,32,64")
    units: int = _help("GRU units per direction", default=64)
    learning_rate: float = _help("peak learning rate (Adam, cosine)", default=2e-3)
    batch_size: int = _help("global batch size (32 trained 1.7x faster per line than 128 on 2 CPU cores)",
                            default=32)
    epochs: int = _help("maximum number of epochs", default=6)
    early_stopping_patience: int = _help("epochs without a lower val_loss before stopping (0 = off)", default=2)
    out_dir: str = _help("run directory", default="runs/line_reader")


@dataclass
class GANConfig(RunSettings):
    stage: str = _help("psnr, gan or both (psnr first, then gan from its weights)", default="both")
    scale: int = _help("super-resolution factor: 2 or 4; 1 = the any-size generator (inputs enlarged to 28 px "
                       "first, with --recipe)", default=4)
    dataset: str = _help("mnist, dida or combined", default="mnist")
    dida_dir: str = _help("DIDA-style folder <root>/<0-9>/<images>", default="")
    nf: int = _help("generator feature channels", default=32)
    gc: int = _help("generator dense-block growth channels", default=16)
    num_blocks: int = _help("number of RRDB blocks", default=3)
    global_skip: bool = _help("add a bicubic upscaling of the input to the generator's output", default=True)
    back_projection: bool = _help("end the generator with a layer that makes its output agree exactly with the "
                                  "LR input (area downsampling only)", default=False)
    init_generator: str = _help("start the PSNR stage from this generator .keras instead of random weights "
                                "(fine-tuning); its architecture must match --scale/--nf/--gc/--num-blocks",
                                default="")
    d_filters: int = _help("discriminator base filters", default=32)
    batch_size: int = _help("global batch size", default=64)
    psnr_epochs: int = _help("epochs of the PSNR stage", default=16)
    gan_epochs: int = _help("epochs of the GAN stage", default=3)
    psnr_lr: float = _help("Adam learning rate of the PSNR stage", default=1e-3)
    gan_lr: float = _help("Adam learning rate of the GAN stage (both nets)", default=1e-4)
    pixel_loss: str = _help("PSNR stage pixel loss: l1 (ESRGAN) or psnr (log10 of each image's MSE)",
                            default="l1")
    ssim_weight: float = _help("PSNR stage: add this weight times (1 - SSIM, 7x7 window) to the pixel loss",
                               default=0.0)
    lr_decay_epochs: int = _help("halve the learning rate every this many epochs (0 = never)", default=6)
    perceptual: str = _help("feature network: recognizer or vgg19", default="recognizer")
    recognizer: str = _help("recognizer .keras file for the perceptual loss",
                            default="saved_models/cnn/recognizer.keras")
    vgg_weights: str = _help("VGG19 weights file (.h5) for --perceptual vgg19", default="")
    perceptual_weight: float = _help("weight of the perceptual loss", default=1.0)
    gan_weight: float = _help("weight of the RaGAN generator loss", default=5e-3)
    l1_weight: float = _help("weight of the L1 pixel loss in the GAN stage", default=1e-2)
    degradation: str = _help("downsampling: area or bicubic", default="area")
    blur_sigma: float = _help("max Gaussian blur sigma before downsampling (0 = none)", default=0.0)
    noise_sigma: float = _help("max Gaussian noise sigma after downsampling (0 = none)", default=0.0)
    shift_augment: int = _help("shift each training HR digit by up to this many whole pixels, fresh every "
                               "epoch, before degrading it (0 = fixed pairs)", default=0)
    recipe: str = _help("make LR digits with this blind degradation recipe instead (a name in "
                        "hdsr_tf/data/recipes or a JSON path; '' = --degradation etc.), brought to 28 / scale px",
                        default="")
    out_dir: str = _help("run directory", default="runs/esrgan_x4")


@dataclass
class HybridConfig(RunSettings):
    generator: str = _help("generator .keras to fine-tune", default="saved_models/esrgan_x4/generator_gan.keras")
    recognizer: str = _help("recognizer .keras", default="saved_models/cnn/recognizer.keras")
    mode: str = _help("what learns from the task loss: generator (recognizer frozen), recognizer "
                      "(on a mix of HR and SR digits, generator frozen) or both", default="both")
    task_weight: float = _help("weight of the recognizer's cross-entropy on SR digits", default=1.0)
    l1_weight: float = _help("weight of the L1 pixel loss on SR digits", default=1.0)
    hr_weight: float = _help("weight of the cross-entropy on HR digits (recognizer modes)", default=1.0)
    distill_weight: float = _help("weight of distillation from a frozen copy of --recognizer reading the HR "
                                  "digit (0 = none)", default=1.0)
    temperature: float = _help("distillation temperature", default=4.0)
    learning_rate: float = _help("Adam learning rate (cosine decay)", default=1e-4)
    batch_size: int = _help("global batch size", default=64)
    epochs: int = _help("epochs", default=4)
    shift_augment: int = _help("shift each training HR digit by up to this many whole pixels, fresh every "
                               "epoch, before degrading it (0 = fixed pairs)", default=1)
    recipe: str = _help("make LR digits with this blind degradation recipe (a name in hdsr_tf/data/recipes or "
                        "a JSON path; '' = area downsampling by the generator's scale)", default="")
    out_dir: str = _help("run directory", default="runs/hybrid")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, cls) -> None:
    """One flag per field; booleans take --x / --no-x. Help shows each default."""
    hints = typing.get_type_hints(cls)
    parser.add_argument("--config", metavar="FILE.json", help="JSON file of settings (flags override it)")
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        help_text = f"{f.metadata.get('help', '')} (default: {f.default!r})"
        if kind is bool:
            parser.add_argument(_flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
        else:
            parser.add_argument(_flag(f.name), dest=f.name, type=kind, default=None, help=help_text)


def from_args(cls, args: argparse.Namespace):
    """Defaults, then the --config file, then explicit flags."""
    values = load_file(args.config) if getattr(args, "config", None) else {}
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise UsageError(f"{args.config}: unknown settings {sorted(unknown)}")
    values.update({k: v for k, v in vars(args).items() if k in known and v is not None})
    config = cls(**values)
    if config.precision not in PRECISIONS:
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, not {config.precision!r}")
    return config


def load_file(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise UsageError(f"cannot read --config {path}: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise UsageError(f"--config {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object of settings")
    return {k.replace("-", "_"): v for k, v in data.items()}


def to_dict(config) -> dict:
    return dataclasses.asdict(config)
