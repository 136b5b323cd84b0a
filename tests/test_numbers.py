"""Reading whole numbers: segmentation on hand-made lines, the CLI's JSON, the serving client, the evaluation."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import cv2
import numpy as np
import pytest
from conftest import run_script

from hdsr_tf.data.framing import to_ink
from hdsr_tf.reading import cut_reader, segmenter


def whole(lattice):
    """The segment that reads the blob as one digit (left edge to right edge), or None."""
    return next((part for i, j, part in lattice.segments if (i, j) == (0, lattice.nodes - 1)), None)



def glyph(char: str, height: int = 24) -> np.ndarray:
    """One handwriting-free digit shape, white on black, cropped to its ink."""
    canvas = np.zeros((60, 60), np.uint8)
    cv2.putText(canvas, char, (8, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 255, 4, cv2.LINE_AA)
    ys, xs = np.nonzero(canvas > 40)
    ink = canvas[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    return cv2.resize(ink, (max(1, round(ink.shape[1] * height / ink.shape[0])), height))


def line(text: str, gap: int = 6, dark_on_light: bool = True) -> np.ndarray:
    """The characters of ``text`` side by side (gap may be negative: overlapping), on a 40-px line."""
    glyphs = [glyph(c) for c in text]
    width = sum(g.shape[1] for g in glyphs) + gap * (len(glyphs) - 1) + 16
    canvas, x = np.zeros((40, width), np.uint8), 8
    for g in glyphs:
        h, w = g.shape
        canvas[8:8 + h, x:x + w] = np.maximum(canvas[8:8 + h, x:x + w], g)
        x += w + gap
    return 255 - canvas if dark_on_light else canvas


def slots(image):
    return segmenter.segment(to_ink(image))


def test_separated_digits_are_found_left_to_right():
    found = slots(line("3571"))
    assert len(found) == 4
    assert all(whole(lattice) is not None for lattice in found)  # each may be read as one digit
    xs = [whole(lattice)[0][0] for lattice in found]
    assert xs == sorted(xs)


def test_light_on_dark_gives_the_same_boxes_as_dark_on_light():
    def boxes(im):
        return [[(i, j, part[0]) for i, j, part in lattice.segments] for lattice in slots(im)]

    assert boxes(line("2468", dark_on_light=False)) == boxes(line("2468"))


def test_touching_digits_offer_a_cut_into_two():
    found = slots(line("50", gap=-2))
    assert len(found) == 1  # one blob ...
    last = found[0].nodes - 1
    spans = {(i, j) for i, j, _ in found[0].segments}
    assert any((0, k) in spans and (k, last) in spans for k in range(1, last))  # ... that may be read as two digits
    apart = slots(line("50"))
    assert len(apart) == 2 and all(whole(lattice) is not None for lattice in apart)  # apart: two blobs, each whole


def test_a_broken_stroke_is_joined_and_a_speck_dropped():
    image = line("7")
    ink_rows = np.flatnonzero((255 - image).max(axis=1) > 0)
    middle = (ink_rows[0] + ink_rows[-1]) // 2
    image[middle - 1:middle + 2, :] = 255  # a break through the digit
    image[2:4, -5:-3] = 0  # a speck far from it
    found = slots(image)
    assert len(found) == 1
    box = whole(found[0])[0]
    assert box[3] >= 0.9 * (ink_rows[-1] - ink_rows[0] + 1)  # the whole digit's height, both pieces


def test_a_ruled_line_is_erased():
    image = line("4821")
    plain = [whole(lattice)[0] for lattice in slots(image)]
    ruled = image.copy()
    ruled[30:32, :] = 0  # a ruled line through the lower part of every digit
    found = slots(ruled)
    assert len(found) == 4
    for (x, _, w, _), lattice in zip(plain, found):
        box = whole(lattice)[0]
        assert abs(box[0] - x) <= 1 and abs(box[2] - w) <= 2


def test_no_ink_reads_as_no_number():
    blank = np.full((40, 120), 200, np.uint8)
    noisy = np.clip(blank + np.random.default_rng(0).normal(0, 8, blank.shape), 0, 255).astype(np.uint8)
    calls = []
    reads = cut_reader.read_numbers([blank, noisy],
                                    lambda crops: calls.append(len(crops)) or np.zeros((len(crops), 10)))
    assert [r.number for r in reads] == ["", ""] and all(not r.digits for r in reads)


def test_all_crops_of_all_images_are_read_in_one_batch():
    calls = []

    def reader(crops):
        calls.append(crops.shape)
        return np.tile(np.eye(10, dtype=np.float32)[7], (len(crops), 1))

    reads = cut_reader.read_numbers([line("12"), line("345"), line("6")], reader)
    assert len(calls) == 1 and calls[0][1:] == (28, 28, 1)
    assert [r.number for r in reads] == ["77", "777", "7"]
    assert reads[1].confidence == pytest.approx(1.0) and [d.box[0] for d in reads[1].digits] == sorted(
        d.box[0] for d in reads[1].digits)


@pytest.mark.slow
def test_predict_number_json_schema_and_per_file_errors(number_folder, tmp_path):
    proc = run_script("predict.py", "--number", "--line-reader", "none", "--format", "json", number_folder,
                      "--boxes-dir", tmp_path / "boxes", timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]  # one file failed; the others were read
    records = {r["path"].split("/")[-1]: r for r in json.loads(proc.stdout)}
    assert len(records) == 4 and {"blank.png", "corrupt.png"} <= set(records)
    for name, r in records.items():
        assert set(r) == {"path", "number", "confidence", "digits", "error"}
    corrupt = records["corrupt.png"]
    assert corrupt["error"].startswith("unknown image format") and corrupt["number"] is None
    assert records["blank.png"] == {**records["blank.png"], "number": "", "digits": [], "error": None}
    for name in (n for n in records if n.startswith("n")):
        r = records[name]
        assert r["error"] is None and len(r["number"]) == 5 and len(r["digits"]) == 5
        assert r["confidence"] == pytest.approx(np.prod([d["confidence"] for d in r["digits"]]))
        assert [d["digit"] for d in r["digits"]] == [int(c) for c in r["number"]]
        lefts = [d["box"][0] for d in r["digits"]]
        assert lefts == sorted(lefts) and all(len(d["box"]) == 4 for d in r["digits"])
    drawn = sorted(p.name for p in (tmp_path / "boxes").rglob("*.png"))
    assert drawn == sorted(f"{n}.boxes.png" for n in records if n != "corrupt.png")


class _FakeServing(BaseHTTPRequestHandler):
    requests: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        shapes = {np.asarray(i["image"]).shape for i in body["instances"]}
        preds = [{"digit": 4, "confidence": 1.0, "probabilities": list(np.eye(10)[4])} for _ in body["instances"]]
        self.send_response(200 if shapes == {(28, 28, 1)} else 400)
        self.end_headers()
        self.wfile.write(json.dumps({"predictions": preds}).encode())

    def log_message(self, *args):
        pass


def test_serving_client_reads_numbers_with_one_request(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _FakeServing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for name, text in (("a.png", "12"), ("b.png", "305")):
            cv2.imwrite(str(tmp_path / name), line(text))
        proc = run_script("serving_client.py", "--number", "--url", f"http://127.0.0.1:{server.server_port}",
                          tmp_path / "a.png", tmp_path / "b.png", timeout=120)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [ln.split("\t")[1] for ln in proc.stdout.strip().splitlines()] == ["44", "444"]
    assert len(_FakeServing.requests) == 1 and _FakeServing.requests[0]["signature_name"] == "read"
    assert len(_FakeServing.requests[0]["instances"]) >= 5  # every candidate crop of both images, at once


@pytest.mark.slow
def test_evaluate_numbers_end_to_end_on_a_tiny_seeded_set(tmp_path, mnist_ready):
    """Every row but the 10 px ones (--heights), each number enlarged 2x by bicubic first (--upscale)."""
    out = tmp_path / "numbers"
    run_script("evaluate_numbers.py", "--n", "3", "--out", out, "--heights", "full,7px", "--upscale", "bicubic",
               "--scale", "2", check=True, timeout=600)
    data = json.loads((out / "numbers.json").read_text())
    assert data["meta"]["n"] == 3 and data["meta"]["digits"] == "MNIST test split"
    assert data["meta"]["upscaled"] == "bicubic, 2x"
    assert len(data["rows"]) == 10 and len(list((out / "examples").glob("*.png"))) == 10
    assert not any("10px" in row["condition"] for row in data["rows"])
    for row in data["rows"]:
        assert row["n"] == 3 and row["string_accuracy"] <= row["digit_accuracy"] + 1e-9
        assert {"baseline_string_accuracy", "baseline_digit_accuracy"} <= set(row)
    from hdsr_tf.data import mnist
    from hdsr_tf.evaluation import numbers as ev

    x, y = mnist.load_arrays("test")
    condition = ev.NumberCondition("touching", "7px", "light_on_dark")
    first, second = ev.make_set(x, y, condition, 3, 0), ev.make_set(x, y, condition, 3, 0)
    assert first[1] == second[1] and all(np.array_equal(a, b) for a, b in zip(first[0], second[0]))  # seeded


def test_numbers_are_read_after_the_enlarging_step(mnist_ready):
    """``enlarge`` gets every composed number, and what it returns is what the readers read."""
    from hdsr_tf.data import mnist
    from hdsr_tf.evaluation import numbers as ev

    x, y = mnist.load_arrays("test")
    condition, seen = ev.NumberCondition("separated", "7px", "dark_on_light"), []

    def reader(crops):  # reads every crop as a confident 3
        return np.tile(np.eye(10, dtype=np.float32)[3], (len(crops), 1))

    def enlarge(blank):
        def run(image):
            seen.append(image.shape)
            return np.full_like(image, 255) if blank else cv2.resize(image, None, fx=2, fy=2)
        return run

    composed = ev.make_set(x, y, condition, 4, 0)[0]
    read = ev.evaluate(x, y, reader, [condition], 4, enlarge=enlarge(False))[0]
    assert seen == [c.shape for c in composed] and read["digit_accuracy"] > 0
    assert ev.evaluate(x, y, reader, [condition], 4, enlarge=enlarge(True))[0]["digit_accuracy"] == 0  # nothing read


def test_crops_the_model_calls_no_digit_are_left_out():
    slots = [segmenter.Lattice(2, [(0, 1, ([10 * k, 0, 8, 20], k))]) for k in range(3)]  # three blobs, one crop each
    probs = np.eye(10, dtype=np.float32)[[1, 7, 4]]
    read = cut_reader.assemble(slots, {"probabilities": probs, "digit": np.array([1, -1, 4]),
                                    "no_digit": np.array([0.0, 0.99, 0.0], np.float32)})
    assert read.number == "14" and [d.box[0] for d in read.digits] == [0, 20]  # the stray mark is dropped
    assert cut_reader.assemble(slots, probs).number == "174"  # a reader without a detector reads every crop


def test_the_detector_decides_whether_a_touching_blob_is_one_digit_or_two():
    image = line("50", gap=-2)  # one blob

    def reader(merged_is_a_digit):
        def read(crops):  # every crop read confidently; the detector judges the widest (the whole blob)
            widths = np.array([(c[..., 0] > 0.2).any(0).sum() for c in crops])
            whole = widths == widths.max()
            no_digit = np.where(whole, 0.0 if merged_is_a_digit else 0.999, 0.0).astype(np.float32)
            probs = np.tile(np.eye(10, dtype=np.float32)[3] * 0.99 + 0.001, (len(crops), 1))
            return {"probabilities": probs, "digit": np.full(len(crops), 3), "no_digit": no_digit}
        return read

    assert cut_reader.read_numbers([image], reader(merged_is_a_digit=False))[0].number == "33"
    assert cut_reader.read_numbers([image], reader(merged_is_a_digit=True))[0].number == "3"


def test_a_stray_mark_stands_among_the_digits_but_not_in_the_label(mnist_ready):
    from hdsr_tf.data import mnist
    from hdsr_tf.evaluation import numbers as ev

    x, y = mnist.load_arrays("test")
    plain = ev.make_set(x, y, ev.NumberCondition("separated", "full", "dark_on_light"), 20, seed=0)
    marked = ev.make_set(x, y, ev.NumberCondition("separated", "full", "dark_on_light", mark=True), 20, seed=0)
    assert all(len(label) == 5 for label in marked[1])
    blobs = [len(slots(image)) for image in marked[0]]
    assert np.mean([b >= 6 for b in blobs]) >= 0.5  # five digits and the mark (a faint smudge may not count)
    assert np.mean([len(slots(image)) == 5 for image in plain[0]]) >= 0.9
