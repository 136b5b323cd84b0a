"""The line reader: training lines, the model's shapes and loss, CTC decoding, boxes, the "no digit" erasure,
training and resuming, and predict.py reading numbers with it."""

import json

import numpy as np
import pytest
from conftest import run_script
from test_numbers import line

from hdsr_tf.data import lines
from hdsr_tf.models.crnn import build_line_reader, ctc_loss
from hdsr_tf.models.ctc import BLANK, STRIDE, decode_frames, softmax
from hdsr_tf.reading.line_reading import LineReading


def whole(lattice):
    """The segment that reads the blob as one digit (left edge to right edge), or None."""
    return next((part for i, j, part in lattice.segments if (i, j) == (0, lattice.nodes - 1)), None)



@pytest.fixture(scope="module")
def digits():
    rng = np.random.default_rng(0)
    images = np.zeros((30, 28, 28), np.uint8)
    for i in range(30):  # a filled box per "digit": ink enough to compose lines from
        h, w = rng.integers(12, 20), rng.integers(6, 16)
        images[i, 4:4 + h, 6:6 + w] = 255
    return images, np.arange(30) % 10


def test_training_lines_have_the_reader_shape_labels_and_seeds(digits):
    x, y = lines.make_lines(*digits, 40, seed=5, distractors=0.0)
    assert x.shape == (40, lines.HEIGHT, lines.MAX_WIDTH) and x.dtype == np.uint8
    assert y.shape == (40, 1 + lines.MAX_DIGITS)
    lengths = y[:, 0]
    assert lengths.min() >= lines.TRAIN_LENGTHS[0] and lengths.max() <= lines.TRAIN_LENGTHS[1]
    assert len(set(lengths)) > 2  # lengths vary
    for row in y:
        assert (row[1 + row[0]:] == 0).all()  # padded after the number
    assert all(x[i].max() > 150 for i in range(40))  # every line holds ink
    x2, y2 = lines.make_lines(*digits, 40, seed=5, distractors=0.0)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(lines.make_lines(*digits, 40, seed=6, distractors=0.0)[0], x)


def test_distractor_lines_hold_ink_that_no_label_names(digits):
    _, plain = lines.make_lines(*digits, 200, seed=1, distractors=0.0)
    x, y = lines.make_lines(*digits, 200, seed=1, distractors=1.0)
    assert (plain[:, 0] >= 1).all()
    empty = np.flatnonzero(y[:, 0] == 0)  # lines holding only a mark that is no digit
    assert len(empty) > 0 and all(x[i].max() > 150 for i in empty)


def test_line_input_scales_the_ink_rows_and_maps_columns_back():
    ink = np.zeros((50, 120), np.float32)
    ink[10:30, 40:50] = 1.0  # 20 rows of ink, columns 40-49
    ink[10:30, 80:90] = 1.0
    out, (scale, x0, y0) = lines.line_input(ink)
    assert out.shape[0] == lines.HEIGHT and out.shape[1] % STRIDE == 0
    assert (x0, y0) == (40, 10) and scale == pytest.approx(lines.INK_ROWS / 20)
    rows = np.flatnonzero(out.max(1) > 0.5)
    assert rows[-1] - rows[0] + 1 == lines.INK_ROWS
    cols = np.flatnonzero(out.max(0) > 0.5)
    assert x0 + (cols[0] - 4) / scale == pytest.approx(40, abs=1)
    assert x0 + (cols[-1] - 4) / scale == pytest.approx(89, abs=1)
    blank, _ = lines.line_input(np.zeros((10, 10), np.float32))
    assert blank.max() == 0


