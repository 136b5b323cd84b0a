#!/usr/bin/env python
"""Jointly fine-tune the hybrid (generator -> recognizer) on low-resolution MNIST.

--mode generator (default) trains the generator with the recognizer's
cross-entropy on its SR output plus L1; --mode recognizer trains the recognizer
on HR and SR digits; --mode both trains both. Prints and writes the hybrid's
LR accuracy and the recognizer's HR accuracy before and after.
"""

from hdsr_tf import cli
from hdsr_tf.config import HybridConfig


def main():
    config = cli.parse_config(HybridConfig, __doc__)

    from hdsr_tf.training.distribute import get_strategy  # first: multi-worker needs it before other TF ops
    from hdsr_tf.training.hybrid_finetune import train_hybrid, validate

    validate(config)
    metrics = train_hybrid(config, get_strategy(config.strategy))
    print(f"outputs: {config.out_dir}\nLR accuracy {metrics['before']['hybrid_lr_accuracy']:.4%} -> "
          f"{metrics['after']['hybrid_lr_accuracy']:.4%}; HR accuracy "
          f"{metrics['before']['recognizer_hr_accuracy']:.4%} -> {metrics['after']['recognizer_hr_accuracy']:.4%}")


if __name__ == "__main__":
    cli.run(main)
