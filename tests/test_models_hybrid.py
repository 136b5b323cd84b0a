import numpy as np
import pytest
from conftest import assert_reloads_the_same

from hdsr_tf.models.cnn import build_recognizer
from hdsr_tf.models.hybrid import build_hybrid
from hdsr_tf.models.rrdb import build_generator


@pytest.fixture(scope="module")
def hybrid():
    return build_hybrid(build_generator(4, nf=8, gc=8, num_blocks=1), build_recognizer())


@pytest.mark.parametrize("shape", [(2, 7, 7, 1), (1, 5, 9, 1), (1, 100, 60, 1), (3, 28, 28, 1), (1, 1, 1, 1)])
def test_any_size_in_named_outputs_out(hybrid, shape):
    out = hybrid(np.random.default_rng(0).random(shape).astype(np.float32))
    b = shape[0]
    assert set(out) == {"probabilities", "digit", "confidence", "sr_image"}
    assert out["probabilities"].shape == (b, 10) and out["digit"].shape == (b,) and out["digit"].dtype == "int64"
    assert out["confidence"].shape == (b,) and out["sr_image"].shape == (b, 28, 28, 1)
    np.testing.assert_allclose(out["confidence"].numpy(), out["probabilities"].numpy().max(1), rtol=1e-6)
    np.testing.assert_array_equal(out["digit"].numpy(), out["probabilities"].numpy().argmax(1))
    sr = out["sr_image"].numpy()
    assert sr.min() >= 0.0 and sr.max() <= 1.0


def test_nan_pixels_count_as_background(hybrid):
    x = np.random.default_rng(1).random((1, 7, 7, 1)).astype(np.float32)
    x[0, 2, 3, 0] = np.nan
    clean = x.copy()
    clean[0, 2, 3, 0] = 0.0
    np.testing.assert_allclose(hybrid(x)["probabilities"].numpy(), hybrid(clean)["probabilities"].numpy())


def test_hybrid_reloads_in_safe_mode(hybrid, tmp_path):
    x = np.random.default_rng(2).random((2, 7, 7, 1)).astype(np.float32)
    assert_reloads_the_same(hybrid, x, tmp_path)


@pytest.mark.parametrize("scale,lr_size", [(2, 14), (4, 7)])
def test_hybrid_resizes_to_its_generators_lr_size(scale, lr_size):
    model = build_hybrid(build_generator(scale, nf=8, gc=8, num_blocks=1), build_recognizer())
    assert model.get_layer("to_lr_size").size == lr_size
