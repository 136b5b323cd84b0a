"""The exported SavedModel: layout, signatures, agreement with Keras, and a bad-input sweep."""

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import draw_digit, run_script
from PIL import Image

from hdsr_tf import export
from hdsr_tf.models.cnn import build_recognizer, with_no_digit_head
from hdsr_tf.models.hybrid import build_hybrid
from hdsr_tf.models.rrdb import build_generator

OUTPUTS = {"probabilities": (tf.float32, [None, 10]), "digit": (tf.int64, [None]),
           "confidence": (tf.float32, [None]), "sr_image": (tf.float32, [None, 28, 28, 1])}


@pytest.fixture(scope="module")
def exported(tiny_shipped, tmp_path_factory):
    """The tiny hybrid that ``tiny_shipped`` exported once for the session (each export costs 15-30 s of
    tracing), copied so that a test may add versions beside it, with the Keras model it was exported from."""
    from hdsr_tf.models import load_model

    base = tmp_path_factory.mktemp("serving")
    shutil.copytree(tiny_shipped / "hybrid" / "1", base / "1")
    model = load_model(tiny_shipped / "hybrid_x4" / "hybrid.keras")
    path = base / "1"
    return model, base, path, tf.saved_model.load(str(path))


def png(img):
    return cv2.imencode(".png", img)[1].tobytes()


def test_tf_serving_layout_and_versions(exported):
    model, base, path, _ = exported
    assert path == base / "1"
    assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()
    assert (path / "assets" / "labels.txt").read_text().split() == [str(d) for d in range(10)]
    assert export.next_version(base) == 2
    assert export.latest_version(base) == path
    with pytest.raises(FileExistsError):
        export.export_hybrid(model, base, version=1)


def test_signature_names_dtypes_shapes(exported):
    *_, loaded = exported
    sigs = loaded.signatures
    assert set(sigs) == {"serving_default", "predict_image_bytes", "predict_image_bytes_options",
                         "read", "read_image_bytes", "read_image_bytes_options"}
    for drawing, reading in (("serving_default", "read"), ("predict_image_bytes", "read_image_bytes"),
                             ("predict_image_bytes_options", "read_image_bytes_options")):
        assert sigs[drawing].structured_input_signature == sigs[reading].structured_input_signature
    inputs = sigs["serving_default"].structured_input_signature[1]
    assert list(inputs) == ["image"] and inputs["image"].dtype == tf.float32
    assert inputs["image"].shape.as_list() == [None, None, None, 1]
    inputs = sigs["predict_image_bytes"].structured_input_signature[1]
    assert list(inputs) == ["image_bytes"] and inputs["image_bytes"].dtype == tf.string
    assert set(sigs["predict_image_bytes_options"].structured_input_signature[1]) == {"image_bytes", "invert",
                                                                                      "normalize"}
    for name, fn in sigs.items():
        outs = fn.structured_outputs
        expected = OUTPUTS if name in ("serving_default", "read") else {**OUTPUTS, "error": (tf.string, [None])}
        if name.startswith("read"):
            expected = {k: v for k, v in expected.items() if k != "sr_image"}
        assert set(outs) == set(expected), name
        for key, (dtype, shape) in expected.items():
            assert outs[key].dtype == dtype and outs[key].shape.as_list() == shape, (name, key)


def test_savedmodel_equals_keras(exported):
    model, _, _, loaded = exported
    x = np.random.default_rng(0).random((4, 7, 7, 1)).astype(np.float32)
    got = loaded.signatures["serving_default"](image=tf.constant(x))
    want = model(x)
    for key in OUTPUTS:
        np.testing.assert_allclose(got[key].numpy(), want[key].numpy(), atol=1e-6)


