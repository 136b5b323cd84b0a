"""Keras models: the digit recognizer, the RRDB generator, the discriminator and the hybrid chain."""

from __future__ import annotations

from pathlib import Path

from hdsr_tf.errors import MissingFileError


def load_model(path: str | Path, compile: bool = False):
    """Loads any of our .keras models with safe_mode on, after registering our custom layers."""
    import keras

    from hdsr_tf.models import consistency, layers  # noqa: F401  (register our custom layers)

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"model file {path} not found")
    return keras.saving.load_model(path, compile=compile, safe_mode=True)
