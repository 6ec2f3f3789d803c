"""The torch ports of musicnn: front end, parity with musicnn itself, sanity on synthesized music.

Two kinds of stored outputs:

- ``golden/musicnn_reference.npz``: the **reference**, made by the original
  musicnn 0.1.0 package (TensorFlow 1.15) on the parity clips of
  :func:`parity_clips`; how, with which versions and command, is in
  ``golden/PROVENANCE.json``. Regenerate with ``tools/musicnn_golden.py``.
- ``test_tagging_golden.npz``: a **regression file** made by audiokit itself
  (it proves only that the port's outputs did not move); regenerate it (after an
  intended change only) with::

      python tests/models/test_tagging_models.py
"""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the ml extra is required")  # CI installs it: never skips there

import audiokit  # noqa: E402
from audiokit import Audio  # noqa: E402
from audiokit.errors import ModelError, ParameterError  # noqa: E402
from audiokit.models import tag  # noqa: E402
from audiokit.models.tagging import (  # noqa: E402
    MODELS,
    TagResult,
    registry,  # noqa: E402
)
from audiokit.models.tagging.frontend import PATCH_FRAMES, SAMPLE_RATE, MelFrontEnd, log_mel, patches  # noqa: E402

GOLDEN = Path(__file__).with_name("test_tagging_golden.npz")
REFERENCE = Path(__file__).with_name("golden") / "musicnn_reference.npz"
EXAMPLE = Path(__file__).parents[2] / "examples" / "example.flac"
#: sigmoid outputs of the networks on fixed input patches (float32 summation order only)
NETWORK_ATOL = 1e-4
#: end to end through the front end, where a float16 rounding may flip
END_TO_END_ATOL = 2e-3
# Against musicnn's own outputs (golden/musicnn_reference.npz), 10x the largest difference measured
# over the 4 parity clips x 4 models when the reference was made (float32 summation order only):
#: sigmoid scores of the networks on musicnn's own input patches (measured 5.4e-7)
REFERENCE_NETWORK_ATOL = 5e-6
#: per-patch embeddings (penultimate layer / VGG pool5) on musicnn's patches (measured 4.1e-6)
REFERENCE_EMBEDDING_ATOL = 4e-5
#: tag() timelines from the clip's samples, audiokit's front end included (measured 2.5e-6)
REFERENCE_TIMELINE_ATOL = 2.5e-5
#: tag() embedding means against the mean of musicnn's per-patch embeddings (measured 1.6e-5)
REFERENCE_MEAN_EMBEDDING_ATOL = 1.6e-4


def drum_loop(*, bpm: float = 128.0, duration_s: float = 12.0, seed: int = 1) -> np.ndarray:
    """Kick on 1 and 3, snare on 2 and 4, closed hi-hat on eighths; (frames,) at 16 kHz."""
    rng = np.random.default_rng(seed)
    x = np.zeros(round(duration_s * SAMPLE_RATE))
    t = np.arange(round(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-t * 30)) * t) * np.exp(-t * 12)
    snare = rng.standard_normal(t.size) * np.exp(-t * 20) * 0.6 + 0.3 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 25)
    hat = np.diff(rng.standard_normal(t.size + 1)) * np.exp(-t * 80) * 0.2
    eighth = 30.0 / bpm
    for k in range(int((duration_s - 0.3) / eighth) + 1):
        start = round(k * eighth * SAMPLE_RATE)
        x[start : start + t.size] += hat + (kick if k % 4 == 0 else snare if k % 4 == 2 else 0)
    return (0.8 * x / np.abs(x).max()).astype(np.float32)