def test_png_and_jpeg_through_bytes_signature_match_float_signature(exported):
    *_, loaded = exported
    lr = (np.random.default_rng(1).random((7, 7)) * 120).astype(np.uint8)  # dark border: not inverted
    jpg = cv2.imencode(".jpg", draw_digit(5, (90, 70)))[1].tobytes()
    out = loaded.signatures["predict_image_bytes"](image_bytes=tf.constant([png(lr), jpg]))
    assert out["digit"].shape == (2,)
    # A 7x7 light-on-dark PNG is neither inverted nor normalized: same answer as the float tensor.
    floats = loaded.signatures["serving_default"](image=tf.constant(lr[None, :, :, None] / 255.0, tf.float32))
    np.testing.assert_allclose(out["probabilities"][0].numpy(), floats["probabilities"][0].numpy(), atol=1e-5)


def test_options_signature_lets_the_client_choose(exported):
    *_, loaded = exported
    scan = png(draw_digit(2, (120, 90)))
    fn = loaded.signatures["predict_image_bytes_options"]

    def run(invert, normalize):
        return fn(image_bytes=tf.constant([scan]), invert=tf.constant([invert]),
                  normalize=tf.constant([normalize]))["sr_image"].numpy()

    auto = run(-1, -1)
    np.testing.assert_allclose(auto, run(1, 1), atol=1e-6)  # auto = dark ink, large image: invert + normalize
    assert not np.allclose(auto, run(0, 1))


@pytest.mark.parametrize("shape", [(5, 9), (100, 60), (60, 100, 3)])
def test_odd_sizes_and_colour_follow_the_documented_automatic_choices(exported, shape):
    *_, loaded = exported
    img = (np.random.default_rng(2).random(shape) * 255).astype(np.uint8)
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    invert = int(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]]).mean() / 255 > 0.5)
    normalize = int(max(shape[:2]) > 28)  # documented: invert when the border is bright, normalize above 28 px
    auto = loaded.signatures["predict_image_bytes"](image_bytes=tf.constant([png(img)]))
    fn = loaded.signatures["predict_image_bytes_options"]

    def chosen(inv, norm):
        return fn(image_bytes=tf.constant([png(img)]), invert=tf.constant([inv]),
                  normalize=tf.constant([norm]))["sr_image"].numpy()

    np.testing.assert_allclose(auto["sr_image"].numpy(), chosen(invert, normalize), atol=2e-2)
    assert not np.allclose(auto["sr_image"].numpy(), chosen(1 - invert, normalize), atol=1e-3)


