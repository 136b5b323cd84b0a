#!/usr/bin/env python
"""Train the ESRGAN super-resolution generator (defaults: 4x on MNIST, both stages).

Stage 1 (psnr) trains the RRDB generator alone on L1; stage 2 (gan) starts from
it and adds the RaGAN discriminator and the perceptual loss. Rerunning the same
command resumes an interrupted stage and skips finished ones.
"""

import argparse

from hdsr_tf import cli


def main():
    from hdsr_tf.config import GANConfig, add_arguments, from_args

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, GANConfig)
    config = from_args(GANConfig, parser.parse_args())

    from hdsr_tf.training.distribute import get_strategy  # first: multi-worker needs it before other TF ops
    from hdsr_tf.training.super_resolution import train_sr, validate

    validate(config)
    paths = train_sr(config, get_strategy(config.strategy))
    for stage, path in paths.items():
        print(f"{stage} generator: {path}")


if __name__ == "__main__":
    cli.run(main)
