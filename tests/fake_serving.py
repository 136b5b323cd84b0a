"""A local stand-in for TF Serving's REST API, answering from a real exported SavedModel.

TF Serving's binary cannot be installed here, so the client is tested against
this: it loads the SavedModel the way TF Serving does (its signatures), answers
``POST /v1/models/<name>[/versions/N]:predict`` in row format (base64 ``b64``
inputs; a TensorFlow error becomes HTTP 400 with ``{"error": ...}``, as TF
Serving does), and the status and metadata endpoints. It counts requests.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import tensorflow as tf

from hdsr_tf.reading.predictor import tf_cause


class FakeTFServing:
    def __init__(self, version_dir: Path, name: str = "hybrid"):
        self.name, self.version = name, Path(version_dir).name
        self.signatures = tf.saved_model.load(str(version_dir)).signatures
        self.requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()

    def predict(self, body: dict) -> tuple[int, dict]:
        name = body.get("signature_name") or "serving_default"
        if name not in self.signatures:  # TF Serving's own words
            return 400, {"error": f'Serving signature name: "{name}" not found in signature def'}
        fn = self.signatures[name]
        rows = body["instances"]
        inputs = {}
        for key, spec in fn.structured_input_signature[1].items():
            values = [r[key] if isinstance(r, dict) else r for r in rows]
            if spec.dtype == tf.string:
                values = [base64.b64decode(v["b64"]) for v in values]
            inputs[key] = tf.constant(values, spec.dtype) if values else tf.zeros([0], spec.dtype)
        try:
            out = fn(**inputs)
        except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
            return 400, {"error": tf_cause(e)}  # TF Serving reports the failing op's own message

        def plain(v):
            v = v.numpy()
            return [x.decode() for x in v] if v.dtype == object else np.asarray(v).tolist()

        columns = {k: plain(v) for k, v in out.items()}
        return 200, {"predictions": [{k: columns[k][i] for k in columns} for i in range(len(rows))]}

    def metadata(self) -> dict:
        defs = {}
        for name, fn in self.signatures.items():
            defs[name] = {"inputs": {k: {"dtype": f"DT_{s.dtype.name.upper()}"}
                                     for k, s in fn.structured_input_signature[1].items()},
                          "outputs": {k: {"dtype": f"DT_{s.dtype.name.upper()}"}
                                      for k, s in fn.structured_outputs.items()},
                          "method_name": "tensorflow/serving/predict"}
        return {"model_spec": {"name": self.name, "signature_name": "", "version": self.version},
                "metadata": {"signature_def": {"signature_def": defs}}}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, code: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                match = re.fullmatch(rf"/v1/models/{fake.name}(/versions/\d+)?(/metadata)?", self.path)
                if not match:
                    return self._send(404, {"error": f"Servable not found for request: {self.path}"})
                if match.group(2):
                    return self._send(200, fake.metadata())
                self._send(200, {"model_version_status": [{"version": fake.version, "state": "AVAILABLE",
                                                           "status": {"error_code": "OK", "error_message": ""}}]})

            def do_POST(self):
                if not re.fullmatch(rf"/v1/models/{fake.name}(/versions/\d+)?:predict", self.path):
                    return self._send(404, {"error": f"Servable not found for request: {self.path}"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                self._send(*fake.predict(body))

            def log_message(self, *args):
                pass

        return Handler