def string_section(*, duration_s: float = 12.0) -> np.ndarray:
    """Bowed-string-like chords (G, Am, F, G): detuned harmonic voices with vibrato; (frames,)."""
    t = np.arange(round(duration_s * SAMPLE_RATE)) / SAMPLE_RATE
    chords = [[196, 246.9, 293.7, 392], [220, 261.6, 329.6, 440], [174.6, 220, 261.6, 349.2], [196, 246.9, 293.7, 392]]
    seg = duration_s / len(chords)
    x = np.zeros_like(t)
    for index, chord in enumerate(chords):
        inside = (t >= index * seg) & (t < (index + 1) * seg)
        envelope = np.clip(np.minimum((t - index * seg) / 0.4, ((index + 1) * seg - t) / 0.4), 0, 1)
        for frequency in chord:
            for voice in range(3):
                vibrato = 1 + 0.004 * np.sin(2 * np.pi * (5 + voice * 0.3) * t + voice)
                phase = 2 * np.pi * np.cumsum(frequency * (1 + 0.002 * (voice - 1)) * vibrato) / SAMPLE_RATE
                for harmonic in range(1, 12):
                    x[inside] += (envelope * np.sin(harmonic * phase) / harmonic**1.3)[inside]
    return (0.7 * x / np.abs(x).max()).astype(np.float32)


def golden_signal() -> np.ndarray:
    """7 s: a drum loop under a string chord plus a little noise; (frames,) at 16 kHz."""
    noise = np.random.default_rng(7).uniform(-0.02, 0.02, 7 * SAMPLE_RATE)
    return (0.5 * drum_loop(duration_s=7.0) + 0.5 * string_section(duration_s=7.0) + noise).astype(np.float32)


def example_clip() -> np.ndarray:
    """examples/example.flac at 16 kHz, folded to mono as ``tag`` does; (frames,)."""
    from audiokit.channels import to_mono

    return to_mono(audiokit.read(EXAMPLE, sample_rate=SAMPLE_RATE).samples)[0]


@functools.cache
def parity_clips() -> dict[str, np.ndarray]:
    """The clips musicnn itself was run on (tools/musicnn_golden.py); (frames,) float32 at 16 kHz each."""
    return {"golden": golden_signal(), "drum_loop": drum_loop(), "string_section": string_section(),
            "example": example_clip()}


def golden_patches() -> np.ndarray:
    """Two fixed input patches: a smooth ramp pattern and seeded noise, shape (2, 187, 96)."""
    time, mel = np.meshgrid(np.arange(PATCH_FRAMES), np.arange(96), indexing="ij")
    ramp = 2.0 + np.sin(time / 9.0) * np.cos(mel / 7.0) + mel / 48.0
    noise = np.random.default_rng(3).uniform(0.0, 4.0, (PATCH_FRAMES, 96))
    return np.stack([ramp, noise]).astype(np.float32)


def compute_golden() -> dict[str, np.ndarray]:
    values = {}
    for name in MODELS:
        with torch.inference_mode():
            logits, embedding = registry.load_network(name)(torch.from_numpy(golden_patches()))
        values[f"{name}/network_scores"] = torch.sigmoid(logits).numpy()
        values[f"{name}/network_embedding"] = embedding.numpy()
    for result in tag(Audio(golden_signal(), SAMPLE_RATE), model="all"):
        values[f"{result.model}/tag_timeline"] = result.timeline
        values[f"{result.model}/tag_embedding"] = result.embedding
    return values


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE, allow_pickle=False) as data:
        return dict(data)


@pytest.mark.parametrize("name", list(MODELS))
def test_networks_match_musicnn_on_its_own_patches(name, reference):
    clips = [key.split("/")[0] for key in reference if key.endswith("/patches")]
    assert len(clips) == 4
    for clip in clips:
        with torch.inference_mode():
            logits, embedding = registry.load_network(name)(torch.from_numpy(reference[f"{clip}/patches"]))
        np.testing.assert_allclose(torch.sigmoid(logits).numpy(), reference[f"{clip}/{name}/scores"],
                                   atol=REFERENCE_NETWORK_ATOL, rtol=0, err_msg=clip)
        np.testing.assert_allclose(embedding.numpy(), reference[f"{clip}/{name}/embedding"],
                                   atol=REFERENCE_EMBEDDING_ATOL, rtol=0, err_msg=clip)


