import argparse
import json
import re
from pathlib import Path

import pytest
from conftest import run_script

from hdsr_tf.config import CNNConfig, GANConfig, HybridConfig, add_arguments, from_args, to_dict
from hdsr_tf.errors import RunDirError
from hdsr_tf.training.resume import open_run_dir


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


@pytest.mark.parametrize("content,message", [('{"epochz": 3}', "unknown settings"), ("scale: 2", "not valid JSON"),
                                             ("[1, 2]", "JSON object")])
def test_a_bad_config_file_is_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        _parse(CNNConfig, ["--config", str(path)])


def test_precision_must_be_a_known_policy():
    with pytest.raises(ValueError, match="--precision must be one of"):
        _parse(HybridConfig, ["--precision", "bfloat16"])


def test_a_run_with_other_settings_is_refused_but_more_epochs_resume(tmp_path):
    config = to_dict(GANConfig(out_dir=str(tmp_path)))
    assert open_run_dir(tmp_path, config) == tmp_path
    assert open_run_dir(tmp_path, {**config, "psnr_epochs": 30}) == tmp_path
    with pytest.raises(RunDirError, match="shift_augment: 0 -> 3"):
        open_run_dir(tmp_path, {**config, "shift_augment": 3})


SCRIPTS = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "scripts").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_help_shows_defaults(script):
    proc = run_script(script, "--help", timeout=120)
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert "default" in proc.stdout and "Traceback" not in proc.stderr
    for removed in ("--grow-blocks", "--recognition-weight", "--ema-momentum", "--bfloat16", "--mixed-precision"):
        assert not re.search(re.escape(removed) + r"(?![\w-])", proc.stdout), removed


def test_train_hybrid_help_names_one_default_mode():
    proc = run_script("train_hybrid.py", "--help", timeout=120)
    assert "--mode both (default)" in proc.stdout and "(default: 'both')" in proc.stdout
    assert "generator (default)" not in proc.stdout
