import argparse
import json

import pytest

from hdsr_tf.config import CNNConfig, GANConfig, add_arguments, from_args


def _parse(cls, argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser, cls)
    return from_args(cls, parser.parse_args(argv))


def test_defaults_flags_and_booleans():
    assert _parse(CNNConfig, []) == CNNConfig()
    c = _parse(CNNConfig, ["--batch-size", "32", "--optimizer", "sgd", "--no-augment", "--learning-rate", "0.1"])
    assert (c.batch_size, c.optimizer, c.augment, c.learning_rate) == (32, "sgd", False, 0.1)


def test_config_file_then_flags_win(tmp_path):
    path = tmp_path / "gan.json"
    path.write_text(json.dumps({"scale": 2, "psnr-epochs": 3, "nf": 16}))
    c = _parse(GANConfig, ["--config", str(path), "--nf", "8"])
    assert (c.scale, c.psnr_epochs, c.nf) == (2, 3, 8)


def test_unknown_setting_in_file_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"epochz": 3}))
    with pytest.raises(ValueError, match="unknown settings"):
        _parse(CNNConfig, ["--config", str(path)])