def test_tag_matches_musicnn_end_to_end(reference):
    """From the samples, through audiokit's front end: musicnn's taggram, embedding and top 10."""
    for clip, samples in parity_clips().items():
        for result in tag(Audio(samples, SAMPLE_RATE), model="all", top_k=10):
            expected = reference[f"{clip}/{result.model}/scores"]
            np.testing.assert_allclose(result.timeline, expected, atol=REFERENCE_TIMELINE_ATOL, rtol=0,
                                       err_msg=f"{clip} {result.model}")
            np.testing.assert_allclose(result.embedding, reference[f"{clip}/{result.model}/embedding"].mean(axis=0),
                                       atol=REFERENCE_MEAN_EMBEDDING_ATOL, rtol=0, err_msg=f"{clip} {result.model}")
            labels = reference[f"labels/{result.model[:3]}"]
            top_10 = [str(labels[i]) for i in np.argsort(-expected.mean(axis=0), kind="stable")[:10]]
            assert [label for label, _ in result.tags] == top_10, (clip, result.model)


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN, allow_pickle=False) as data:
        return dict(data)


@pytest.mark.parametrize("name", list(MODELS))
def test_networks_match_golden_outputs(name, golden):
    with torch.inference_mode():
        logits, embedding = registry.load_network(name)(torch.from_numpy(golden_patches()))
    np.testing.assert_allclose(torch.sigmoid(logits).numpy(), golden[f"{name}/network_scores"], atol=NETWORK_ATOL)
    np.testing.assert_allclose(embedding.numpy(), golden[f"{name}/network_embedding"], atol=10 * NETWORK_ATOL, rtol=1e-4)


def test_tag_matches_golden_end_to_end(golden):
    for result in tag(Audio(golden_signal(), SAMPLE_RATE), model="all"):
        np.testing.assert_allclose(result.timeline, golden[f"{result.model}/tag_timeline"], atol=END_TO_END_ATOL)
        np.testing.assert_allclose(result.embedding, golden[f"{result.model}/tag_embedding"], atol=0.02, rtol=1e-2)


