#!/usr/bin/env python
"""Train the ESRGAN super-resolution generator (defaults: 4x on MNIST, both stages).

Stage 1 (psnr) trains the RRDB generator alone on L1; stage 2 (gan) starts from
it and adds the RaGAN discriminator and the perceptual loss. Rerunning the same
command resumes an interrupted stage and skips finished ones.
"""

from hdsr_tf import cli
from hdsr_tf.config import GANConfig


def main():
    config = cli.parse_config(GANConfig, __doc__)

    from hdsr_tf.training.distribute import get_strategy  # first: multi-worker needs it before other TF ops
    from hdsr_tf.training.super_resolution import train_sr, validate

    validate(config)
    paths = train_sr(config, get_strategy(config.strategy))
    for stage, path in paths.items():
        print(f"{stage} generator: {path}")


if __name__ == "__main__":
    cli.run(main)
