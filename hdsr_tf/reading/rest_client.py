"""A TF Serving REST client for the exported hybrid and line reader (the standard library, numpy and
OpenCV: no TensorFlow).

Requests use TF Serving's row format: ``{"signature_name": ..., "instances":
[{"image_bytes": {"b64": ...}}, ...]}``; binary inputs must be base64 under a
``b64`` key and their input name must end in ``_bytes``, which ours does.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import numpy as np

from hdsr_tf.errors import HdsrError, UsageError
from hdsr_tf.reading.line_reading import LineReading
from hdsr_tf.signatures import drawing


class ServingError(HdsrError, RuntimeError):
    """The server could not be reached or answered with an error; ``status`` is the HTTP code and
    ``detail`` the server's own one-line message, when it answered."""

    def __init__(self, message: str, status: int | None = None, detail: str = ""):
        super().__init__(message)
        self.status, self.detail = status, detail


def model_url(base_url: str, model: str = "hybrid", version: int | None = None) -> str:
    """http://host:8501 -> http://host:8501/v1/models/hybrid[/versions/N]:predict"""
    url = base_url.rstrip("/")
    if ":predict" in url:
        return url
    path = f"/v1/models/{model}" + (f"/versions/{version}" if version else "")
    return url + path + ":predict"


def build_request(images: list[bytes], signature: str = "read_image_bytes",
                  invert: int | None = None, normalize: int | None = None) -> dict:
    """A predict request for encoded images; ``invert``/``normalize`` (-1/0/1) pick the options signature.
    The reading signatures are asked for (no ``sr_image``, several times faster); :func:`_post` falls back
    to the drawing ones on a server whose export predates them."""
    instances = []
    for data in images:
        item = {"image_bytes": {"b64": base64.b64encode(data).decode("ascii")}}
        if invert is not None or normalize is not None:
            signature = "read_image_bytes_options"
            item["invert"] = -1 if invert is None else int(invert)
            item["normalize"] = -1 if normalize is None else int(normalize)
        instances.append(item)
    return {"signature_name": signature, "instances": instances}


def _body(body: dict | str | bytes) -> dict:
    """TF Serving's response as a dict with a ``predictions`` list; ServingError otherwise."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as e:
            raise ServingError(f"the server's answer is not JSON: {e}") from None
    if "error" in body:
        raise ServingError(f"the server answered with an error: {body['error']}")
    if not isinstance(body.get("predictions"), list):
        raise ServingError("the server's answer has no 'predictions' list")
    return body


def parse_response(body: dict | str | bytes) -> list[dict]:
    """TF Serving's response -> one dict per image: digit, confidence, probabilities."""
    out = []
    for p in _body(body)["predictions"]:
        try:
            out.append({"digit": int(p["digit"]), "confidence": float(p["confidence"]),
                        "probabilities": [float(v) for v in p["probabilities"]],
                        "error": str(p.get("error") or "") or None,  # per-item refusals (exports >= 3)
                        **({"no_digit": float(p["no_digit"])} if "no_digit" in p else {})})  # exports >= 4
        except (KeyError, TypeError, ValueError) as e:
            raise ServingError(f"unexpected prediction format ({e}): {str(p)[:200]}") from None
    return out


def tensor_request(images) -> dict:
    """A ``read`` request for float images [B,H,W,1] in [0,1] (nested lists, row format)."""
    return {"signature_name": "read",
            "instances": [{"image": [[[float(v) for v in px] for px in row] for row in image]} for image in images]}


def read_tensors(url: str, images, timeout: float = 30.0) -> dict:
    """Float images [B,H,W,1] -> the served outputs as arrays (``probabilities``, ``digit``, and ``no_digit``
    from exports with a detector), through ``read`` (or ``serving_default``) in one request."""
    answers = _post(url, tensor_request(images), timeout)
    out = {"probabilities": np.asarray([r["probabilities"] for r in answers], np.float32).reshape(-1, 10),
           "digit": np.asarray([r["digit"] for r in answers], np.int64)}
    if answers and all("no_digit" in r for r in answers):
        out["no_digit"] = np.asarray([r["no_digit"] for r in answers], np.float32)
    return out


def read_line_frames(url: str, lines, timeout: float = 30.0) -> np.ndarray:
    """Lines float32 [B, H, W, 1] -> the served line reader's ``frame_probabilities`` [B, W/4, 11], in one
    request (``export.export_line_reader``)."""
    body = {"signature_name": "serving_default",
            "instances": [{"line": np.asarray(line, np.float32).round(4).tolist()} for line in lines]}
    answer = _body(_call(url, timeout, json.dumps(body).encode()))
    try:  # one output: TF Serving may leave out its name
        frames = [p["frame_probabilities"] if isinstance(p, dict) else p for p in answer["predictions"]]
        return np.asarray(frames, np.float32).reshape(len(lines), -1, 11)
    except (KeyError, TypeError, ValueError) as e:
        raise ServingError(f"unexpected line reader answer ({e}): {str(answer)[:200]}") from None


