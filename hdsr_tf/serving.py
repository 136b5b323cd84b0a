"""A TF Serving REST client for the exported hybrid (standard library only).

Requests use TF Serving's row format: ``{"signature_name": ..., "instances":
[{"image_bytes": {"b64": ...}}, ...]}``; binary inputs must be base64 under a
``b64`` key and their input name must end in ``_bytes``, which ours does.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request


class ServingError(RuntimeError):
    """The server could not be reached or answered with an error."""


def model_url(base_url: str, model: str = "hybrid", version: int | None = None) -> str:
    """http://host:8501 -> http://host:8501/v1/models/hybrid[/versions/N]:predict"""
    url = base_url.rstrip("/")
    if ":predict" in url:
        return url
    path = f"/v1/models/{model}" + (f"/versions/{version}" if version else "")
    return url + path + ":predict"


def build_request(images: list[bytes], signature: str = "predict_image_bytes",
                  invert: int | None = None, normalize: int | None = None) -> dict:
    """A predict request for encoded images; ``invert``/``normalize`` (-1/0/1) pick the options signature."""
    instances = []
    for data in images:
        item = {"image_bytes": {"b64": base64.b64encode(data).decode("ascii")}}
        if invert is not None or normalize is not None:
            signature = "predict_image_bytes_options"
            item["invert"] = -1 if invert is None else int(invert)
            item["normalize"] = -1 if normalize is None else int(normalize)
        instances.append(item)
    return {"signature_name": signature, "instances": instances}


def parse_response(body: dict | str | bytes) -> list[dict]:
    """TF Serving's response -> one dict per image: digit, confidence, probabilities."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as e:
            raise ServingError(f"the server's answer is not JSON: {e}") from None
    if "error" in body:
        raise ServingError(f"the server answered with an error: {body['error']}")
    predictions = body.get("predictions")
    if not isinstance(predictions, list):
        raise ServingError("the server's answer has no 'predictions' list")
    out = []
    for p in predictions:
        try:
            out.append({"digit": int(p["digit"]), "confidence": float(p["confidence"]),
                        "probabilities": [float(v) for v in p["probabilities"]]})
        except (KeyError, TypeError, ValueError) as e:
            raise ServingError(f"unexpected prediction format ({e}): {str(p)[:200]}") from None
    return out


def tensor_request(images) -> dict:
    """A ``serving_default`` request for float images [B,H,W,1] in [0,1] (nested lists, row format)."""
    return {"signature_name": "serving_default",
            "instances": [{"image": [[[float(v) for v in px] for px in row] for row in image]} for image in images]}


def probabilities(url: str, images, timeout: float = 30.0) -> list[list[float]]:
    """Float images [B,H,W,1] -> each one's probabilities, through ``serving_default`` in one request."""
    return [r["probabilities"] for r in _post(url, tensor_request(images), timeout)]


def predict(url: str, images: list[bytes], timeout: float = 30.0, **options) -> list[dict]:
    return _post(url, build_request(images, **options), timeout)


def _post(url: str, body: dict, timeout: float) -> list[dict]:
    payload = json.dumps(body).encode()
    request = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return parse_response(response.read())
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        try:
            message = json.loads(body).get("error", body)
        except json.JSONDecodeError:
            message = body
        raise ServingError(f"TF Serving at {url} answered HTTP {e.code}: {message[:500]}") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise ServingError(f"cannot reach TF Serving at {url}: {reason}") from None
