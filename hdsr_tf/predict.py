"""Predictions from an exported SavedModel, one file at a time so one bad file fails alone."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from hdsr_tf.export import latest_version


class Predictor:
    def __init__(self, model_dir: str | Path):
        path = Path(model_dir)
        if not (path / "saved_model.pb").exists():
            path = latest_version(path)
        self.path = path
        loaded = tf.saved_model.load(str(path))
        self.fn = loaded.signatures["predict_image_bytes_options"]
        self.tensors_fn = loaded.signatures["serving_default"]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """float32 [B,H,W,1] in [0,1], white on black -> probabilities [B,10] (``serving_default``)."""
        return self.tensors_fn(image=tf.constant(images, tf.float32))["probabilities"].numpy()

    def predict_bytes(self, data: bytes, invert: int = -1, normalize: int = -1) -> dict:
        if not data:
            raise ValueError("empty file")
        try:
            out = self.fn(image_bytes=tf.constant([data]), invert=tf.constant([invert], tf.int32),
                          normalize=tf.constant([normalize], tf.int32))
        except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
            first = (e.message or str(e)).strip().splitlines()[0]
            raise ValueError(f"not a decodable PNG/JPEG/BMP/GIF/WEBP image ({first[:120]})") from None
        return {"digit": int(out["digit"][0]), "confidence": float(out["confidence"][0]),
                "sr_image": out["sr_image"][0].numpy()}

    def predict_file(self, path, invert: int = -1, normalize: int = -1, sr_dir=None) -> dict:
        path = Path(path)
        try:
            result = self.predict_bytes(path.read_bytes(), invert, normalize)
        except (OSError, ValueError) as e:
            return {"path": str(path), "digit": None, "confidence": None, "error": str(e)}
        if sr_dir:
            out = Path(sr_dir)
            out.mkdir(parents=True, exist_ok=True)
            png = tf.io.encode_png(tf.cast(np.clip(result["sr_image"], 0, 1) * 255 + 0.5, tf.uint8))
            (out / f"{path.stem}_sr.png").write_bytes(png.numpy())
        return {"path": str(path), "digit": result["digit"], "confidence": result["confidence"], "error": None}

    @staticmethod
    def print_results(results: list[dict], fmt: str = "text") -> None:
        if fmt == "json":
            print(json.dumps(results, indent=2))
        elif fmt == "csv":
            writer = csv.DictWriter(sys.stdout, ["path", "digit", "confidence", "error"])
            writer.writeheader()
            writer.writerows(results)
        else:
            for r in results:
                if r["error"]:
                    print(f"{r['path']}\terror: {r['error']}")
                else:
                    print(f"{r['path']}\t{r['digit']}\t{r['confidence']:.4f}")