def _gif_animated():
    frames = [Image.fromarray(draw_digit(d, (40, 40))) for d in (1, 7)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def _rgba():
    img = cv2.cvtColor(draw_digit(4, (50, 40)), cv2.COLOR_RGB2RGBA)
    return png(img)


# The documented behaviour of each bad input (README, "Bad input"): "error" = the request fails with a
# clear InvalidArgumentError and the process survives (damage only the decoder sees); ("refused", text) =
# the item's header shows the problem, so it gets digit -1 and an ``error`` output containing text;
# "result" = a normal, finite answer. "result" cases name the plain image they must be read as (same SR
# image, within the tolerance).
BYTES_CASES = {
    "empty bytes": (lambda: b"", ("refused", "empty image")),
    "truncated PNG": (lambda: png(draw_digit(1, (40, 40)))[:50], "error"),
    "text named .png": (lambda: b"this is not an image", ("refused", "unknown image format")),
    "TIFF": (lambda: cv2.imencode(".tiff", draw_digit(3, (40, 40)))[1].tobytes(), ("refused", "unknown image format")),
    "PNG cut inside its header": (lambda: png(draw_digit(1, (40, 40)))[:20], ("refused", "no image size")),
    "1x1 image": (lambda: png(np.full((1, 1), 255, np.uint8)), ("result", lambda: png(np.zeros((1, 1), np.uint8)),
                                                                1e-6)),
    "4000x4000 image": (lambda: png(cv2.resize(draw_digit(8, (100, 100)), (4000, 4000))),
                        ("result", lambda: png(draw_digit(8, (100, 100))), 0.05)),
    "16-bit PNG": (lambda: png((draw_digit(6, (40, 30))[..., 0].astype(np.uint16) * 257)),
                   ("result", lambda: png(draw_digit(6, (40, 30))[..., 0]), 1e-3)),
    "RGBA PNG": (_rgba, ("result", lambda: png(draw_digit(4, (50, 40))), 1e-3)),
    "animated GIF (first frame)": (_gif_animated, ("result", lambda: png(draw_digit(1, (40, 40))), 0.05)),
}


@pytest.mark.parametrize("case", list(BYTES_CASES))
def test_bad_bytes_catalogue(exported, case):
    *_, loaded = exported
    make, expected = BYTES_CASES[case]
    fn = loaded.signatures["predict_image_bytes"]
    if expected == "error":
        with pytest.raises(tf.errors.InvalidArgumentError):
            fn(image_bytes=tf.constant([make()]))
    elif expected[0] == "refused":
        out = fn(image_bytes=tf.constant([make()]))
        assert expected[1] in out["error"].numpy()[0].decode() and int(out["digit"][0]) == -1
        assert float(out["confidence"][0]) == 0 and float(tf.reduce_sum(out["probabilities"])) == 0
    else:
        _, reference, atol = expected
        out, want = fn(image_bytes=tf.constant([make()])), fn(image_bytes=tf.constant([reference()]))
        assert float(np.mean(np.abs(out["sr_image"].numpy() - want["sr_image"].numpy()))) <= atol, case
    # the process survives and keeps answering
    assert fn(image_bytes=tf.constant([png(np.zeros((7, 7), np.uint8))]))["digit"].shape == (1,)


def test_bad_tensors_catalogue(exported):
    *_, loaded = exported
    fn = loaded.signatures["serving_default"]
    x = np.random.default_rng(3).random((2, 7, 7, 1)).astype(np.float32)
    x[0, 1, 1, 0], x[1, 2, 2, 0] = np.nan, np.inf
    out = fn(image=tf.constant(x))  # documented: NaN -> 0, inf -> clipped to 1
    same = x.copy()
    same[0, 1, 1, 0], same[1, 2, 2, 0] = 0.0, 1.0
    np.testing.assert_allclose(out["probabilities"].numpy(), fn(image=tf.constant(same))["probabilities"].numpy(),
                               atol=1e-6)
    refused = (ValueError, TypeError, tf.errors.InvalidArgumentError)
    with pytest.raises(refused):
        fn(image=tf.zeros([7, 7]))  # wrong rank: refused by the signature
    with pytest.raises(refused):
        fn(image=tf.zeros([1, 7, 7, 3]))  # colour float tensors must be made gray by the client


def test_interrupted_export_leaves_no_partial_version(tmp_path, monkeypatch):
    model = build_hybrid(build_generator(4, nf=8, gc=8, num_blocks=1), build_recognizer())
    import keras

    def dies_halfway(self, filepath, **kwargs):
        Path(filepath).mkdir(parents=True)
        (Path(filepath) / "saved_model.pb").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        export.export_hybrid(model, tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError):
        export.latest_version(tmp_path)


@pytest.mark.slow
def test_saved_model_cli_show_and_run(exported, tmp_path):
    _, _, path, _ = exported
    cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    shown = subprocess.run(cli + ["show", "--dir", str(path), "--all"], capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "predict_image_bytes" in shown.stdout and "image_bytes" in shown.stdout and "sr_image" in shown.stdout
    np.save(tmp_path / "x.npy", np.zeros((1, 7, 7, 1), np.float32))
    ran = subprocess.run(cli + ["run", "--dir", str(path), "--tag_set", "serve", "--signature_def",
                                "serving_default", "--inputs", f"image={tmp_path / 'x.npy'}"],
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    printed = re.search(r"output key digit:\s*\[(\d+)\]", ran.stdout)
    want = int(exported[3].signatures["serving_default"](image=tf.zeros([1, 7, 7, 1]))["digit"][0])
    assert printed and int(printed.group(1)) == want, ran.stdout[-1000:]


def test_predict_script_on_a_folder_with_bad_files(exported, tmp_path):
    _, base, _, _ = exported
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), draw_digit(3, (80, 60)))
    cv2.imwrite(str(folder / "b.jpg"), draw_digit(9, (40, 40)))
    (folder / "broken.png").write_bytes(png(draw_digit(1, (40, 40)))[:40])
    (folder / "empty.bmp").write_bytes(b"")
    (folder / "text.png").write_text("not an image")
    for name in ("1x1 image", "16-bit PNG", "RGBA PNG"):
        (folder / f"{name.replace(' ', '_')}.png").write_bytes(BYTES_CASES[name][0]())
    (folder / "anim.gif").write_bytes(_gif_animated())
    proc = run_script("predict.py", folder, "--model", base, timeout=300)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert len(lines) == 9
    good = [line.split("\t") for line in lines if "error" not in line]
    assert len(good) == 6
    fn = exported[3].signatures["predict_image_bytes"]
    for path, digit, confidence in good:  # what the SavedModel itself answers for that file
        out = fn(image_bytes=tf.constant([Path(path).read_bytes()]))
        assert int(digit) == int(out["digit"][0]) and float(confidence) == pytest.approx(float(out["confidence"][0]),
                                                                                          abs=1e-4)
    assert any("text.png\terror:" in line for line in lines)
    assert any("broken.png\terror: not a decodable" in line for line in lines)
    assert "Graph execution error" not in proc.stdout  # each error names TensorFlow's own cause
    assert any("empty.bmp\terror: empty file" in line for line in lines)
    assert "Traceback" not in proc.stderr


def test_full_resolution_inputs_skip_super_resolution(exported):
    model, *_, loaded = exported
    x28 = np.random.default_rng(5).random((3, 28, 28, 1)).astype(np.float32)
    out = loaded.signatures["serving_default"](image=tf.constant(x28))
    np.testing.assert_allclose(out["probabilities"].numpy(), model.get_layer("recognizer")(x28).numpy(), atol=1e-5)
    np.testing.assert_allclose(out["sr_image"].numpy(), x28, atol=1e-6)  # what the recognizer read
    x7 = x28[:, ::4, ::4]
    np.testing.assert_allclose(loaded.signatures["serving_default"](image=tf.constant(x7))["probabilities"].numpy(),
                               model(x7)["probabilities"].numpy(), atol=1e-5)  # small inputs: the hybrid


def test_empty_batches_get_empty_answers(exported):
    *_, loaded = exported
    for shape in ([0, 7, 7, 1], [0, 28, 28, 1]):
        out = loaded.signatures["serving_default"](image=tf.zeros(shape))
        assert {k: tuple(v.shape) for k, v in out.items()} == {"probabilities": (0, 10), "digit": (0,),
                                                                "confidence": (0,), "sr_image": (0, 28, 28, 1)}
    out = loaded.signatures["predict_image_bytes"](image_bytes=tf.constant([], tf.string))
    assert out["digit"].shape == (0,) and out["sr_image"].shape == (0, 28, 28, 1)


def test_a_bytes_batch_routes_each_image_by_its_own_size(exported):
    model, *_, loaded = exported
    small = (np.random.default_rng(6).random((7, 7)) * 100).astype(np.uint8)  # dark border: not inverted
    large = (np.random.default_rng(7).random((28, 28)) * 100).astype(np.uint8)
    out = loaded.signatures["predict_image_bytes"](image_bytes=tf.constant([png(small), png(large), png(small)]))
    hybrid = model(small[None, :, :, None].astype(np.float32) / 255)["probabilities"].numpy()[0]
    direct = model.get_layer("recognizer")(large[None, :, :, None].astype(np.float32) / 255).numpy()[0]
    np.testing.assert_allclose(out["probabilities"].numpy(), [hybrid, direct, hybrid], atol=1e-5)


@pytest.mark.parametrize("scale", ["0-255", "-1..1", "dark ink as negatives"])
def test_values_outside_the_unit_range_are_refused_with_the_fix(exported, scale):
    *_, loaded = exported
    x = np.random.default_rng(8).random((2, 7, 7, 1)).astype(np.float32)
    x = {"0-255": x * 255, "-1..1": x * 2 - 1, "dark ink as negatives": -x}[scale]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must be in \[0, 1\].*divide 8-bit images by 255"):
        loaded.signatures["serving_default"](image=tf.constant(x))
    edge = np.clip(x, 0, 1)
    edge[0, 0, 0, 0] = 1.0 + 1e-4  # rounding is not another scale
    assert loaded.signatures["serving_default"](image=tf.constant(edge))["digit"].shape == (2,)


def test_sr_dir_keeps_equal_names_in_different_folders_apart(exported, tmp_path):
    _, base, _, _ = exported
    for folder, digit in (("a", 3), ("b", 8)):
        (tmp_path / "in" / folder).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "in" / folder / "d.png"), draw_digit(digit, (40, 40)))
    cv2.imwrite(str(tmp_path / "in" / "a" / "d.jpg"), draw_digit(5, (40, 40)))
    run_script("predict.py", tmp_path / "in", "--model", base, "--sr-dir", tmp_path / "sr", check=True, timeout=300)
    written = sorted(p.relative_to(tmp_path / "sr") for p in (tmp_path / "sr").rglob("*.png"))
    assert len(written) == 3 and len({p.name for p in written}) == 2  # d.png.sr.png twice, in their own folders
    images = [cv2.imread(str(tmp_path / "sr" / p), cv2.IMREAD_GRAYSCALE) for p in written]
    assert all(im.shape == (28, 28) for im in images) and not np.array_equal(images[0], images[-1])


