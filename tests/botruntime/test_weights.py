"""The natural stack's models: found by their settings or in their packages, a missing one
named at start-up by the system check, and the real models loading and working."""

import numpy as np
import pytest
from django.test import override_settings

from botruntime import neural, weights
from campaigns.lifecycle import startability_problems
from dialer_site.checks import voice_models
from tests import factory


def test_the_packaged_models_pass_the_system_check():
    assert voice_models(None) == []


@pytest.mark.parametrize("setting", ["WHISPER_MODEL_PATH", "PIPER_VOICE_PATH", "INTENT_MODEL_PATH"])
def test_a_model_path_that_points_nowhere_is_an_error_naming_the_setting(setting, tmp_path):
    with override_settings(**{setting: str(tmp_path / "missing")}):
        errors = voice_models(None)
    assert [error.id for error in errors] == ["dialer.E005"]
    assert errors[0].msg.startswith(f"{setting}: ") and "does not exist" in errors[0].msg


def test_a_piper_voice_without_its_config_is_refused(tmp_path):
    voice = tmp_path / "voice.onnx"
    voice.write_bytes(b"")
    with pytest.raises(weights.MissingModel, match=r"PIPER_VOICE_PATH: .* no voice\.onnx\.json"):
        weights.piper_voice(str(voice))


def test_the_whisper_parts_are_joined_into_one_model():
    part1, part2, *_files = weights.whisper_parts()
    directory = weights.whisper_model_dir("")
    assert (directory / "model.bin").stat().st_size == part1.stat().st_size + part2.stat().st_size
    assert {"config.json", "tokenizer.json", "vocabulary.json"} <= {p.name for p in directory.iterdir()}


def test_piper_speaks_and_whisper_hears_it_on_a_phone_line():
    """Both real models, in this process: Piper's 8 kHz speech, Whisper's transcript."""
    voice = str(weights.piper_voice(""))
    pcm = neural.synthesize(voice, "Please call me back tomorrow.", 8000)
    assert len(pcm) / 2 / 8000 > 1.0  # over a second of speech at the line's rate
    heard = neural.transcribe(str(weights.whisper_model_dir("")), "call me back tomorrow", pcm, 8000)
    assert "call me back tomorrow" in heard.lower()


def test_the_sentence_encoder_puts_paraphrases_near_each_other():
    model, tokenizer = (str(path) for path in weights.intent_model(""))
    vectors = neural.embed(model, tokenizer, ["take me off your list", "remove my number",
                                              "the weather is nice"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


@pytest.mark.django_db
def test_a_natural_campaign_without_its_model_cannot_start(tmp_path):
    campaign = factory.campaign(voice_stack="natural", caller_id="+12025550100")
    factory.lead(campaign, factory.dana("+12025550131"))
    with override_settings(WHISPER_MODEL_PATH=str(tmp_path / "nowhere")):
        problems = startability_problems(campaign)
        campaign.voice_stack = "lite"
        assert not [p for p in startability_problems(campaign) if "model" in p]
    assert [p for p in problems if "WHISPER_MODEL_PATH" in p] == [
        f"The natural voice stack cannot find a model: WHISPER_MODEL_PATH: '{tmp_path / 'nowhere'}' "
        "does not exist."]
