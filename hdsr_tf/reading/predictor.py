"""Predictions from an exported SavedModel: files read in batches, and one bad file fails alone.

A batch goes through the bytes signature at once; when TensorFlow refuses it
(an image only the decoder finds damaged), the batch is read again one file at
a time, so the bad file gets its own error (with TensorFlow's real cause) and
the others their answers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from hdsr_tf.errors import InputError, ModelFolderError, UsageError
from hdsr_tf.export import latest_version, load_version
from hdsr_tf.reading.files import read_image_bytes
from hdsr_tf.signatures import choose, reading


def tf_cause(error: tf.errors.OpError) -> str:
    """The line of a TensorFlow error that says what went wrong (not "Graph execution error:")."""
    for line in (error.message or str(error)).splitlines():
        line = line.strip()
        if line and not line.startswith(("Graph execution error", "Detected at node", "[[", "<stack traces")):
            return line
    return (error.message or str(error)).strip().splitlines()[0]


def write_sr_image(sr_image: np.ndarray, sr_dir, source: str) -> Path:
    """Writes a super-resolved digit as PNG under ``sr_dir``, mirroring the source's own path (so that
    equal names in different folders never overwrite each other)."""
    source = Path(source).resolve()
    relative = source.relative_to(source.anchor)
    target = Path(sr_dir) / relative.parent / f"{relative.name}.sr.png"  # d.png and d.jpg stay apart
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(tf.io.encode_png(tf.cast(np.clip(sr_image, 0, 1) * 255 + 0.5, tf.uint8)).numpy())
    return target


class Predictor:
    """An exported hybrid loaded in-process. It reads through the signatures that draw no ``sr_image``
    (exports since version 5; older ones through their only signatures) unless ``draw`` is set, and
    with ``bfloat16`` through their bfloat16 twins (exports made with ``--bfloat16-reading``)."""

    def __init__(self, model_dir: str | Path, draw: bool = False, bfloat16: bool = False):
        path = Path(model_dir)
        if not (path / "saved_model.pb").exists():
            path = latest_version(path)
        self.path = path
        signatures = load_version(path).signatures

        def pick(name):
            if bfloat16 and reading(name, True) not in signatures:
                raise ModelFolderError(f"{path} has no bfloat16 signatures (export it with --bfloat16-reading)")
            return signatures[choose(signatures, name, draw, bfloat16)]

        self.fn, self.tensors_fn = pick("predict_image_bytes_options"), pick("serving_default")

    def read(self, images: np.ndarray) -> dict:
        """float32 [B,H,W,1] in [0,1], white on black -> the served outputs as arrays (no sr_image):
        probabilities [B,10], digit [B] (-1: no digit), confidence [B], and no_digit [B] from exports >= 4."""
        out = self.tensors_fn(image=tf.constant(images, tf.float32))
        return {k: v.numpy() for k, v in out.items() if k != "sr_image"}

    def _run(self, items: list[bytes], invert: int, normalize: int) -> dict:
        """The bytes signature's outputs for a batch, as numpy arrays (converted once per batch: slicing
        eager tensors item by item cost a third of predict.py's time)."""
        n = len(items)
        out = self.fn(image_bytes=tf.constant(items), invert=tf.constant([invert] * n, tf.int32),
                      normalize=tf.constant([normalize] * n, tf.int32))
        return {k: v.numpy() for k, v in out.items()}

    def _run_one(self, data: bytes, invert: int, normalize: int) -> dict:
        if not data:
            raise InputError("empty file")
        try:
            return self._run([data], invert, normalize)
        except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
            raise InputError(f"not a decodable PNG/JPEG/BMP/GIF/WEBP image ({tf_cause(e)[:160]})") from None

    def predict_bytes(self, data: bytes, invert: int = -1, normalize: int = -1) -> dict:
        return self._answer(self._run_one(data, invert, normalize), 0)

    def outputs(self, data: bytes, invert: int = -1, normalize: int = -1) -> dict:
        """Every output the signature gives for one encoded image (probabilities too); a refusal raises."""
        out = self._run_one(data, invert, normalize)
        self._answer(out, 0)  # raises the model's own refusal
        return {k: v[0] for k, v in out.items() if k != "error"}

    @staticmethod
    def _answer(out: dict, j: int) -> dict:
        """Item j of a batch's outputs; a refusal the model named (exports since version 3) raises."""
        if "error" in out:
            message = out["error"][j].decode(errors="replace")
            if message:
                raise InputError(message)
        result = {"digit": int(out["digit"][j]), "confidence": float(out["confidence"][j])}
        if "sr_image" in out:
            result["sr_image"] = out["sr_image"][j]
        if "no_digit" in out:
            result["no_digit"] = float(out["no_digit"][j])
        return result

    def predict_files(self, paths, invert: int = -1, normalize: int = -1, sr_dir=None,
                      batch_size: int = 256) -> list[dict]:
        """One result per path, in order: {path, digit, confidence, error}; files go in batches."""
        return [r for batch in self.iter_predict_files(paths, invert, normalize, sr_dir, batch_size) for r in batch]

    def iter_predict_files(self, paths, invert: int = -1, normalize: int = -1, sr_dir=None, batch_size: int = 256):
        """The results of :meth:`predict_files`, one finished batch at a time (an interrupted run keeps them)."""
        for start in range(0, len(paths), batch_size):
            records, items = [], {}
            for path in map(Path, paths[start:start + batch_size]):
                records.append({"path": str(path), "digit": None, "confidence": None, "error": None})
                try:
                    items[len(records) - 1] = read_image_bytes(path)  # header checked: refused undecoded
                except ValueError as e:
                    records[-1]["error"] = str(e)
            keys = list(items)
            try:
                out = self._run([items[k] for k in keys], invert, normalize) if keys else None
                answers = {}
                for j, k in enumerate(keys):
                    try:
                        answers[k] = self._answer(out, j)
                    except ValueError as e:
                        records[k]["error"] = str(e)
            except (tf.errors.InvalidArgumentError, tf.errors.UnknownError):
                answers = {}
                for k in keys:  # the decoder refused the batch: find the bad file(s) one by one
                    try:
                        answers[k] = self.predict_bytes(items[k], invert, normalize)
                    except ValueError as e:
                        records[k]["error"] = str(e)
            for k, read in answers.items():
                records[k].update(digit=read["digit"], confidence=read["confidence"])
                if "no_digit" in read:
                    records[k]["no_digit"] = read["no_digit"]
                if sr_dir:
                    if "sr_image" not in read:
                        raise UsageError("--sr-dir needs a Predictor made with draw=True")
                    write_sr_image(read["sr_image"], sr_dir, records[k]["path"])
            yield records
