"""ESRGAN's RRDBNet generator for one-channel digits, in the functional API.

first conv -> N x RRDB (3 dense blocks of 5 convs, growth gc, LeakyReLU 0.2,
no batch norm, residual scaling 0.2 at both levels) -> trunk conv + long skip
-> per factor of 2: nearest x2 + conv + LeakyReLU -> conv + LeakyReLU -> conv.

One addition to ESRGAN (``global_skip``, on by default): the output is added to a
bicubic upscaling of the input, so the network learns only the residual
detail. On a CPU budget of a few epochs this converges much faster (VDSR's
observation); ``global_skip=False`` gives the paper's exact network. Another,
off by default (``back_projection``): a last layer that makes the output agree
exactly with the area-downsampled input (see ``hdsr_tf.models.consistency``).

ESRGAN's published size (nf 64, gc 32, N 23; 16.7M params) is built for
photos. Digits at 7x7 -> 28x28 need far less: the defaults here (nf 32, gc 16,
N 3) have 0.58M params and train at several hundred images/s on 2 CPU cores;
benchmarks/RESULTS.md records the measured PSNR of the choice.

Residual scaling uses Rescaling + Add layers (no Lambda), so saved generators
load with ``safe_mode`` on. Dense-block convs start from He-normal weights
scaled by 0.1, as ESRGAN does, which keeps early training stable.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from hdsr_tf.errors import UsageError
from hdsr_tf.models.consistency import BackProjection
from hdsr_tf.models.layers import PixelUnshuffle

RESIDUAL_SCALE = 0.2


def _conv(filters: int, name: str, scaled_init: bool = False, activation: bool = False):
    # He-normal has variance 2/fan_in; scaling weights by 0.1 scales variance by 0.01.
    init = keras.initializers.VarianceScaling(0.02 if scaled_init else 2.0, "fan_in", "untruncated_normal")
    conv = layers.Conv2D(filters, 3, padding="same", kernel_initializer=init, name=name)
    if not activation:
        return conv
    act = layers.LeakyReLU(0.2, name=f"{name}_lrelu")
    return lambda x: act(conv(x))


def _dense_block(x, nf: int, gc: int, name: str):
    feats = [x]
    for i in range(1, 5):
        inp = feats[0] if len(feats) == 1 else layers.Concatenate(name=f"{name}_cat{i}")(feats)
        feats.append(_conv(gc, f"{name}_conv{i}", scaled_init=True, activation=True)(inp))
    out = _conv(nf, f"{name}_conv5", scaled_init=True)(layers.Concatenate(name=f"{name}_cat5")(feats))
    out = layers.Rescaling(RESIDUAL_SCALE, name=f"{name}_scale")(out)
    return layers.Add(name=f"{name}_add")([x, out])


def _rrdb(x, nf: int, gc: int, name: str):
    out = x
    for j in range(1, 4):
        out = _dense_block(out, nf, gc, f"{name}_rdb{j}")
    out = layers.Rescaling(RESIDUAL_SCALE, name=f"{name}_scale")(out)
    return layers.Add(name=f"{name}_add")([x, out])


def build_generator(scale: int = 4, nf: int = 32, gc: int = 16, num_blocks: int = 3,
                    global_skip: bool = True, back_projection: bool = False, name: str = "generator") -> keras.Model:
    """input ``lr_image`` [B,h,w,1] -> output ``sr_image`` [B,h*scale,w*scale,1] (unclipped, unless
    ``back_projection``).

    ``scale`` 1 is the any-size design: the input is the image already enlarged (bicubic) to the
    target size, whatever size it came in; pixel unshuffle by 4 moves every pixel into channels, the
    trunk runs at a quarter of the side (as cheap as the 4x generator), and the output is the input
    plus the learned detail. h and w must then be multiples of 4.
    """
    if scale not in (1, 2, 4):
        raise ValueError(f"scale must be 1, 2 or 4, not {scale}")
    if scale == 1 and (back_projection or not global_skip):
        raise ValueError("the scale-1 generator learns a residual over its input: global_skip on, no back projection")
    inputs = keras.Input((None, None, 1), name="lr_image")
    unshuffle = 4 if scale == 1 else 1
    first = _conv(nf, "conv_first")(PixelUnshuffle(unshuffle, name="unshuffle")(inputs) if unshuffle > 1 else inputs)
    trunk = first
    for b in range(1, num_blocks + 1):
        trunk = _rrdb(trunk, nf, gc, f"rrdb{b}")
    trunk = _conv(nf, "conv_trunk")(trunk)
    x = layers.Add(name="long_skip")([first, trunk])
    for u in range(1, int(np.log2(scale * unshuffle)) + 1):
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"up{u}")(x)
        x = _conv(nf, f"conv_up{u}", activation=True)(x)
    x = _conv(nf, "conv_hr", activation=True)(x)
    out_name = "sr_raw" if back_projection else "sr_image"
    if not global_skip:
        sr = _conv(1, out_name)(x)
    else:
        detail = _conv(1, "conv_last")(x)
        base = inputs if scale == 1 else layers.UpSampling2D(scale, interpolation="bicubic", name="bicubic")(inputs)
        sr = layers.Add(name=out_name)([base, detail])
    if back_projection:
        sr = BackProjection(scale, name="sr_image")([sr, inputs])
    return keras.Model(inputs, sr, name=name)


def generator_scale(generator: keras.Model) -> int:
    """The generator's upscaling factor: 2 to the number of its x2 upsampling layers (``up1``, ``up2``),
    over its pixel-unshuffle factor (1 for the any-size generator)."""
    ups = 2 ** sum(layer.name.startswith("up") and layer.name[2:].isdigit() for layer in generator.layers)
    names = {layer.name for layer in generator.layers}
    return ups // (generator.get_layer("unshuffle").factor if "unshuffle" in names else 1)


def generator_settings(generator: keras.Model) -> dict:
    """The :func:`build_generator` arguments that rebuild ``generator``'s architecture, read off its layers."""
    names = {layer.name for layer in generator.layers}
    if "conv_first" not in names or "rrdb1_rdb1_conv1" not in names:
        raise UsageError(f"{generator.name} is not an RRDB generator made by hdsr_tf (no conv_first/rrdb1 layers)")
    return {"scale": generator_scale(generator), "nf": generator.get_layer("conv_first").filters,
            "gc": generator.get_layer("rrdb1_rdb1_conv1").filters,
            "num_blocks": sum(n.startswith("rrdb") and n.endswith("_scale") and "_rdb" not in n for n in names),
            "global_skip": "conv_last" in names,  # the detail branch exists only with the skip
            "back_projection": "sr_raw" in names}