def test_a_batch_with_a_damaged_file_answers_the_others(exported, tmp_path):
    from hdsr_tf.reading.predictor import Predictor

    _, base, path, loaded = exported
    good = [tmp_path / f"g{i}.png" for i in range(3)]
    for i, p in enumerate(good):
        cv2.imwrite(str(p), draw_digit(i + 1, (40, 40)))
    bad = tmp_path / "bad.png"
    bad.write_bytes(png(draw_digit(1, (40, 40)))[:60])  # only the decoder can tell
    results = Predictor(path).predict_files([good[0], bad, good[1], good[2]], batch_size=4)
    assert [r["error"] is None for r in results] == [True, False, True, True]
    assert results[1]["error"].startswith("not a decodable") and "Graph execution" not in results[1]["error"]
    alone = Predictor(path).predict_files(good, batch_size=1)
    assert [r["digit"] for r in alone] == [results[i]["digit"] for i in (0, 2, 3)]


def test_a_dangling_link_gets_its_own_error_line(exported, tmp_path):
    _, base, _, _ = exported
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), draw_digit(3, (40, 40)))
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")
    proc = run_script("predict.py", folder, "--model", base, timeout=300)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 2
    assert any(line.endswith("gone.png\terror: dangling link") for line in lines)
    assert any(line.startswith(str(folder / "a.png")) and "error" not in line for line in lines)


