"""Each shipped model reproduces from its config file: the architecture its config builds is the
one shipped (layer by layer, with the same parameter counts), and each COMMAND.md names those files."""

import json
import re
from pathlib import Path

import pytest

from hdsr_tf.config import CNNConfig, DetectorConfig, GANConfig, HybridConfig, LineReaderConfig
from hdsr_tf.data.lines import HEIGHT
from hdsr_tf.models import load_model
from hdsr_tf.models.cnn import build_detector, with_no_digit_head
from hdsr_tf.models.crnn import build_line_reader
from hdsr_tf.models.hybrid import build_hybrid
from hdsr_tf.training import classifier, detector, line_reader, super_resolution

SHIPPED = Path(__file__).resolve().parents[1] / "saved_models"

# model file -> (job, the config file whose run wrote it)
MADE_BY = {
    "cnn/recognizer.keras": ("cnn", "cnn/config.json"),
    "lowres_cnn_x4/recognizer.keras": ("cnn", "lowres_cnn_x4/config.json"),
    "lowres_cnn_x2/recognizer.keras": ("cnn", "lowres_cnn_x2/config.json"),
    "esrgan_x4/generator_psnr.keras": ("gan", "esrgan_x4/config.json"),
    "esrgan_x4/generator_gan.keras": ("gan", "esrgan_x4/config_4_ssim2_ft_gan.json"),
    "esrgan_x4_wide/generator_psnr.keras": ("gan", "esrgan_x4_wide/config.json"),
    "esrgan_x4_wide/generator_gan.keras": ("gan", "esrgan_x4_wide/config_1_psnr_gan.json"),
    "esrgan_x2/generator_psnr.keras": ("gan", "esrgan_x2/config.json"),
    "esrgan_x2/generator_gan.keras": ("gan", "esrgan_x2/config_1_psnr_gan.json"),
    "esrgan_x2_wide/generator_psnr.keras": ("gan", "esrgan_x2_wide/config.json"),
    "hybrid_x4/hybrid.keras": ("hybrid", "hybrid_x4/config.json"),
    "hybrid_x2/hybrid.keras": ("hybrid", "hybrid_x2/config.json"),
    "cnn_robust/recognizer.keras": ("cnn", "cnn_robust/config.json"),
    "rival_blind/recognizer.keras": ("cnn", "rival_blind/config.json"),
    "esrgan_x4_blind/generator_psnr.keras": ("gan", "esrgan_x4_blind/config.json"),
    "esrgan_any_size/generator_psnr.keras": ("gan", "esrgan_any_size/config.json"),
    "hybrid_x4_blind/hybrid.keras": ("hybrid", "hybrid_x4_blind/config.json"),
    "detector/detector.keras": ("detector", "detector/config.json"),
    "rival_blind_head/reader_with_head.keras": ("head", "rival_blind_head/config.json"),
    "cnn_robust_head/reader_with_head.keras": ("head", "cnn_robust_head/config.json"),
    "line_reader/line_reader.keras": ("line_reader", "line_reader/config.json"),
}
# where a hybrid config's --generator comes from: a shipped file, or the run of one of these configs
GENERATOR_RUNS = {"saved_models/esrgan_x4/generator_gan.keras": "esrgan_x4/config_4_ssim2_ft_gan.json",
                  "runs/esrgan_x2/psnr/generator.keras": "esrgan_x2/config_1_psnr_gan.json",
                  "runs/esrgan_x4_blind/psnr/generator.keras": "esrgan_x4_blind/config.json"}
# and its --recognizer (a head's --reader is the shipped file itself)
RECOGNIZER_RUNS = {"saved_models/cnn/recognizer.keras": "cnn/config.json",
                   "runs/cnn_robust/recognizer.keras": "cnn_robust/config.json"}


def _config(cls, name):
    return cls(**json.loads((SHIPPED / name).read_text()))


def _architecture(model):
    return [(layer.name, layer.__class__.__name__, layer.count_params()) for layer in model.layers]


def _built(job, config_file):
    if job == "cnn":
        return classifier.build_model(_config(CNNConfig, config_file))
    if job == "gan":
        return super_resolution.build_model(_config(GANConfig, config_file))
    if job == "detector":
        return build_detector(detector.widths(_config(DetectorConfig, config_file)))
    if job == "head":  # the shipped reader its config names, its own config rebuilding it, with the head
        config = _config(DetectorConfig, config_file)
        reader_folder = Path(config.reader).parent.name
        reader = classifier.build_model(_config(CNNConfig, f"{reader_folder}/config.json"))
        return with_no_digit_head(reader, config.head_units, config.head_conv)
    if job == "line_reader":
        config = _config(LineReaderConfig, config_file)
        return build_line_reader(line_reader.filters(config), config.units, HEIGHT)
    config = _config(HybridConfig, config_file)
    generator = super_resolution.build_model(_config(GANConfig, GENERATOR_RUNS[config.generator]))
    recognizer = classifier.build_model(_config(CNNConfig, RECOGNIZER_RUNS[config.recognizer]))
    return build_hybrid(generator, recognizer)


def test_every_shipped_model_names_the_config_that_made_it():
    assert {str(p.relative_to(SHIPPED)) for p in SHIPPED.rglob("*.keras")} == set(MADE_BY)


@pytest.mark.parametrize("model_file", sorted(MADE_BY))
def test_config_builds_the_shipped_architecture(model_file):
    job, config_file = MADE_BY[model_file]
    shipped, built = load_model(SHIPPED / model_file), _built(job, config_file)
    assert _architecture(built) == _architecture(shipped)
    assert built.count_params() == shipped.count_params()


@pytest.mark.parametrize("folder", sorted({m.split("/")[0] for m in MADE_BY}))
def test_command_md_runs_every_config_of_its_folder(folder):
    command = (SHIPPED / folder / "COMMAND.md").read_text()
    named = set(re.findall(rf"--config saved_models/{folder}/(\S+\.json)", command))
    assert named == {p.name for p in (SHIPPED / folder).glob("config*.json")}


def test_fine_tuning_chains_start_from_the_previous_run():
    for config_file in sorted(SHIPPED.rglob("config*.json")):
        data = json.loads(config_file.read_text())
        for start in (data.get("init_generator") or data.get("generator", ""), data.get("recognizer", "")):
            if start.startswith("runs/"):
                out_dir = start.split("/psnr/")[0].removesuffix("/recognizer.keras")
                makers = [p for p in SHIPPED.rglob("config*.json") if json.loads(p.read_text())["out_dir"] == out_dir]
                assert makers, f"{config_file}: no shipped config writes {start}"
