"""scripts/upscale.py and the tiled upscaler: any image file, gray or colour, tiny or tiled, bad files alone."""

import cv2
import numpy as np
import pytest
from conftest import ROOT, run_script

from hdsr_tf.data import mnist

X4 = ROOT / "saved_models" / "esrgan_x4_blind" / "generator_psnr.keras"
X2 = ROOT / "saved_models" / "esrgan_x2" / "generator_psnr.keras"


@pytest.fixture(scope="module")
def page(mnist_ready):
    """Twelve MNIST test digits as dark ink on light paper, 84x112, shrunk to 42x56."""
    x, _ = mnist.load_arrays("test")
    rows = [np.concatenate([x[4 * i + j].reshape(28, 28) for j in range(4)], axis=1) for i in range(3)]
    return cv2.resize(255 - np.concatenate(rows), (56, 42), interpolation=cv2.INTER_AREA)


@pytest.mark.slow
@pytest.mark.parametrize("generator", [X4, X2], ids=["x4", "x2"])
def test_tiled_output_equals_the_untiled_one(page, generator):
    """Tiles of 16 px with 16 px of context on each side: the seams cannot be told from the whole image."""
    from hdsr_tf.reading.upscaling import Upscaler

    upscaler = Upscaler(generator)
    colour = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    colour[..., 2] = np.minimum(colour[..., 2], 200)  # a tinted paper: chroma goes through tiles too
    for image in (page, colour):
        whole = upscaler.upscale(image, tile=0).astype(int)
        tiled = upscaler.upscale(image, tile=16, overlap=16).astype(int)
        assert whole.shape == tiled.shape == (42 * upscaler.scale, 56 * upscaler.scale) + image.shape[2:]
        assert np.abs(whole - tiled).max() <= 1
        bands = list(upscaler.bands(image, tile=16, overlap=16))  # what upscale.py writes, a row of tiles each
        assert len(bands) == 3 and np.array_equal(np.concatenate(bands), tiled)
    cut = upscaler.upscale(page, tile=16, overlap=0).astype(int)  # no context: the seams show
    assert np.abs(upscaler.upscale(page, tile=0).astype(int) - cut).max() > 1


@pytest.mark.slow
def test_the_generator_beats_bicubic_on_dark_ink_in_either_polarity(page, mnist_ready):
    """Small digits of a page, dark on light: the 4x generator's result is closer to the full-size page than
    bicubic enlargement, and reading the ink the wrong way round (light) undoes that."""
    from hdsr_tf.data.framing import dark_ink
    from hdsr_tf.reading.upscaling import Upscaler

    x, _ = mnist.load_arrays("test")
    full = 255 - np.concatenate([np.concatenate([x[4 * i + j].reshape(28, 28) for j in range(4)], axis=1)
                                 for i in range(3)])
    small = cv2.resize(full, (28, 21), interpolation=cv2.INTER_AREA)
    upscaler = Upscaler(X4)
    assert dark_ink(small / 255.0)

    def psnr(a):
        return 10 * np.log10(255.0 ** 2 / np.mean((a.astype(float) - full) ** 2))

    auto, bicubic = psnr(upscaler.upscale(small)), psnr(upscaler.bicubic(small))
    assert auto > bicubic + 1.0
    assert psnr(upscaler.upscale(small, ink="light")) < auto - 1.0


@pytest.mark.slow
def test_upscale_script_on_gray_colour_tiny_and_corrupt_files(page, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    cv2.imwrite(str(folder / "gray.png"), page)
    colour = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    colour[..., 2] = np.minimum(colour[..., 2], 180)  # cyan-tinted paper
    cv2.imwrite(str(folder / "sub" / "colour.jpg"), colour)
    cv2.imwrite(str(folder / "tiny.png"), page[:5, :5])
    (folder / "corrupt.png").write_bytes(cv2.imencode(".png", page)[1].tobytes()[:60])  # a cut-off PNG
    proc = run_script("upscale.py", folder, "--out", tmp_path / "out", "--scale", "2", "--bicubic", timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = dict(line.split("\t", 1) for line in proc.stdout.strip().splitlines())
    assert lines[str(folder / "corrupt.png")].startswith("error: not a decodable")
    out = tmp_path / "out" / "in"
    gray = cv2.imread(str(out / "gray.x2.png"), cv2.IMREAD_UNCHANGED)
    assert gray.shape == (84, 112)
    col = cv2.imread(str(out / "sub" / "colour.x2.png"), cv2.IMREAD_UNCHANGED)
    assert col.shape == (84, 112, 3) and np.median(col[..., 2]) < np.median(col[..., 0]) - 40  # still cyan paper
    assert cv2.imread(str(out / "tiny.x2.png"), cv2.IMREAD_UNCHANGED).shape == (10, 10)
    assert (out / "gray.x2.bicubic.png").is_file()
    assert sorted(p.name for p in out.rglob("*.png")) == sorted(
        ["gray.x2.png", "gray.x2.bicubic.png", "colour.x2.png", "colour.x2.bicubic.png", "tiny.x2.png",
         "tiny.x2.bicubic.png"])


@pytest.mark.parametrize("channels", [0, 3], ids=["gray", "colour"])
def test_a_png_written_in_bands_decodes_to_the_whole_image(tmp_path, channels):
    """Bands of uneven heights, written one by one, give exactly the image cv2 reads back (Sub filter
    wrapping modulo 256 included: the image is random bytes)."""
    from hdsr_tf.reading.png_stream import write_png

    image = np.random.default_rng(0).integers(0, 256, (37, 23) + ((channels,) if channels else ()), np.uint8)
    write_png(tmp_path / "a.png", 23, 37, iter([image[:5], image[5:6], image[6:]]))
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "a.png"), cv2.IMREAD_UNCHANGED), image)
    assert not (tmp_path / "a.png.tmp").exists()


def test_a_png_missing_rows_is_refused_and_leaves_no_file(tmp_path):
    from hdsr_tf.reading.png_stream import write_png

    image = np.zeros((10, 8), np.uint8)
    with pytest.raises(ValueError, match="9 rows written to a PNG 10 rows high"):
        write_png(tmp_path / "b.png", 8, 10, iter([image[:9]]))
    with pytest.raises(ValueError, match="a band of shape"):
        write_png(tmp_path / "b.png", 8, 10, iter([image[:, :7]]))
    assert list(tmp_path.iterdir()) == []
