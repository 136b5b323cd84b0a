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


def test_runs_saved_before_a_setting_existed_still_resume(tmp_path):
    import json

    import pytest

    from hdsr_tf.config import GANConfig, to_dict
    from hdsr_tf.errors import RunDirError
    from hdsr_tf.training import run_dir

    config = to_dict(GANConfig(out_dir=str(tmp_path)))
    old = {k: v for k, v in config.items() if k not in ("shift_augment", "pixel_loss")}
    (tmp_path / "config.json").write_text(json.dumps(old))
    assert run_dir.prepare(tmp_path, config) == tmp_path  # missing settings meant "off" / "l1"
    (tmp_path / "config.json").write_text(json.dumps(old))
    with pytest.raises(RunDirError, match="shift_augment: 0 -> 3"):
        run_dir.prepare(tmp_path, {**config, "shift_augment": 3})