class ServedLineReader(LineReading):
    """The line reader served by TF Serving at ``url`` (its ``:predict`` address)."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url, self.timeout = url, timeout

    def frames(self, lines: np.ndarray) -> np.ndarray:
        return read_line_frames(self.url, lines, self.timeout)


def predict(url: str, images: list[bytes], timeout: float = 30.0, **options) -> list[dict]:
    return _post(url, build_request(images, **options), timeout)


def _post(url: str, body: dict, timeout: float) -> list[dict]:
    """The request's answers; a server without the reading signature asked for (exports before version 5)
    is asked again through its drawing twin, which every version has."""
    try:
        return parse_response(_call(url, timeout, json.dumps(body).encode()))
    except ServingError as e:
        older = drawing(body["signature_name"])
        if e.status != 400 or older == body["signature_name"] or "signature" not in e.detail.lower():
            raise
        return parse_response(_call(url, timeout, json.dumps({**body, "signature_name": older}).encode()))


def _call(url: str, timeout: float, payload: bytes | None = None) -> bytes:
    """POST ``payload`` (or GET without one); any failure becomes one ServingError line."""
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    request = urllib.request.Request(url, data=payload, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        try:
            message = json.loads(body).get("error", body)
        except (json.JSONDecodeError, AttributeError):
            message = body
        first_line = (str(message).strip().splitlines() or [""])[0][:500]  # TF appends graph-node lines
        raise ServingError(f"TF Serving at {url} answered HTTP {e.code}: {first_line}", e.code, first_line) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise ServingError(f"cannot reach TF Serving at {url}: {reason}") from None


def predict_in_batches(url: str, images: list[bytes], batch_size: int = 64, timeout: float = 30.0,
                       **options) -> list[dict]:
    """One result per image, sent ``batch_size`` at a time. A batch the server refuses as a whole (HTTP
    400: an item only the decoder finds broken) is sent again item by item, so the bad item gets its own
    ``error`` and the others their answers; an unreachable server still raises."""
    if batch_size < 1:
        raise UsageError(f"the batch size must be positive, not {batch_size}")
    results = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        try:
            results += predict(url, batch, timeout, **options)
        except ServingError as e:
            if e.status != 400:
                raise
            for data in batch:
                try:
                    results += predict(url, [data], timeout, **options)
                except ServingError as item_error:
                    if item_error.status != 400:
                        raise
                    results.append({"digit": None, "confidence": None, "probabilities": None,
                                    "error": item_error.detail})
    return results


def _get(url: str, timeout: float) -> dict:
    body = _call(url, timeout)
    try:
        return json.loads(body)
    except json.JSONDecodeError as e:
        raise ServingError(f"the server's answer at {url} is not JSON: {e}") from None


def model_status(base_url: str, model: str = "hybrid", version: int | None = None,
                 timeout: float = 10.0) -> tuple[dict, dict]:
    """TF Serving's model status and metadata endpoints: (``GET /v1/models/<model>``,
    ``GET /v1/models/<model>[/versions/N]/metadata``)."""
    root = base_url.rstrip("/").split("/v1/")[0] + f"/v1/models/{model}"
    versioned = root + (f"/versions/{version}" if version else "")
    return _get(versioned, timeout), _get(versioned + "/metadata", timeout)


def describe_status(status: dict, metadata: dict) -> str:
    """The two answers of :func:`model_status` as lines a person reads."""
    lines = []
    for v in status.get("model_version_status", []):
        err = v.get("status", {})
        lines.append(f"version {v.get('version')}: {v.get('state')}"
                     + (f" ({err.get('error_code')}: {err.get('error_message')})" if err.get("error_message") else ""))
    spec = metadata.get("model_spec", {})
    lines.append(f"metadata of {spec.get('name', '?')} version {spec.get('version', '?')}:")
    defs = metadata.get("metadata", {}).get("signature_def", {}).get("signature_def", {})
    for name, sig in sorted(defs.items()):
        def fmt(tensors):
            return ", ".join(f"{k} {t.get('dtype', '?')}" for k, t in sorted(tensors.items()))
        lines.append(f"  {name}: ({fmt(sig.get('inputs', {}))}) -> ({fmt(sig.get('outputs', {}))})")
    return "\n".join(lines)
