"""The CTranslate2 -> openai-whisper converter and the converted-weights cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from whisper.model import ModelDimensions, Whisper

from audiokit.errors import ModelError
from audiokit.models.whisper import resolve_model
from audiokit.models.whisper.convert import convert_ctranslate2, load_checkpoint, read_ctranslate2

TINY_EN_DIMS = {
    "n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6, "n_audio_layer": 4,
    "n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384, "n_text_head": 6, "n_text_layer": 4,
}


@pytest.fixture(scope="module")
def weights():
    return resolve_model("tiny.en")


@pytest.fixture(scope="module")
def checkpoint(weights):
    return convert_ctranslate2(weights.ctranslate2_dir)


def test_reader_sees_every_variable_and_the_alias(weights):
    variables, aliases = read_ctranslate2(weights.ctranslate2_dir / "model.bin")
    assert aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert variables["decoder/embeddings/weight"].shape == (51864, 384)
    assert variables["decoder/embeddings/weight"].dtype == np.float16
    assert int(variables["encoder/num_heads"]) == 6


def test_state_dict_loads_strictly(checkpoint):
    assert checkpoint["dims"] == TINY_EN_DIMS
    model = Whisper(ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict({k: v.float() for k, v in checkpoint["model_state_dict"].items()}, strict=True)
    # the output projection is the token embedding, as the alias says
    assert torch.equal(model.decoder.token_embedding.weight, checkpoint["model_state_dict"]["decoder.token_embedding.weight"].float())


def test_fused_attention_is_split(weights, checkpoint):
    variables, _ = read_ctranslate2(weights.ctranslate2_dir / "model.bin")
    state = checkpoint["model_state_dict"]
    fused = variables["decoder/layer_1/self_attention/linear_0/weight"]
    np.testing.assert_array_equal(state["decoder.blocks.1.attn.key.weight"].numpy(), fused[384:768])
    bias = variables["encoder/layer_2/self_attention/linear_0/bias"]
    assert not bias[384:768].any()  # the key bias CTranslate2 stores is zero
    kv = variables["decoder/layer_3/attention/linear_1/weight"]
    np.testing.assert_array_equal(state["decoder.blocks.3.cross_attn.value.weight"].numpy(), kv[384:])


def test_alignment_heads_come_from_config(weights, checkpoint):
    config = json.loads((weights.ctranslate2_dir / "config.json").read_text())
    assert checkpoint["alignment_heads"].tolist() == config["alignment_heads"]


def test_cache_is_reused_and_checked(weights, tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOKIT_CACHE", str(tmp_path))
    first = load_checkpoint(weights)
    cached = sorted(p.name for p in (tmp_path / "whisper").iterdir())
    assert cached == [f"tiny.en-{weights.spec.sha256[:16]}.pt", f"tiny.en-{weights.spec.sha256[:16]}.pt.sha256"]
    second = load_checkpoint(weights)
    assert torch.equal(first["model_state_dict"]["encoder.conv1.weight"], second["model_state_dict"]["encoder.conv1.weight"])
    path = tmp_path / "whisper" / cached[0]
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelError, match="sha256"):
        load_checkpoint(weights)


def test_openai_checkpoint_path_loads(weights, tmp_path, monkeypatch, checkpoint):
    path = tmp_path / "tiny.pt"
    torch.save({"dims": checkpoint["dims"], "model_state_dict": checkpoint["model_state_dict"]}, path)
    local = resolve_model(path)
    assert local.checkpoint == path and local.ctranslate2_dir is None
    assert load_checkpoint(local)["alignment_heads"] is None


def test_not_a_model_bin(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\x05\x00\x00\x00junk")
    with pytest.raises(ModelError, match="version 5"):
        read_ctranslate2(tmp_path / "model.bin")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="tokenizer.json"):
        resolve_model(tmp_path)
