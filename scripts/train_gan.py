#!/usr/bin/env python
"""Train the ESRGAN super-resolution generator (defaults: 4x on MNIST, both stages).

Stage 1 (psnr) trains the RRDB generator alone on its pixel loss; stage 2 (gan)
starts from it and adds the RaGAN discriminator and the perceptual loss.
Rerunning the same command resumes an interrupted stage and skips finished
ones. Measure the result with scripts/evaluate_sr.py.
"""

from hdsr_tf import cli
from hdsr_tf.config import GANConfig


def main():
    config = cli.parse_config(GANConfig, __doc__)

    from hdsr_tf.training.distribute import get_strategy  # first: multi-worker needs it before other TF ops

    strategy = get_strategy(config.strategy)
    from hdsr_tf.training.super_resolution import train_sr

    for stage, path in train_sr(config, strategy).items():
        print(f"{stage} generator: {path}")


if __name__ == "__main__":
    cli.run(main)
