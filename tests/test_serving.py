"""The TF Serving client, offline: request building, response parsing, and both failure kinds.

The server binary cannot be installed here; a live test runs only when TF_SERVING_URL is set.
"""

import base64
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import tensorflow as tf
from conftest import ROOT, run_script

from hdsr_tf.reading.rest_client import ServingError, build_request, model_url, parse_response, predict


def test_model_url():
    assert model_url("http://h:8501/") == "http://h:8501/v1/models/hybrid:predict"
    assert model_url("http://h:8501", "m", 3) == "http://h:8501/v1/models/m/versions/3:predict"


def test_request_uses_b64_instances():
    req = build_request([b"\x89PNG", b"abc"])
    assert req["signature_name"] == "read_image_bytes"
    assert base64.b64decode(req["instances"][1]["image_bytes"]["b64"]) == b"abc"
    opts = build_request([b"x"], invert=1)
    assert opts["signature_name"] == "read_image_bytes_options"
    assert opts["instances"][0]["invert"] == 1 and opts["instances"][0]["normalize"] == -1


def test_response_parsing():
    body = {"predictions": [{"digit": 7, "confidence": 0.9, "probabilities": [0.01] * 10, "sr_image": []}]}
    assert parse_response(json.dumps(body))[0]["digit"] == 7
    with pytest.raises(ServingError, match="answered with an error: bad"):
        parse_response({"error": "bad"})
    with pytest.raises(ServingError, match="not JSON"):
        parse_response("<html>")
    with pytest.raises(ServingError, match="no 'predictions'"):
        parse_response({"outputs": {}})


