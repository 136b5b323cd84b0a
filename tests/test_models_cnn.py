import keras
import numpy as np

from hdsr_tf.models.cnn import FEATURE_LAYERS, build_keras_io_convnet, build_recognizer


def test_recognizer_io_names_and_shapes():
    model = build_recognizer()
    assert model.input.name == "image" and model.output_names == ["probabilities"]
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    probs = model(np.zeros((3, 28, 28, 1), np.float32)).numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_feature_layers_are_convs_followed_by_norm():
    model = build_recognizer()
    for name in FEATURE_LAYERS:
        layer = model.get_layer(name)
        assert isinstance(layer, keras.layers.Conv2D) and layer.activation.__name__ == "linear"


def test_save_reload_safe_mode_same_output(tmp_path):
    for model in (build_recognizer(), build_keras_io_convnet()):
        x = np.random.default_rng(0).random((2, 28, 28, 1)).astype(np.float32)
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        again = keras.saving.load_model(path, safe_mode=True)
        np.testing.assert_allclose(again(x).numpy(), model(x).numpy(), atol=1e-6)
