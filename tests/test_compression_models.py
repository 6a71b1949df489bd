"""The chapter's trained models: stored small, checked on load, and scored deterministically."""

from __future__ import annotations

import shutil

import pytest
import torch

from llmscale.experiments import ResultsError
from llmscale.experiments import compression_models as cm
from llmscale.experiments import load as load_record


def test_stored_weights_are_small_and_16_bit():
    total = sum(cm.weights_path(lang).stat().st_size for lang in cm.LANGUAGES)
    assert total <= 20e6
    from safetensors.torch import load_file

    assert {v.dtype for v in load_file(str(cm.weights_path("markov"))).values()} == {cm.STORAGE_DTYPE}


@pytest.mark.parametrize("language", cm.LANGUAGES)
def test_load_gives_the_float32_upcast_in_eval_mode_and_its_recorded_val_loss(language):
    model = cm.load(language)
    assert not model.training and next(model.parameters()).dtype == torch.float32
    record = load_record(cm.NAME)["data"][language]
    assert model.num_params() == record["n_params"]
    first, second = cm.val_loss(model, language), cm.val_loss(cm.load(language), language)
    assert first == second  # deterministic
    assert first == pytest.approx(record["val_loss"], abs=1e-5)


def test_markov_model_is_near_its_entropy_rate_and_english_has_none():
    assert cm.entropy_rate("english") is None
    record = load_record(cm.NAME)["data"]["markov"]
    assert 0 < record["val_loss"] - cm.entropy_rate("markov") < 0.1


def test_calibration_windows_come_from_the_training_split_and_are_seeded():
    a, b = cm.calibration_windows("markov", 4, 32, seed=0), cm.calibration_windows("markov", 4, 32, seed=0)
    assert a.shape == (4, 32) and torch.equal(a, b)
    assert not torch.equal(a, cm.calibration_windows("markov", 4, 32, seed=1))


def test_a_damaged_weights_file_is_refused_naming_the_command(tmp_path, monkeypatch):
    for lang in cm.LANGUAGES:
        shutil.copy(cm.weights_path(lang), tmp_path / cm.weights_path(lang).name)
    monkeypatch.setattr(cm, "WEIGHTS_DIR", tmp_path)
    target = tmp_path / cm.weights_path("english").name
    data = bytearray(target.read_bytes())
    data[-10] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(ResultsError, match="python -m llmscale run compression-models"):
        cm.load("english")
    target.unlink()
    with pytest.raises(ResultsError, match="missing.*python -m llmscale run compression-models"):
        cm.load("english")


def test_an_unknown_language_is_a_value_error():
    with pytest.raises(ValueError, match="language"):
        cm.load("french")