def with_back_projection(generator: keras.Model) -> keras.Model:
    """``generator`` rebuilt with a :class:`BackProjection` output layer and the same weights."""
    settings = generator_settings(generator)
    if settings["back_projection"]:
        return generator
    projected = build_generator(**{**settings, "back_projection": True}, name=generator.name)
    projected.set_weights(generator.get_weights())
    return projected


def interpolate_generators(psnr_gen: keras.Model, gan_gen: keras.Model, alpha: float) -> keras.Model:
    """ESRGAN's network interpolation: weights (1 - alpha) * PSNR + alpha * GAN.

    alpha 0 gives the PSNR model (smooth, highest PSNR), 1 the GAN model (sharper).
    """
    if not 0.0 <= alpha <= 1.0:
        raise UsageError(f"alpha must be in [0, 1], not {alpha}")
    if generator_settings(psnr_gen) != generator_settings(gan_gen):
        raise UsageError("network interpolation needs two generators of one architecture: "
                         f"{generator_settings(psnr_gen)} vs {generator_settings(gan_gen)}")
    blended = keras.models.clone_model(psnr_gen)
    blended.set_weights([(1 - alpha) * p + alpha * g
                         for p, g in zip(psnr_gen.get_weights(), gan_gen.get_weights())])
    return blended