class _Fake(BaseHTTPRequestHandler):
    def do_POST(self):
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if data["instances"][0]["image_bytes"]["b64"] == base64.b64encode(b"bad").decode():
            self.send_response(400)
            self.end_headers()
            self.wfile.write(json.dumps({"error": "Invalid PNG data, size 3"}).encode())
            return
        self.send_response(200)
        self.end_headers()
        preds = [{"digit": 3, "confidence": 0.5, "probabilities": [0.1] * 10} for _ in data["instances"]]
        self.wfile.write(json.dumps({"predictions": preds}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_server():
    server = HTTPServer(("127.0.0.1", 0), _Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_round_trip_and_error_response(fake_server):
    url = model_url(fake_server)
    assert [r["digit"] for r in predict(url, [b"a", b"b"])] == [3, 3]
    with pytest.raises(ServingError, match="HTTP 400: Invalid PNG data"):
        predict(url, [b"bad"])


def test_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(ServingError, match="cannot reach TF Serving"):
        predict("http://127.0.0.1:9/v1/models/hybrid:predict", [b"x"], timeout=5)
    from hdsr_tf.data.headers import blank_png

    img = tmp_path / "a.png"
    img.write_bytes(blank_png(28, 28))  # a real image, so the client's own header check lets it through
    proc = run_script("serving_client.py", "--url", "http://127.0.0.1:9", img, "--timeout", "5", timeout=120)
    assert proc.returncode == 2 and "cannot reach TF Serving" in proc.stderr and "Traceback" not in proc.stderr
    (tmp_path / "b.png").write_bytes(b"x")  # not an image: refused on the client, as the server would refuse it
    proc = run_script("serving_client.py", "--url", "http://127.0.0.1:9", tmp_path / "b.png", timeout=120)
    assert proc.returncode == 1 and "b.png\terror: unknown image format" in proc.stdout


@pytest.mark.skipif(not os.environ.get("TF_SERVING_URL"), reason="set TF_SERVING_URL to test a live server")
def test_live_server(tmp_path):
    import cv2
    import tensorflow as tf
    from conftest import draw_digit

    from hdsr_tf.export import latest_version

    data = cv2.imencode(".png", draw_digit(4, (80, 60)))[1].tobytes()
    result = predict(model_url(os.environ["TF_SERVING_URL"]), [data])
    # the server answers what the SavedModel it serves answers when loaded here
    local = tf.saved_model.load(str(latest_version(ROOT / "saved_models" / "hybrid")))
    want = local.signatures["predict_image_bytes"](image_bytes=tf.constant([data]))
    assert result[0]["digit"] == int(want["digit"][0])
    assert result[0]["confidence"] == pytest.approx(float(want["confidence"][0]), abs=1e-4)


@pytest.fixture(scope="module")
def served(tiny_shipped):
    from fake_serving import FakeTFServing

    with FakeTFServing(tiny_shipped / "hybrid" / "1") as fake:
        yield fake


def _digits(tmp_path, n):
    import cv2
    from conftest import draw_digit

    paths = []
    for i in range(n):
        paths.append(tmp_path / f"d{i}.png")
        cv2.imwrite(str(paths[-1]), draw_digit(i % 10, (40, 40)))
    return paths


@pytest.mark.slow
def test_client_sends_batches_of_the_chosen_size(served, tmp_path):
    paths = _digits(tmp_path, 5)
    before = len(served.requests)
    proc = run_script("serving_client.py", "--url", served.url, "--batch-size", "2", *paths, check=True)
    assert [len(r["instances"]) for r in served.requests[before:]] == [2, 2, 1]
    lines = proc.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(p) for p in paths]
    local = served.signatures["predict_image_bytes"](image_bytes=tf.constant([p.read_bytes() for p in paths]))
    assert [int(line.split("\t")[1]) for line in lines] == local["digit"].numpy().tolist()


def test_a_batch_the_server_refuses_is_retried_item_by_item(served, tmp_path):
    import cv2
    from conftest import draw_digit

    paths = _digits(tmp_path, 3)
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(cv2.imencode(".png", draw_digit(1, (40, 40)))[1].tobytes()[:60])  # only the decoder sees it
    unreadable = tmp_path / "missing.png"
    before = len(served.requests)
    proc = run_script("serving_client.py", "--url", served.url, paths[0], damaged, unreadable, paths[1], paths[2])
    assert proc.returncode == 1
    lines = dict(line.split("\t", 1) for line in proc.stdout.strip().splitlines())
    assert lines[str(damaged)].startswith("error: ") and "PNG" in lines[str(damaged)]
    assert lines[str(unreadable)].startswith("error: cannot read")
    for p in paths:
        assert lines[str(p)].split("\t")[0].isdigit()
    sizes = [len(r["instances"]) for r in served.requests[before:]]
    assert sizes == [4, 1, 1, 1, 1]  # the refused batch, then each of its images alone


def test_header_problems_come_back_per_item_in_one_request(served, tmp_path):
    paths = _digits(tmp_path, 2)
    empty_tiff = tmp_path / "scan.tif"
    empty_tiff.write_bytes(b"II*\0" + b"\0" * 100)
    before = len(served.requests)
    proc = run_script("serving_client.py", "--url", served.url, paths[0], empty_tiff, paths[1])
    assert proc.returncode == 1 and len(served.requests) == before + 1
    assert f"{empty_tiff}\terror: unknown image format" in proc.stdout


def test_status_reads_versions_and_signatures(served):
    proc = run_script("serving_client.py", "--url", served.url, "--status", check=True)
    assert "version 1: AVAILABLE" in proc.stdout
    assert "predict_image_bytes: (image_bytes DT_STRING) -> (" in proc.stdout and "error DT_STRING" in proc.stdout
    missing = run_script("serving_client.py", "--url", served.url, "--model", "nope", "--status")
    assert missing.returncode == 2 and "HTTP 404" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_client_asks_for_reading_and_falls_back_on_an_export_without_it(tmp_path):
    """An export before version 5 has no ``read_image_bytes``: the client asks for it, is told so (HTTP 400,
    as TF Serving answers), and gets the same answers through ``predict_image_bytes``."""
    from fake_serving import FakeTFServing

    paths = _digits(tmp_path, 3)
    with FakeTFServing(ROOT / "saved_models" / "hybrid" / "4") as old:
        assert "read_image_bytes" not in old.signatures
        results = predict(model_url(old.url), [p.read_bytes() for p in paths])
        asked = [r["signature_name"] for r in old.requests]
    assert asked == ["read_image_bytes", "predict_image_bytes"]
    want = old.signatures["predict_image_bytes"](image_bytes=tf.constant([p.read_bytes() for p in paths]))
    assert [r["digit"] for r in results] == want["digit"].numpy().tolist()


def test_the_rest_client_imports_no_tensorflow():
    """A client machine needs neither TensorFlow nor Keras to talk to TF Serving."""
    code = ("import sys, hdsr_tf.reading.rest_client; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