def test_the_reader_gives_one_frame_per_four_columns_at_any_width():
    model = build_line_reader((4, 4, 8), units=4)
    for width in (64, 200):
        assert model(np.zeros((2, lines.HEIGHT, width, 1), np.float32)).shape == (2, width // STRIDE, BLANK + 1)


def test_ctc_loss_prefers_frames_that_spell_the_label():
    label = np.array([[2, 3, 3] + [0] * (lines.MAX_DIGITS - 2)], np.int32)  # "33": needs a blank between
    good = np.full((1, 8, 11), -5.0, np.float32)
    for t, c in enumerate([BLANK, 3, BLANK, 3, BLANK, BLANK, BLANK, BLANK]):
        good[0, t, c] = 5.0
    wrong = good.copy()
    wrong[0, 3, 3], wrong[0, 3, 7] = -5.0, 5.0  # spells "37"
    assert float(ctc_loss(label, good)[0]) < 0.1 < 5 < float(ctc_loss(label, wrong)[0])


def test_greedy_decoding_collapses_repeats_and_keeps_blank_separated_doubles():
    frames = [BLANK, 4, 4, BLANK, 4, 1, BLANK]
    probs = np.full((len(frames), 11), 0.01, np.float32)
    for t, c in enumerate(frames):
        probs[t, c] = 0.9
    probs[2, 4] = 0.95
    digits, confidences, spans, path = decode_frames(probs)
    assert digits == [4, 4, 1] and spans == [(1, 2), (4, 4), (5, 5)]
    assert confidences == pytest.approx([0.95, 0.9, 0.9])
    assert decode_frames(np.eye(11, dtype=np.float32)[[BLANK] * 3])[0] == []
    # the reading's probability sums every alignment: more than the best path's, and CTC's own figure
    probs /= probs.sum(-1, keepdims=True)
    best_path = float(np.prod(probs.max(-1)))
    label = np.array([[3, 4, 4, 1] + [0] * (lines.MAX_DIGITS - 3)], np.int32)
    assert decode_frames(probs)[3] > best_path
    assert decode_frames(probs)[3] == pytest.approx(float(np.exp(-ctc_loss(label, np.log(probs)[None])[0])), rel=1e-4)


class _Spelling:
    """Stands in for a trained model: frames that spell ``text``, one digit per blob of the line, at the
    blob's centre (spread evenly over the ink when one blob holds them all: touching)."""

    def __init__(self, text):
        self.text = text

    def __call__(self, x, training=False):
        out = np.full((len(x), x.shape[2] // STRIDE, 11), -9.0, np.float32)
        out[..., BLANK] = 9.0
        for n in range(len(x)):
            cols = x[n, :, :, 0].max(0) > 0.3
            starts = np.flatnonzero(cols & ~np.r_[False, cols[:-1]])
            ends = np.flatnonzero(cols & ~np.r_[cols[1:], False])
            if len(starts) == 1 < len(self.text):  # one blob for several digits: touching
                edges = np.linspace(starts[0], ends[-1], len(self.text) + 1).astype(int)
                starts, ends = edges[:-1], edges[1:]
            for char, a, b in zip(self.text, starts, ends):
                t = (a + b) // 2 // STRIDE
                out[n, t, BLANK], out[n, t, int(char)] = -9.0, 9.0
        return out


class _FakeReader(LineReading):
    """A line reader whose frames come from ``model``, a fake that spells a given text."""

    def __init__(self, model):
        self.model = model

    def frames(self, lines):
        return softmax(self.model(lines))


def _reader(text):
    return _FakeReader(_Spelling(text))


def test_each_digit_gets_the_box_of_its_own_ink():
    image = line("3571", gap=10)
    read = _reader("3571").read([image])[0]
    assert read.number == "3571" and read.confidence > 0.99
    from hdsr_tf.data.framing import to_ink
    from hdsr_tf.reading import segmenter

    truth = [whole(lattice)[0] for lattice in segmenter.segment(to_ink(image))]
    for d, box in zip(read.digits, truth):
        assert all(abs(a - b) <= 1 for a, b in zip(d.box, box)), (d.box, box)


class _Unsure(_Spelling):
    """Spells ``text`` but hesitates over its first digit: 0.6 for it, 0.4 for ``rival``."""

    def __init__(self, text, rival):
        super().__init__(text)
        self.rival = rival

    def __call__(self, x, training=False):
        out = super().__call__(x, training)
        for n in range(len(out)):
            t = int(np.flatnonzero(out[n, :, BLANK] < 0)[0])  # the first digit's frame
            out[n, t, int(self.text[0])], out[n, t, self.rival] = np.log(0.6) + 20, np.log(0.4) + 20
        return out


def test_a_digit_standing_alone_is_read_again_and_the_readings_multiplied():
    def crops_say_5(crops):
        probs = np.full((len(crops), 10), 0.02 / 9, np.float32)
        probs[:, 5] = 0.98
        return probs

    reader = _reader("38")
    reader.model = _Unsure("38", rival=5)
    separated, touching = line("38", gap=10), line("38", gap=-2)
    assert [r.number for r in reader.read([separated, touching])] == ["38", "38"]
    fused, kept = reader.read([separated, touching], crop_reader=crops_say_5)
    assert fused.number == "58"  # 0.6 x 0.002 for the 3 against 0.4 x 0.98 for the 5; the sure 8 stays
    assert fused.digits[0].confidence == pytest.approx(0.4 * 0.98 / (0.4 * 0.98 + 0.6 * 0.02 / 9), rel=1e-3)
    assert kept.number == "38"  # touching digits do not stand alone: the line's reading stands


def test_an_image_without_ink_reads_as_no_number():
    assert _reader("12").read([np.full((30, 60), 255, np.uint8)])[0].number == ""


@pytest.fixture(scope="module")
def tiny_line_reader(tmp_path_factory, mnist_ready):
    out = tmp_path_factory.mktemp("line_reader")
    proc = run_script("train_line_reader.py", "--lines", "64", "--val-lines", "16", "--epochs", "1", "--limit", "200",
                      "--filters", "4,4,8", "--units", "4", "--out-dir", out, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc.stdout


@pytest.mark.slow
def test_training_writes_a_model_that_loads_in_safe_mode_and_a_rerun_skips(tiny_line_reader):
    out, stdout = tiny_line_reader
    assert "validation lines read whole" in stdout
    summary = json.loads((out / "FINISHED").read_text())
    assert summary["val_lines"] == 16 and 0 <= summary["val_string_accuracy"] <= 1
    from hdsr_tf.reading.line_reading import LineReader

    reader = LineReader(out / "line_reader.keras")
    assert reader.frames(np.zeros((1, lines.HEIGHT, 64, 1), np.float32)).shape == (1, 16, 11)
    again = run_script("train_line_reader.py", "--lines", "64", "--val-lines", "16", "--epochs", "1", "--limit",
                       "200", "--filters", "4,4,8", "--units", "4", "--out-dir", out, timeout=300)
    assert again.returncode == 0 and "already finished" in again.stdout


@pytest.mark.parametrize("setting,message", [({"filters": "8,8"}, "--filters must be three positive integers"),
                                             ({"distractors": 1.5}, "--distractors must be a share"),
                                             ({"lines": 0}, "must be positive")])
def test_bad_settings_are_refused_before_any_work(setting, message):
    from hdsr_tf.config import LineReaderConfig
    from hdsr_tf.training.line_reader import validate

    with pytest.raises(ValueError, match=message):  # scripts print a ValueError as one "error:" line
        validate(LineReaderConfig(**setting))


@pytest.mark.slow
def test_predict_number_with_a_line_reader_keeps_the_schema_and_per_file_errors(number_folder, tiny_line_reader):
    out, _ = tiny_line_reader
    proc = run_script("predict.py", "--number", "--format", "json", "--line-reader", out / "line_reader.keras",
                      number_folder, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]  # the corrupt file failed; the others were read
    records = {r["path"].split("/")[-1]: r for r in json.loads(proc.stdout)}
    assert len(records) == 4 and records["corrupt.png"]["error"].startswith("unknown image format")
    assert records["blank.png"] == {**records["blank.png"], "number": "", "digits": [], "error": None}
    for r in records.values():
        assert set(r) == {"path", "number", "confidence", "digits", "error"}
        if r["error"] is None:
            assert [d["digit"] for d in r["digits"]] == [int(c) for c in r["number"]]
            assert all(len(d["box"]) == 4 for d in r["digits"])
    missing = run_script("predict.py", "--number", "--line-reader", out / "nope.keras", number_folder, timeout=300)
    assert missing.returncode == 2 and "nope.keras not found" in missing.stderr


@pytest.mark.slow
def test_the_served_line_reader_answers_as_the_keras_model(tiny_line_reader, tmp_path):
    import tensorflow as tf

    from hdsr_tf.reading.line_reading import LineReader

    out, _ = tiny_line_reader
    proc = run_script("export_line_reader.py", "--line-reader", out / "line_reader.keras", "--base-dir",
                      tmp_path / "served", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    serve = tf.saved_model.load(str(tmp_path / "served" / "1")).signatures["serving_default"]
    x = np.random.default_rng(0).random((3, lines.HEIGHT, 40, 1)).astype(np.float32)
    served = serve(line=tf.constant(x))["frame_probabilities"].numpy()
    assert served.shape == (3, 10, 11)
    np.testing.assert_allclose(served, LineReader(out / "line_reader.keras").frames(x), atol=1e-5)


class _FakeServers:
    """A hybrid that reads every crop as a 4, and a line reader that spells ``text`` blob by blob."""

    def __init__(self, text):
        from http.server import BaseHTTPRequestHandler, HTTPServer

        spelling, requests = _Spelling(text), []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                requests.append((self.path, len(body["instances"])))
                if "line_reader" in self.path:
                    x = np.asarray([i["line"] for i in body["instances"]], np.float32)
                    logits = spelling(x)
                    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
                    preds = [p.tolist() for p in probs]  # one output: TF Serving leaves out its name
                else:
                    soft = np.full(10, 0.1 / 9)
                    soft[4] = 0.9
                    preds = [{"digit": 4, "confidence": 0.9, "probabilities": soft.tolist(), "no_digit": 0.0}
                             for _ in body["instances"]]
                self.send_response(200)
                self.end_headers()
                self.wfile.write(json.dumps({"predictions": preds}).encode())

            def log_message(self, *args):
                pass

        self.server, self.requests = HTTPServer(("127.0.0.1", 0), Handler), requests

    def __enter__(self):
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}"

    def __exit__(self, *exc):
        self.server.shutdown()


def test_serving_client_reads_numbers_with_the_served_line_reader(tmp_path):
    import cv2

    for name, text in (("a.png", "12"), ("b.png", "305")):
        cv2.imwrite(str(tmp_path / name), line(text, gap=8))
    servers = _FakeServers("12345")
    with servers as url:
        proc = run_script("serving_client.py", "--number", "--line-reader-model", "line_reader", "--url", url,
                          "--format", "json", tmp_path / "a.png", tmp_path / "b.png", timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = json.loads(proc.stdout)
    # the line reader's reading: the hybrid's confident 4s cannot outvote its confident digits
    assert [r["number"] for r in records] == ["12", "123"]
    assert all(len(d["box"]) == 4 for r in records for d in r["digits"])
    # both images' lines in one request, then the digits that stand alone (all five) in another
    assert servers.requests == [("/v1/models/line_reader:predict", 2), ("/v1/models/hybrid:predict", 5)]


def test_a_digit_the_reader_places_past_the_ink_gets_a_box_inside_the_image():
    """A frame mapped past the image's last column once gave OpenCV an empty band (a segfault)."""
    from hdsr_tf.models.ctc import BLANK
    from hdsr_tf.reading.line_reading import _ink_box, _number

    ink = np.zeros((20, 30), np.float32)
    ink[5:15, 2:6] = 1.0
    line = np.zeros((24, 64), np.float32)
    probs = np.full((16, 11), 1e-4, np.float32)
    probs[:, BLANK] = 1.0
    probs[15, 7], probs[15, BLANK] = 1.0, 1e-4  # a 7 seen in the last frame
    read, _ = _number(probs / probs.sum(axis=1, keepdims=True), line, (0.25, 0, 0), ink)
    assert read.number == "7"
    x, y, w, h = read.digits[0].box
    assert 0 <= x < 30 and x + w <= 30
    assert _ink_box(ink, 29, 30, (0, 1))[0][0] == 29