def test_ctrl_c_prints_what_finished_and_what_was_not_read(tmp_path, monkeypatch, capsys):
    import importlib.util

    from conftest import ROOT

    from hdsr_tf.reading import predictor as predict

    spec = importlib.util.spec_from_file_location("predict_script", ROOT / "scripts" / "predict.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    class Interrupted(predict.Predictor):
        def __init__(self, model_dir, **options):
            pass

        def iter_predict_files(self, paths, *args):
            yield [{"path": str(paths[0]), "digit": 3, "confidence": 0.9, "error": None}]
            raise KeyboardInterrupt  # Ctrl-C during the second batch

    monkeypatch.setattr(predict, "Predictor", Interrupted)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), draw_digit(i, (20, 20)))
    monkeypatch.setattr(sys, "argv", ["predict.py", str(tmp_path)])
    assert script.main() == 130
    out = capsys.readouterr()
    assert out.out.strip() == f"{tmp_path / '0.png'}\t3\t0.9000"
    assert "interrupted: 2 of 3 files were not read" in out.err


@pytest.fixture(scope="module")
def bomb():
    from hdsr_tf.data.headers import blank_png

    return blank_png(20000, 20000)


def test_a_batch_with_header_problems_answers_every_good_item(exported, bomb):
    """Empty, unknown-format and over-the-limit items get their own error; the others are read as if alone."""
    *_, loaded = exported
    fn = loaded.signatures["predict_image_bytes"]
    good = [png(draw_digit(d, (40, 40))) for d in (2, 5)]
    batch = [good[0], b"", bomb, b"GIF89a", good[1]]
    out = fn(image_bytes=tf.constant(batch))
    errors = [e.decode() for e in out["error"].numpy()]
    assert errors[0] == errors[4] == "" and errors[1].startswith("empty image")
    assert errors[2] == "PNG of 20000x20000 = 400000000 pixels is over this model's limit of 25000000 pixels"
    assert errors[3].startswith("no image size in the GIF header")
    assert out["digit"].numpy().tolist()[1:4] == [-1, -1, -1]
    alone = fn(image_bytes=tf.constant(good))
    np.testing.assert_allclose(out["probabilities"].numpy()[[0, 4]], alone["probabilities"].numpy(), atol=1e-6)


