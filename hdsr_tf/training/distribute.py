"""Pick a tf.distribute strategy from a flag.

``multiworker`` reads the cluster from ``TF_CONFIG``; it must be created before
any other TensorFlow op runs, so scripts call :func:`get_strategy` first.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from hdsr_tf.errors import UsageError

STRATEGIES = ("default", "mirrored", "multiworker")


def get_strategy(name: str = "default") -> tf.distribute.Strategy:
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise UsageError("--strategy multiworker needs TF_CONFIG (see the README's multi-worker section)")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as e:
            raise UsageError(f"TF_CONFIG is not valid JSON: {e}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UsageError(f"strategy must be one of {STRATEGIES}, not {name!r}")


def global_batch(local: tf.Tensor) -> tf.Tensor:
    """Sum of the local batch sizes over replicas (handles a short last batch).

    Per-example losses summed and divided by this give, once the optimizer sums
    gradients over replicas, the gradient of the global mean.
    """
    n = tf.cast(tf.shape(local)[0], tf.float32)
    ctx = tf.distribute.get_replica_context()
    return ctx.all_reduce("sum", n) if ctx is not None and ctx.num_replicas_in_sync > 1 else n


def global_mean(x: tf.Tensor, n: tf.Tensor) -> tf.Tensor:
    """Mean of ``x`` over the global batch of size ``n`` (all-reduced across replicas)."""
    total = tf.reduce_sum(x)
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        total = ctx.all_reduce("sum", total)
    return total / n


def prepare_fit(model, dataset, strategy: tf.distribute.Strategy) -> None:
    """Works around two Keras 3.15 bugs under MultiWorkerMirroredStrategy.

    1. Before its first step, ``fit`` builds the compiled metrics by reducing
       the first *distributed* batch with ``strategy.reduce``, which the
       multi-worker strategy cannot do for an (x, y) tuple. We build them from
       a plain local batch instead and tell Keras the build is done.
    2. Each step's logs are averaged with ``strategy.reduce("MEAN", v, axis=0)``,
       which fails on scalar metrics. We reduce scalars with ``axis=None``.
    Gradients are untouched: the optimizer all-reduces them as usual.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    _patch_keras_log_reduction()
    batch = next(iter(dataset))
    with strategy.scope():
        model._symbolic_build(data_batch=batch)
    model._maybe_symbolic_build = lambda *args, **kwargs: None


def _patch_keras_log_reduction() -> None:
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer.reduce_per_replica, "_hdsr_patched", False):
        return
    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("mean", "auto") and isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            def mean(v):
                if not isinstance(v, tf.distribute.DistributedValues):
                    return v
                return strategy.reduce("MEAN", v, axis=None if v.values[0].shape.rank == 0 else 0)
            return tf.nest.map_structure(mean, values)
        return original(values, strategy, reduction)

    reduce_per_replica._hdsr_patched = True
    trainer.reduce_per_replica = reduce_per_replica


def output_dir(out_dir, strategy: tf.distribute.Strategy):
    """The chief writes the run directory; other workers write beside it, in
    ``<out_dir>/.workers/<type>_<id>``, so two processes never write one file.

    Every worker still runs the same steps (fit, predict, evaluate): under a
    multi-worker strategy these are collective, and a worker that skipped one
    would leave the others waiting.
    """
    from pathlib import Path

    if is_chief(strategy):
        return Path(out_dir)
    resolver = strategy.cluster_resolver
    return Path(out_dir) / ".workers" / f"{resolver.task_type}_{resolver.task_id}"


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Only the chief writes the run's shared outputs (final model, reports)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (task_type == "worker" and task_id == 0
                                    and "chief" not in resolver.cluster_spec().as_dict())
