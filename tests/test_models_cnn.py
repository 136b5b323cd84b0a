import keras
import numpy as np
from conftest import assert_reloads_the_same

from hdsr_tf.models.cnn import FEATURE_LAYERS, build_keras_io_convnet, build_lowres_recognizer, build_recognizer


def test_recognizer_io_names_and_shapes():
    model = build_recognizer()
    assert model.input.name == "image" and model.output_names == ["probabilities"]
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    probs = model(np.zeros((3, 28, 28, 1), np.float32)).numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_feature_layers_are_linear_convs_followed_by_batch_norm():
    model = build_recognizer()
    for name in FEATURE_LAYERS:
        layer = model.get_layer(name)
        assert isinstance(layer, keras.layers.Conv2D) and layer.activation.__name__ == "linear"
        consumers = [node.operation for node in layer._outbound_nodes]
        assert len(consumers) == 1 and isinstance(consumers[0], keras.layers.BatchNormalization), name


def test_save_reload_safe_mode_same_output(tmp_path):
    x28 = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
    for model in (build_recognizer(), build_keras_io_convnet()):
        assert_reloads_the_same(model, x28, tmp_path)
    assert_reloads_the_same(build_lowres_recognizer(7), x28[:, ::4, ::4], tmp_path)