def test_a_decompression_bomb_is_refused_within_the_memory_bound(exported, bomb):
    """The 20000x20000 PNG (a few hundred KB) that once took 4.3 GB is refused from its header:
    the process grows by far less than the documented 300 MB."""
    from hdsr_tf.evaluation.compare import PeakMemory

    *_, loaded = exported
    fn = loaded.signatures["predict_image_bytes"]
    assert len(bomb) < 1_000_000
    fn(image_bytes=tf.constant([png(np.zeros((7, 7), np.uint8))]))  # warm up outside the measurement
    with PeakMemory() as mem:
        out = fn(image_bytes=tf.constant([bomb, bomb]))
    assert out["digit"].numpy().tolist() == [-1, -1]
    assert mem.mb < 300


@pytest.mark.slow
def test_the_pixel_limit_is_set_at_export(tmp_path):
    model = build_hybrid(build_generator(4, nf=4, gc=4, num_blocks=1), build_recognizer(filters=(4, 4, 4)))
    path = export.export_hybrid(model, tmp_path, max_pixels=50 * 50)
    fn = tf.saved_model.load(str(path)).signatures["predict_image_bytes"]
    out = fn(image_bytes=tf.constant([png(draw_digit(1, (50, 50))), png(draw_digit(1, (51, 50)))]))
    assert [e.decode() for e in out["error"].numpy()] == [
        "", "PNG of 50x51 = 2550 pixels is over this model's limit of 2500 pixels"]
    with pytest.raises(ValueError, match="positive"):
        export.export_hybrid(model, tmp_path, max_pixels=0)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "WEBP"])
@pytest.mark.parametrize("size", [(7, 5), (333, 201)])
def test_headers_give_each_format_its_size(fmt, size):
    from hdsr_tf.data import headers

    buf = io.BytesIO()
    Image.new("L" if fmt != "WEBP" else "RGB", size, 90).save(buf, format=fmt)
    kind, width, height = headers.inspect(tf.constant(buf.getvalue()))
    assert headers.FORMAT_NAMES[int(kind)].upper() == fmt and (int(width), int(height)) == size


def test_progressive_jpeg_with_metadata_segments_gives_its_size():
    from hdsr_tf.data import headers

    buf = io.BytesIO()
    Image.new("RGB", (123, 45)).save(buf, format="JPEG", progressive=True, dpi=(300, 300),
                                     comment=b"x" * 500, icc_profile=b"\0" * 3000)
    _, width, height = headers.inspect(tf.constant(buf.getvalue()))
    assert (int(width), int(height)) == (123, 45)