def test_front_end_matches_librosa_and_is_chunk_invariant(rng):
    librosa = pytest.importorskip("librosa")
    x = (0.1 * rng.standard_normal(50_001)).astype(np.float32)
    reference = librosa.feature.melspectrogram(y=x, sr=SAMPLE_RATE, n_fft=512, hop_length=256, n_mels=96,
                                               pad_mode="reflect").T  # librosa 0.7's padding, as musicnn ran
    whole_front = MelFrontEnd()
    whole = np.concatenate([whole_front.process(x), whole_front.flush()])
    assert whole.shape == (1 + x.size // 256, 96)
    # only float16 roundings that land on the other side of a tie may differ
    np.testing.assert_allclose(whole, log_mel(reference), atol=1e-3)
    for size in (1, 255, 257, 4096):
        front = MelFrontEnd()
        chunks = [front.process(x[i : i + size]) for i in range(0, x.size, size)]
        np.testing.assert_array_equal(np.concatenate([*chunks, front.flush()]), whole)


def test_patches_drop_the_tail_and_repeat_short_input():
    rows = np.arange(400 * 96, dtype=np.float32).reshape(400, 96)
    assert patches(rows).shape == (2, PATCH_FRAMES, 96)
    short = patches(rows[:50])
    assert short.shape == (1, PATCH_FRAMES, 96)
    np.testing.assert_array_equal(short[0, 50:100], rows[:50])


@pytest.mark.parametrize(
    ("signal", "model", "expected"),
    [
        (drum_loop, "MTT_musicnn", {"drums", "beat", "techno"}),
        (drum_loop, "MSD_musicnn", {"electronic", "electro", "dance"}),
        (string_section, "MTT_musicnn", {"classical", "strings", "violin"}),
    ],
)
def test_synthesized_music_gets_the_obvious_tags(signal, model, expected):
    result = tag(Audio(signal(), SAMPLE_RATE), model=model, top_k=5)
    top = {label for label, _ in result.tags}
    assert expected <= top, result.tags


def test_example_track_result_shapes_and_order():
    result = tag(EXAMPLE, top_k=50)
    assert isinstance(result, TagResult) and result.model == "MTT_musicnn"
    assert result.timeline.shape == (6, 50)  # 20 s -> six whole 2.992 s patches
    np.testing.assert_allclose(result.patch_starts_s, np.arange(6) * 2.992)
    np.testing.assert_allclose(result.scores, result.timeline.mean(axis=0), rtol=1e-6)
    assert result.embedding.shape == (200,)
    scores = [score for _, score in result.tags]
    assert scores == sorted(scores, reverse=True) and len(scores) == 50
    document = result.to_dict()
    assert document["tags"][0]["label"] == result.tags[0][0]
    assert len(document["timeline"]["scores"]) == 6 and len(document["embedding"]) == 200


def test_embedding_mean_and_std_describe_the_patch_embeddings():
    signal = np.concatenate([drum_loop(duration_s=6.0), string_section(duration_s=6.0)])
    result = tag(Audio(signal, SAMPLE_RATE))
    assert result.embedding.shape == result.embedding_std.shape == (200,)
    with torch.inference_mode():
        rows = MelFrontEnd().process(signal)
        _, per_patch = registry.load_network("MTT_musicnn")(torch.from_numpy(patches(rows)))
    per_patch = per_patch.numpy()
    assert per_patch.shape[0] == 4  # two drum patches, two string patches (the flush adds < 1 patch)
    np.testing.assert_allclose(result.embedding, per_patch.mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(result.embedding_std, per_patch.std(axis=0), atol=1e-4)
    assert result.embedding_std.max() > 0.1  # drums and strings differ
    single = tag(Audio(drum_loop(duration_s=2.0), SAMPLE_RATE))
    np.testing.assert_array_equal(single.embedding_std, np.zeros(200, np.float32))
    assert len(result.to_dict()["embedding_std"]) == 200


def test_a_list_of_models_shares_one_pass_and_matches_single_runs():
    signal = Audio(golden_signal(), SAMPLE_RATE)
    both = tag(signal, model=["MSD_musicnn", "MTT_musicnn"], top_k=3)
    assert [result.model for result in both] == ["MSD_musicnn", "MTT_musicnn"]
    for result in both:
        alone = tag(signal, model=result.model, top_k=3)
        np.testing.assert_array_equal(result.timeline, alone.timeline)
        assert result.tags == alone.tags
    with pytest.raises(ParameterError, match="name each model once"):
        tag(signal, model=["MTT_musicnn", "MTT_musicnn"])
    with pytest.raises(ParameterError, match="model is 'MTT'"):
        tag(signal, model=["MTT_musicnn", "MTT"])


def test_thread_count_is_set_once_and_validated(monkeypatch):
    from audiokit.models.tagging import tagger

    before = torch.get_num_threads()
    monkeypatch.setattr(tagger, "_threads_set", None)
    monkeypatch.setenv(tagger.THREADS_ENV, "1")
    try:
        assert tagger.configure_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv(tagger.THREADS_ENV, "3")
        assert tagger.configure_threads() == 1  # chosen once; later calls keep it
        monkeypatch.setattr(tagger, "_threads_set", None)
        monkeypatch.setenv(tagger.THREADS_ENV, "many")
        with pytest.raises(ParameterError, match="AUDIOKIT_TORCH_THREADS is 'many'"):
            tagger.configure_threads()
        with pytest.raises(ParameterError, match="threads is 0"):
            tagger.configure_threads(0)
    finally:
        torch.set_num_threads(before)


def test_fused_branches_equal_the_reference_layer_order():
    """conv -> ReLU -> BN -> max over mel, written out, against the fused forward pass."""
    from torch.nn import functional as F

    network = registry.load_network("MSD_musicnn")
    x = torch.from_numpy(golden_patches()).unsqueeze(1)
    with torch.inference_mode():
        x = network.input_bn(x)
        for branch in (*network.timbral, *network.temporal):
            pad = (branch.conv.padding[0] - branch.skip, branch.conv.padding[0])
            y = F.conv2d(F.pad(x, (0, 0, *pad)), branch.conv.weight, branch.conv.bias)
            bn = branch.bn
            reference = ((F.relu(y) - bn.running_mean[:, None, None]) / torch.sqrt(bn.running_var[:, None, None] + bn.eps)
                         * bn.weight[:, None, None] + bn.bias[:, None, None]).amax(dim=3)
            assert (bn.weight < 0).any() and (bn.weight > 0).any()  # both cases of the min/max rule run
            np.testing.assert_allclose(branch(x).numpy(), reference.numpy(), atol=1e-4, rtol=1e-5)


def test_stereo_and_rate_are_handled_at_the_boundary():
    mono = drum_loop(duration_s=6.0)
    stereo_44k = np.stack([mono, mono])
    from audiokit.io.resample import resample

    upsampled = resample(stereo_44k, SAMPLE_RATE, 44100)
    a = tag(Audio(mono, SAMPLE_RATE), top_k=2)
    b = tag(Audio(upsampled, 44100), top_k=2)
    assert [label for label, _ in a.tags] == [label for label, _ in b.tags]
    # the round trip through 44.1 kHz loses a little of the band edge near 8 kHz
    np.testing.assert_allclose(a.scores, b.scores, atol=0.05)


def test_short_signal_is_repeat_padded_to_one_patch():
    result = tag(Audio(drum_loop(duration_s=1.0), SAMPLE_RATE), model="MSD_musicnn")
    assert result.timeline.shape == (1, 50)


def test_parameter_errors():
    signal = Audio(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    with pytest.raises(ParameterError, match="model is 'MTT'"):
        tag(signal, model="MTT")
    with pytest.raises(ParameterError, match="top_k is 0"):
        tag(signal, top_k=0)
    with pytest.raises(ParameterError, match="expected a file path or an audiokit.Audio"):
        tag(np.zeros(16000))
    with pytest.raises(ParameterError, match="at least 512"):
        tag(Audio(np.zeros(100, np.float32), SAMPLE_RATE))
    with pytest.raises(ParameterError, match="device is 'tpu'"):
        tag(signal, device="tpu")


@pytest.mark.parametrize("gpu", [False, True])
def test_auto_device_follows_what_torch_sees(monkeypatch, gpu):
    # On a machine without a GPU, comparing "auto" with "cpu" compares the CPU with itself;
    # what can be checked anywhere is the rule that picks the device.
    import torch

    from audiokit.models._registry import torch_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert torch_device("auto") == ("cuda" if gpu else "cpu")
    assert torch_device("cpu") == "cpu"


def test_cuda_without_a_gpu_is_a_parameter_error(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ParameterError, match="no CUDA GPU"):
        tag(Audio(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE), device="cuda")


def test_weights_with_a_wrong_checksum_are_refused(tmp_path, monkeypatch):
    (tmp_path / "MTT_musicnn.safetensors").write_bytes(b"not the weights")
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    registry.load_network.cache_clear()
    try:
        with pytest.raises(ModelError, match="sha256"):
            registry.load_network("MTT_musicnn")
    finally:
        registry.load_network.cache_clear()


def test_committed_weights_match_the_registry():
    for spec in MODELS.values():
        assert (registry.WEIGHTS_DIR / f"{spec.name}.safetensors").is_file()
        assert spec.weights.license == "ISC" and spec.weights.sample_rate == SAMPLE_RATE
        assert "musicnn==0.1.0" in spec.weights.source


def test_importing_models_does_not_import_torch():
    code = "import sys, audiokit.models, audiokit.models.tagging; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


if __name__ == "__main__":
    np.savez_compressed(GOLDEN, **compute_golden())
    print(f"wrote {GOLDEN}")