@pytest.mark.slow
def test_a_direct_reader_export_reads_with_its_classifier_and_draws_with_its_generator(tmp_path):
    """Version 3's design: small inputs read by a classifier on their 28-px enlargement, the generator's
    output as sr_image, full-resolution inputs read by the recognizer given at export."""
    from conftest import assert_reloads_the_same

    from hdsr_tf.models.hybrid import build_direct_reader
    from hdsr_tf.models.layers import ResizeTo

    classifier, generator = build_recognizer(filters=(4, 4, 8)), build_generator(4, nf=4, gc=4, num_blocks=1)
    full = build_recognizer(filters=(4, 8, 4))
    reader = build_direct_reader(classifier, generator)
    x = np.random.default_rng(0).random((3, 10, 10, 1)).astype(np.float32)
    assert_reloads_the_same(reader, x, tmp_path)
    fn = tf.saved_model.load(str(export.export_hybrid(reader, tmp_path / "serving", input_size=28,
                                                      full_resolution=full))).signatures
    out = fn["serving_default"](image=tf.constant(x))
    big = ResizeTo(28)(x)
    np.testing.assert_allclose(out["probabilities"].numpy(), classifier(big).numpy(), atol=1e-5)
    np.testing.assert_allclose(out["sr_image"].numpy(), np.clip(generator(ResizeTo(7)(x)).numpy(), 0, 1), atol=1e-5)
    hr = np.random.default_rng(1).random((2, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(fn["serving_default"](image=tf.constant(hr))["probabilities"].numpy(),
                               full(hr).numpy(), atol=1e-5)
    small = np.round(x[0] * 255).astype(np.uint8)
    coded = fn["predict_image_bytes_options"](image_bytes=tf.constant([png(small)]), invert=tf.constant([0]),
                                              normalize=tf.constant([0]))
    want = classifier(ResizeTo(28)(small[None].astype(np.float32) / 255)).numpy()
    np.testing.assert_allclose(coded["probabilities"].numpy(), want, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("refusal", ["detector", "heads"])
def test_reading_signatures_answer_as_the_drawing_ones_less_sr_image(tmp_path, refusal):
    """A direct reader with a detector (the served design), or readers with their own no-digit heads: every
    reading signature gives the same digits, probabilities, confidences and no_digit as its drawing twin,
    for small, full-size and refused items."""
    from hdsr_tf.models.hybrid import build_direct_reader

    keras.utils.set_random_seed(3)
    small, full = build_recognizer(filters=(4, 4, 8)), build_recognizer(filters=(4, 8, 4))
    detector, threshold, rng = None, 0.5, np.random.default_rng(0)
    if refusal == "heads":
        small, full = with_no_digit_head(small), with_no_digit_head(full)
        from hdsr_tf.models.layers import ResizeTo, SanitizeImage

        probes = [(tf.constant(rng.random((64, side, side, 1)), tf.float32), model)
                  for side, model in ((14, small), (28, full))]
        heads = [model(ResizeTo(28)(SanitizeImage()(x))) for x, model in probes]  # what each reads: the served view
        threshold = float(np.median(np.concatenate([h[1].numpy()[:, 0] for h in heads])))  # parts them, untrained
    else:
        inputs = keras.Input((28, 28, 1), name="image")
        detector = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs)))
    reader = build_direct_reader(small, build_generator(4, nf=4, gc=4, num_blocks=1))
    fn = tf.saved_model.load(str(export.export_hybrid(reader, tmp_path, input_size=28, full_resolution=full,
                                                      detector=detector, no_digit_threshold=threshold,
                                                      max_pixels=60 * 60))).signatures

    def same(drawn, read):
        assert set(drawn) - set(read) == {"sr_image"} and set(read) <= set(drawn)
        for key, value in read.items():
            if value.dtype == tf.float32:
                np.testing.assert_allclose(value.numpy(), drawn[key].numpy(), atol=1e-5)
            else:
                np.testing.assert_array_equal(value.numpy(), drawn[key].numpy())

    for side in (7, 14, 28, 40):
        x = tf.constant(rng.random((5, side, side, 1)), tf.float32)
        same(fn["serving_default"](image=x), fn["read"](image=x))
    items = tf.constant([png(draw_digit(3, (12, 12))), png(draw_digit(7, (50, 40))), png(draw_digit(1, (90, 90))),
                         png(draw_digit(0, (20, 20)))])
    drawn = fn["predict_image_bytes"](image_bytes=items)
    read = fn["read_image_bytes"](image_bytes=items)
    same(drawn, read)
    assert read["error"].numpy()[2] and not read["error"].numpy()[0]  # the 90x90 item is over the 3,600-pixel limit
    flags = tf.constant([1, 0, -1, 1], tf.int32)
    same(fn["predict_image_bytes_options"](image_bytes=items, invert=flags, normalize=flags),
         fn["read_image_bytes_options"](image_bytes=items, invert=flags, normalize=flags))
    if refusal == "heads":  # each reader's own head answers no_digit, in the pass that reads the digit
        refused = []
        for (x, _), (probs, no_digit) in zip(probes, heads):
            out = fn["read"](image=x)
            np.testing.assert_allclose(out["no_digit"].numpy(), no_digit.numpy()[:, 0], atol=1e-5)
            np.testing.assert_allclose(out["probabilities"].numpy(), probs.numpy(), atol=1e-5)
            refused.append(out["no_digit"].numpy() > threshold)
            assert (out["digit"].numpy() == -1).tolist() == refused[-1].tolist()
        assert 0 < np.concatenate(refused).sum() < 128


@pytest.mark.slow
def test_a_picture_generator_draws_sr_image_from_its_size_up(tmp_path):
    """--picture-generator: small inputs are drawn by the any-size generator on their 28-px enlargement,
    but those of the side the model's own generator reads (7 px), in the tensor and the bytes signatures
    alike; readings do not change."""
    from hdsr_tf.models.hybrid import build_direct_reader
    from hdsr_tf.models.layers import ResizeTo

    keras.utils.set_random_seed(5)
    generator = build_generator(4, nf=4, gc=4, num_blocks=1)
    reader = build_direct_reader(build_recognizer(filters=(4, 4, 8)), generator)
    picture, full = build_generator(1, nf=4, gc=4, num_blocks=1), build_recognizer(filters=(4, 8, 4))
    with pytest.raises(ValueError, match="any-size"):
        export.export_hybrid(reader, tmp_path / "bad", input_size=28, full_resolution=full, picture=generator)
    plain = tf.saved_model.load(str(export.export_hybrid(reader, tmp_path / "a", input_size=28,
                                                         full_resolution=full))).signatures
    fn = tf.saved_model.load(str(export.export_hybrid(reader, tmp_path / "b", input_size=28, full_resolution=full,
                                                      picture=picture))).signatures
    rng = np.random.default_rng(2)
    for side in (6, 7, 8, 12):
        x = rng.random((3, side, side, 1)).astype(np.float32)
        out, before = fn["serving_default"](image=tf.constant(x)), plain["serving_default"](image=tf.constant(x))
        want = np.clip(picture(ResizeTo(28)(x)).numpy(), 0, 1) if side != 7 else before["sr_image"].numpy()
        np.testing.assert_allclose(out["sr_image"].numpy(), want, atol=1e-5)
        np.testing.assert_allclose(out["probabilities"].numpy(), before["probabilities"].numpy(), atol=1e-6)
    small, large = (np.round(rng.random((s, s)) * 255).astype(np.uint8) for s in (7, 10))
    items = tf.constant([png(small), png(large)])
    flags = tf.constant([0, 0], tf.int32)
    out = fn["predict_image_bytes_options"](image_bytes=items, invert=flags, normalize=flags)["sr_image"].numpy()
    before = plain["predict_image_bytes_options"](image_bytes=items, invert=flags, normalize=flags)["sr_image"].numpy()
    np.testing.assert_allclose(out[0], before[0], atol=1e-5)
    want = np.clip(picture(ResizeTo(28)(large[None, ..., None].astype(np.float32) / 255)).numpy(), 0, 1)[0]
    np.testing.assert_allclose(out[1], want, atol=1e-5)
