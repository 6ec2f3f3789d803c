"""The two Whisper runtimes behind :func:`~audiokit.models.whisper.transcribe`, and the long-form decoder.

``openai``: openai-whisper's PyTorch model on weights converted by
:mod:`.convert` (float32 on CPU, dynamic int8 Linear layers on request,
float16 on CUDA). ``faster``: faster-whisper's CTranslate2 model on the
registry directory as is (int8 on CPU, float16 on CUDA).

Both decode a batch of <= 30 s windows in one encoder pass and one beam
search, and share everything after token generation (whisper/transcribe.py's
rules, applied per window):

- temperature fallback: a window whose text compresses too well (gzip ratio
  above 2.4: a repetition loop) or whose mean token log-probability is below
  -1 is decoded again at the next temperature (0.2, 0.4, ... 1.0, best of 5
  samples), unless Whisper calls it silent;
- silence: no-speech probability above 0.6 with mean log-probability below
  -1 (and, without VAD, above 0.9 alone);
- seeking: a window's tokens split into segments at timestamp tokens; when
  the window ends inside a segment, or the model stops while the VAD still
  hears speech after its last segment, the text after the last closed
  segment is not kept and the next window starts at that timestamp, so
  speech at a chunk's edge is decoded again instead of dropped;
- the text kept so far is the prompt of the next window (condition on
  previous text), after the optional initial prompt; the prompt resets after
  a window decoded above temperature 0.5;
- skipped speech: a prompted window that leaves a stretch of VAD speech of
  at least 0.8 s without an aligned word, in the part of the window it hands
  on as done, is decoded again from the initial prompt alone, and the
  decoding that leaves less speech without words is kept. Conditioning on
  previous text fails this way: the decoder jumps over a sentence, or writes
  a phrase it has seen in the prompt ("Bye.", "Thank you.") over seconds of
  speech, and the prompt then carries the phrase into every later window.
  When the unprompted decoding is kept, the prompt restarts from it.

Words are aligned to audio with the cross-attention heads named in the
weights' config (dynamic time warping). The two backends differ only in the
numbers their kernels produce.
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from audiokit.errors import ModelError, ParameterError

from .._registry import require, torch_device
from .registry import SAMPLE_RATE, WhisperWeights
from .result import Segment, Word
from .vad import Chunk

__all__ = ["BACKENDS", "COMPUTE_TYPES", "DEFAULT_TEMPERATURES", "DecodingOptions", "load_backend"]

#: Backend names, as ``transcribe(backend=...)`` takes them.
BACKENDS = ("openai", "faster")
#: Accepted ``compute_type`` values; "default" picks per backend and device.
COMPUTE_TYPES = ("default", "float32", "float16", "int8")
#: whisper's default temperature schedule (whisper/transcribe.py, faster-whisper's transcribe()).
DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: Without VAD, a window whose no-speech probability exceeds this is silence whatever its
#: log-probability: tiny.en writes "you" over 5 s of digital silence (no-speech 0.95, log-prob -0.67).
CONFIDENT_NO_SPEECH_THRESHOLD = 0.9
#: Seconds per timestamp token.
TIME_PRECISION_S = 0.02
#: Punctuation merged into the following / preceding word (whisper's defaults).
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
#: Mel frames per second (hop of 160 samples at 16 kHz).
FRAMES_PER_SECOND = 100
#: Samples and mel frames in Whisper's 30 s window.
N_SAMPLES = 30 * SAMPLE_RATE
N_FRAMES = 30 * FRAMES_PER_SECOND
#: Latest first timestamp the decoder may emit, seconds (whisper's max_initial_timestamp).
MAX_INITIAL_TIMESTAMP_S = 1.0
#: A window is decoded again from its last closed segment only if that moves it at least this far, s.
MIN_SEEK_S = 1.0
#: Speech the VAD found after a window's last segment that makes it decode on, s.
MIN_SPEECH_LEFT_S = 0.4
#: A stretch of VAD speech at least this long that no aligned word comes near was skipped by the decoder, s.
MIN_UNHEARD_REGION_S = 0.8
#: How near an aligned word must come to a stretch of speech to count as hearing it, s.
WORD_REACH_S = 0.2
#: Windows decoded per chunk at most (a 30 s chunk needs 2 or 3).
MAX_WINDOWS_PER_CHUNK = 12


@dataclass(frozen=True)
class DecodingOptions:
    """How every window is decoded; names and defaults are whisper's ``transcribe()`` options."""

    #: beams of the beam search at temperature 0; 1 decodes greedily
    beam_size: int = 5
    #: samples drawn at each temperature above 0; the most probable is kept
    best_of: int = 5
    #: temperatures tried in order until a window passes the two thresholds below
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    #: a window whose text's gzip compression ratio exceeds this is a repetition loop (None: never)
    compression_ratio_threshold: float | None = 2.4
    #: a window whose mean token log-probability is below this is decoded again (None: never)
    log_prob_threshold: float | None = -1.0
    #: a window with no-speech probability above this and log-probability below
    #: ``log_prob_threshold`` is silence (None: never)
    no_speech_threshold: float | None = 0.6
    #: prompt each window with the text kept so far in its chunk
    condition_on_previous_text: bool = True
    #: the prompt resets after a window decoded above this temperature
    prompt_reset_on_temperature: float = 0.5
    #: text the first window is prompted with (and every window after a prompt reset): names, spellings, style
    initial_prompt: str | None = None

    def __post_init__(self) -> None:
        for name in ("beam_size", "best_of"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"{name} is {value!r}; expected a positive integer")
        temperatures = self.temperatures
        if (not isinstance(temperatures, tuple) or not temperatures
                or any(not 0.0 <= float(t) <= 2.0 for t in temperatures)):
            raise ParameterError(f"temperatures is {temperatures!r}; expected a non-empty tuple of values in 0..2, "
                                 "e.g. (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)")
        if self.initial_prompt is not None and not isinstance(self.initial_prompt, str):
            raise ParameterError(f"initial_prompt is a {type(self.initial_prompt).__name__}; expected str or None")

    def to_dict(self) -> dict:
        """The options as a JSON-ready dict."""
        return asdict(self)


def load_backend(name: str, weights: WhisperWeights, *, device: str, compute_type: str, num_threads: int) -> "_Backend":
    """A loaded backend, shared between calls with the same arguments.

    Parameters
    ----------
    name : {"openai", "faster"}
    weights : WhisperWeights
    device : {"auto", "cpu", "cuda"}
    compute_type : {"default", "float32", "float16", "int8"}
    num_threads : int
        CPU threads for the model; 0 keeps the runtime's default.

    Raises
    ------
    ParameterError
        For an unknown backend, device or compute type, or a combination the
        runtime cannot run (float16 on CPU, the faster backend on a ``.pt``).
    MissingDependencyError
        If torch, openai-whisper or faster-whisper is not installed.
    """
    if name not in BACKENDS:
        raise ParameterError(f"backend is {name!r}; expected one of {', '.join(BACKENDS)}")
    if device not in ("auto", "cpu", "cuda"):
        raise ParameterError(f"device is {device!r}; expected 'auto', 'cpu' or 'cuda'")
    if compute_type not in COMPUTE_TYPES:
        raise ParameterError(f"compute_type is {compute_type!r}; expected one of {', '.join(COMPUTE_TYPES)}")
    if name == "faster" and weights.ctranslate2_dir is None:
        raise ParameterError(
            f"the faster backend needs a CTranslate2 model directory; {weights.name} is an "
            "openai-whisper checkpoint: use backend='openai'"
        )
    cls = _OpenAIBackend if name == "openai" else _FasterBackend
    return _cached_backend(cls, weights, device, compute_type, num_threads)


@lru_cache(maxsize=4)
def _cached_backend(cls: type[_OpenAIBackend] | type[_FasterBackend], weights: WhisperWeights, device: str, compute_type: str,
                    num_threads: int) -> "_Backend":
    return cls(weights, device=device, compute_type=compute_type, num_threads=num_threads)


@dataclass
class _Generated:
    """One decoding of one window."""

    tokens: list
    avg_logprob: float
    no_speech_prob: float
    temperature: float
    compression_ratio: float


@dataclass
class WindowResult:
    """What one window contributes to its chunk: kept segments and where the next window starts."""

    #: segments in input time
    segments: list
    #: next window's start, samples from the chunk's start; None when the chunk is done
    next_seek: int | None
    #: tokens of the kept segments, timestamps included (the next window's prompt, when conditioning)
    tokens: list
    #: temperature the kept decoding used
    temperature: float
    #: the kept decoding ignored the previous text, which had made the decoder skip speech:
    #: the prompt restarts after this window
    unprompted: bool = False


class _Backend(ABC):
    """Shared decoding logic; subclasses load a model and generate tokens."""

    #: "openai" or "faster"
    name: str
    #: "cpu" or "cuda", resolved
    device: str
    #: precision actually used
    compute_type: str
    #: whether the vocabulary has language tokens
    multilingual: bool

    @abstractmethod
    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        """Most likely language of ``samples`` (shape (n,), 16 kHz, <= 30 s) and its probability."""

    def check_language(self, language: str | None) -> str | None:
        """Validate ``language`` for this model; English-only models accept only None and "en"."""
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        if language is None:
            return None if self.multilingual else "en"
        language = language.lower()
        if not self.multilingual and language != "en":
            raise ParameterError(f"language is {language!r} but the model is English-only; pass 'en' or None")
        if language not in _LANGUAGE_CODES:
            raise ParameterError(f"language is {language!r}; expected an ISO 639-1 code Whisper knows, e.g. 'en', 'de'")
        return language

    def tokenizer(self, language: str) -> Any:
        """The runtime's tokenizer for transcribing ``language``."""
        return self._tokenizer(language)

    def decode_windows(self, windows: list[Chunk], prompts: list[list[int]], *, tokenizer: Any, options: DecodingOptions,
                       word_timestamps: bool, vad: bool, initial: Sequence[int] = ()) -> list[WindowResult]:
        """Decode a batch of windows (each the rest of a chunk, <= 30 s) with temperature fallback.

        Parameters
        ----------
        windows : list of Chunk
            ``windows[i].start`` is in input samples; its ``regions`` are the VAD's speech in it.
        prompts : list of list of int
            Previous-text tokens per window (may be empty).
        tokenizer
            From :meth:`tokenizer`.
        options : DecodingOptions
        word_timestamps : bool
        vad : bool
            Whether ``regions`` come from the VAD (else the 0.9 no-speech rule applies too).
        initial : sequence of int
            The initial prompt's tokens: a prompted window that skipped a VAD region is
            decoded again with these alone.

        Returns
        -------
        list of WindowResult
            One per window; ``next_seek`` counts samples from the window's start.
        """
        encoded = self._encode(windows)
        results = self._decode_with_fallback(encoded, list(range(len(windows))), prompts, tokenizer, options)
        per_window = [self._window_segments(window, result, tokenizer, options, vad)
                      for window, result in zip(windows, results)]
        check = vad and any(window.regions for window in windows)
        if (word_timestamps or check) and any(segments for segments, _ in per_window):
            self._align(windows, [segments for segments, _ in per_window], tokenizer, encoded)
        unprompted = [False] * len(windows)
        if check:
            # a prompted window that skipped speech (a stretch no word comes near) is decoded
            # again from the initial prompt alone; the decoding that leaves less speech
            # without words is kept
            retry = [i for i, window in enumerate(windows)
                     if prompts[i] != list(initial) and _unheard_s(window, *per_window[i]) > 0]
            if retry:
                again = self._decode_with_fallback(encoded, retry, [list(initial)] * len(retry), tokenizer, options)
                redone: list[tuple[list[dict], int | None]] = [([], None)] * len(windows)
                for index, result in zip(retry, again):
                    redone[index] = self._window_segments(windows[index], result, tokenizer, options, vad)
                if any(segments for segments, _ in redone):
                    self._align(windows, [segments for segments, _ in redone], tokenizer, encoded)
                for index, result in zip(retry, again):
                    if _unheard_s(windows[index], *redone[index]) < _unheard_s(windows[index], *per_window[index]):
                        per_window[index], results[index], unprompted[index] = redone[index], result, True
        out = []
        for window, (segments, next_seek), result, fresh in zip(windows, per_window, results, unprompted):
            if not word_timestamps:
                for raw in segments:
                    raw["words"] = []
            kept = [segment for segment in (_to_segment(raw, window) for raw in segments) if segment.text]
            # the next prompt: the kept tokens with their timestamps, as whisper's all_tokens
            tokens = list(result.tokens[:segments[-1]["token_end"]]) if segments else []
            out.append(WindowResult(kept, next_seek, tokens, result.temperature, fresh))
        return out

    def _decode_with_fallback(self, encoded: Any, indices: list[int], prompts: list[list[int]], tokenizer: Any,
                              options: DecodingOptions) -> list[_Generated]:
        """Whisper's decode_with_fallback for windows ``indices`` of a batch, batched per temperature."""
        results: dict[int, _Generated] = {}
        attempts: dict[int, list[_Generated]] = {index: [] for index in indices}
        todo = list(range(len(indices)))  # positions in ``indices``
        for temperature in options.temperatures:
            if not todo:
                break
            generated = self._generate(encoded, [indices[k] for k in todo], [prompts[k] for k in todo], tokenizer,
                                       temperature, options)
            still = []
            for k, (tokens, avg_logprob, no_speech_prob) in zip(todo, generated):
                text = tokenizer.decode([t for t in tokens if t < tokenizer.eot]).strip()
                attempt = _Generated(list(tokens), float(avg_logprob), float(no_speech_prob), temperature,
                                     _compression_ratio(text))
                attempts[indices[k]].append(attempt)
                if _needs_fallback(attempt, options):
                    still.append(k)
                else:
                    results[indices[k]] = attempt
            todo = still
        for k in todo:  # every temperature failed: the most probable decoding under the ratio limit
            tried = attempts[indices[k]]
            limit = options.compression_ratio_threshold
            passing = [a for a in tried if limit is None or a.compression_ratio <= limit]
            best = max(passing or tried, key=lambda a: a.avg_logprob)
            results[indices[k]] = _Generated(best.tokens, best.avg_logprob, best.no_speech_prob,
                                             tried[-1].temperature, best.compression_ratio)
        return [results[index] for index in indices]

    @staticmethod
    def _window_segments(window: Chunk, result: _Generated, tokenizer: Any, options: DecodingOptions,
                         vad: bool) -> tuple[list[dict], int | None]:
        segments, next_seek = _seek(window, result, tokenizer, options, vad)
        for segment in segments:
            segment.update(avg_logprob=result.avg_logprob, no_speech_prob=result.no_speech_prob, seek=0, words=[])
        return segments, next_seek

    def encode_prompt(self, tokenizer: Any, text: str | None) -> list[int]:
        """Tokens of an initial prompt (leading space, as whisper encodes it)."""
        return list(tokenizer.encode(" " + text.strip())) if text and text.strip() else []

    @abstractmethod
    def _tokenizer(self, language: str) -> Any:
        """The runtime's tokenizer for transcribing ``language``."""

    @abstractmethod
    def _encode(self, windows: list[Chunk]) -> Any:
        """Encoder input and output of a batch of windows, reused by :meth:`_generate` and :meth:`_align`."""

    @abstractmethod
    def _generate(self, encoded: Any, indices: list[int], prompts: list[list[int]], tokenizer: Any, temperature: float,
                  options: DecodingOptions) -> list[tuple[list[int], float, float]]:
        """(tokens, average log-probability, no-speech probability) for windows ``indices`` of a batch."""

    @abstractmethod
    def _align(self, windows: list[Chunk], per_window: list[list[dict]], tokenizer: Any, encoded: Any) -> None:
        """Add ``"words"`` (dicts with word, start, end, probability; window-relative) to every segment."""


def _compression_ratio(text: str) -> float:
    """Gzip compression ratio of ``text`` (whisper/utils.py compression_ratio)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _is_silent(result: _Generated, options: DecodingOptions) -> bool:
    """whisper/transcribe.py: high no-speech probability and a low log-probability."""
    return (options.no_speech_threshold is not None and result.no_speech_prob > options.no_speech_threshold
            and options.log_prob_threshold is not None and result.avg_logprob < options.log_prob_threshold)


def _needs_fallback(result: _Generated, options: DecodingOptions) -> bool:
    """whisper/transcribe.py decode_with_fallback: too repetitive or too improbable, unless silent."""
    if _is_silent(result, options):
        return False
    if options.compression_ratio_threshold is not None and result.compression_ratio > options.compression_ratio_threshold:
        return True
    return options.log_prob_threshold is not None and result.avg_logprob < options.log_prob_threshold


def _seek(window: Chunk, result: _Generated, tokenizer: Any, options: DecodingOptions,
          vad: bool) -> tuple[list[dict], int | None]:
    """The segments a window keeps and where its chunk's next window starts (samples from the window's start).

    whisper/transcribe.py's seek rule, with the VAD's regions: a window that
    ends inside a segment keeps its closed segments and the next window starts
    at the last closed timestamp; a window whose model stopped while the VAD
    hears more speech after its last segment does the same; a silent window
    skips to the next speech region the VAD found.
    """
    length = window.samples.shape[0]
    silent = _is_silent(result, options) or (not vad and result.no_speech_prob > CONFIDENT_NO_SPEECH_THRESHOLD)
    segments, closed_end = ([], None) if silent else _split_at_timestamps(result.tokens, tokenizer, window.duration_s)
    min_seek = round(MIN_SEEK_S * SAMPLE_RATE)
    if not segments:
        # nothing decoded here: go on at the next region of speech the VAD found, if any
        resume = _next_region_start(window, min_seek)
        return [], (max(resume - round(0.2 * SAMPLE_RATE), min_seek) if resume is not None else None)
    if closed_end is None:
        return segments, None
    seek = round(closed_end * SAMPLE_RATE)
    open_tail = len(segments) > 0 and segments[-1].get("open", False)
    if seek < min_seek or seek >= length:
        return segments, None
    if open_tail:
        return [s for s in segments if not s.get("open")], seek
    if _speech_after(window, seek + round(0.3 * SAMPLE_RATE)) >= MIN_SPEECH_LEFT_S * SAMPLE_RATE:
        return segments, seek
    return segments, None


def _speech_after(window: Chunk, sample: int) -> int:
    """Samples of VAD speech in ``window`` after ``sample`` (all of the rest when it has no regions)."""
    if not window.regions:
        return max(window.samples.shape[0] - sample, 0)
    return sum(max(0, end - max(start, sample)) for start, end in window.regions)


def _unheard_s(window: Chunk, segments: list[dict], next_seek: int | None) -> float:
    """Seconds of speech the decoder skipped in a window.

    Stretches of the VAD's regions, at least MIN_UNHEARD_REGION_S long, that
    no aligned word comes within WORD_REACH_S of, up to ``next_seek`` (the
    window's part that the next window does not decode again; all of it when
    the chunk ends here).
    """
    limit_s = window.duration_s if next_seek is None else next_seek / SAMPLE_RATE
    words = sorted((w["start"] - WORD_REACH_S, w["end"] + WORD_REACH_S)
                   for segment in segments for w in segment.get("words") or [])
    total = 0.0
    for start, end in window.regions:
        cursor, end_s = start / SAMPLE_RATE, min(end / SAMPLE_RATE, limit_s)
        for word_start, word_end in words:
            if word_start >= end_s:
                break
            if word_start - cursor >= MIN_UNHEARD_REGION_S:
                total += word_start - cursor
            cursor = max(cursor, word_end)
        if end_s - cursor >= MIN_UNHEARD_REGION_S:
            total += end_s - cursor
    return total


def _next_region_start(window: Chunk, sample: int) -> int | None:
    """Start of the first VAD region that begins at or after ``sample``; None when there is none."""
    for start, _ in window.regions:
        if start >= sample:
            return start
    return None


class _OpenAIBackend(_Backend):
    name = "openai"

    def __init__(self, weights: WhisperWeights, *, device: str, compute_type: str, num_threads: int) -> None:
        torch = require("torch")
        whisper = require("whisper")
        from whisper.model import ModelDimensions, Whisper

        from .convert import load_checkpoint

        if num_threads:
            torch.set_num_threads(num_threads)
        self.device = torch_device(device)
        if compute_type == "default":
            compute_type = "float16" if self.device == "cuda" else "float32"
        if compute_type == "float16" and self.device == "cpu":
            raise ParameterError("compute_type 'float16' needs device 'cuda'; on CPU use 'float32' or 'int8'")
        if compute_type == "int8" and self.device == "cuda":
            raise ParameterError("compute_type 'int8' (dynamic quantization) runs on CPU only; on CUDA use 'float16'")
        self.compute_type = compute_type
        checkpoint = load_checkpoint(weights)
        model = Whisper(ModelDimensions(**checkpoint["dims"]))
        state = {name: tensor.float() for name, tensor in checkpoint["model_state_dict"].items()}
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as error:
            raise ModelError(f"{weights.name}: weights do not fit openai-whisper's model ({error})") from error
        heads = checkpoint.get("alignment_heads")
        if heads is not None:
            mask = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
            mask[heads[:, 0], heads[:, 1]] = True
            model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
        model.eval()
        if compute_type == "int8":
            model = _quantize_dynamic(torch, whisper, model)
        elif compute_type == "float16":
            model = model.half()
        self.model = model.to(self.device)
        self.multilingual = model.is_multilingual
        self._whisper = whisper
        self._torch = torch

    def _tokenizer(self, language: str) -> Any:
        from whisper.tokenizer import get_tokenizer

        return get_tokenizer(self.multilingual, num_languages=self.model.num_languages, language=language, task="transcribe")

    def _mels(self, chunks: list[Chunk]) -> Any:
        """Log-mel spectrograms, shape (batch, n_mels, 3000), as whisper.transcribe computes them."""
        audio = self._whisper.audio
        mels = [
            audio.log_mel_spectrogram(
                self._torch.from_numpy(chunk.samples), self.model.dims.n_mels, padding=audio.N_SAMPLES
            )[:, : audio.N_FRAMES]
            for chunk in chunks
        ]
        dtype = self._torch.float16 if self.compute_type == "float16" else self._torch.float32
        return self._torch.stack(mels).to(self.device, dtype)

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        with self._torch.inference_mode():
            _, probs = self.model.detect_language(self._mels([Chunk(0, samples)]))
        language = max(probs[0], key=probs[0].get)
        return language, float(probs[0][language])

    def _encode(self, windows: list[Chunk]) -> Any:
        with self._torch.inference_mode():
            return self.model.embed_audio(self._mels(windows))

    def _generate(self, encoded: Any, indices: list[int], prompts: list[list[int]], tokenizer: Any,
                  temperature: float, options: DecodingOptions) -> list[tuple[list[int], float, float]]:
        sampling = temperature > 0
        out = []
        with self._torch.inference_mode():
            # one window at a time: openai-whisper's beam search fails on batches (cross-attention
            # cache shapes), and each window has its own prompt
            for index, prompt in zip(indices, prompts):
                decoding = self._whisper.DecodingOptions(
                    task="transcribe",
                    language=tokenizer.language or "en",  # English-only tokenizers carry no language
                    temperature=temperature,
                    beam_size=None if sampling or options.beam_size == 1 else options.beam_size,
                    best_of=options.best_of if sampling else None,
                    prompt=list(prompt) or None,
                    without_timestamps=False,
                    max_initial_timestamp=MAX_INITIAL_TIMESTAMP_S,
                    fp16=self.compute_type == "float16",
                )
                result = self.model.decode(encoded[index : index + 1], decoding)[0]
                out.append((list(result.tokens), result.avg_logprob, result.no_speech_prob))
        return out

    def _align(self, windows: list[Chunk], per_window: list[list[dict]], tokenizer: Any, encoded: Any) -> None:
        from whisper.timing import add_word_timestamps

        encoded_model = _EncodedModel(self.model)
        for index, (chunk, segments) in enumerate(zip(windows, per_window)):
            if segments:
                add_word_timestamps(
                    segments=segments,
                    model=encoded_model,
                    tokenizer=tokenizer,
                    mel=encoded[index],
                    num_frames=round(chunk.duration_s * FRAMES_PER_SECOND),
                    prepend_punctuations=PREPEND_PUNCTUATIONS,
                    append_punctuations=APPEND_PUNCTUATIONS,
                    last_speech_timestamp=0.0,
                )


class _EncodedModel:
    """A Whisper model whose call takes encoder output instead of a mel spectrogram.

    whisper.timing.find_alignment calls ``model(mel, tokens)``, which would run
    the encoder again; handing it this wrapper and the batch's encoder output
    reuses the features computed for decoding.
    """

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def __call__(self, audio_features: Any, tokens: Any) -> Any:
        return self._model.decoder(tokens, audio_features)


def _quantize_dynamic(torch: Any, whisper: Any, model: Any) -> Any:
    """int8 weights for every Linear layer, activations quantized on the fly (CPU).

    torch's dynamic quantization only swaps ``torch.nn.Linear`` itself, so
    whisper's ``Linear`` subclass (which only adds a dtype cast) is replaced
    by a plain one holding the same parameters first.
    """
    from torch.ao.quantization import quantize_dynamic

    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, whisper.model.Linear):
                plain = torch.nn.Linear(child.in_features, child.out_features, bias=child.bias is not None)
                plain.weight, plain.bias = child.weight, child.bias
                setattr(module, child_name, plain)
    return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class _FasterBackend(_Backend):
    name = "faster"

    def __init__(self, weights: WhisperWeights, *, device: str, compute_type: str, num_threads: int) -> None:
        ctranslate2 = require("ctranslate2")
        faster_whisper = require("faster_whisper")

        if device == "auto":
            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        self.device = device
        if compute_type == "default":
            compute_type = "float16" if device == "cuda" else "int8"
        if compute_type == "float16" and device == "cpu":
            raise ParameterError("compute_type 'float16' needs device 'cuda'; on CPU use 'float32' or 'int8'")
        self.compute_type = compute_type
        try:
            self.model = faster_whisper.WhisperModel(
                str(weights.ctranslate2_dir), device=device, compute_type=compute_type, cpu_threads=num_threads
            )
        except (RuntimeError, ValueError) as error:
            raise ModelError(f"{weights.ctranslate2_dir}: CTranslate2 cannot load it ({error})") from error
        self.multilingual = self.model.model.is_multilingual
        self._faster_whisper = faster_whisper

    def _tokenizer(self, language: str) -> Any:
        from faster_whisper.tokenizer import Tokenizer

        return Tokenizer(self.model.hf_tokenizer, self.multilingual, task="transcribe", language=language)

    def _features(self, chunks: list[Chunk]) -> np.ndarray:
        """Log-mel spectrograms, shape (batch, n_mels, 3000), computed as the openai backend does.

        Each is the chunk followed by 30 s of zeros, normalized together, so both
        backends see the same input.
        """
        extract = self.model.feature_extractor
        return np.stack([extract(chunk.samples, padding=N_SAMPLES)[:, :N_FRAMES] for chunk in chunks])

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        encoder_output = self.model.encode(self._features([Chunk(0, samples)]))
        token, probability = self.model.model.detect_language(encoder_output)[0][0]
        return token[2:-2], float(probability)

    def _encode(self, windows: list[Chunk]) -> Any:
        features = self._features(windows)
        return features, self.model.encode(features)

    def _generate(self, encoded: Any, indices: list[int], prompts: list[list[int]], tokenizer: Any,
                  temperature: float, options: DecodingOptions) -> list[tuple[list[int], float, float]]:
        # CTranslate2 needs <|startoftranscript|> at the same position in every row of a batch:
        # windows without previous text go together, the others share the last n tokens of
        # their previous text, n being the shortest of theirs
        limit = self.model.max_length // 2 - 1
        previous = [list(prompt)[-limit:] for prompt in prompts]
        shortest = min((len(p) for p in previous if p), default=0)
        groups: dict[bool, list[int]] = {}
        for row, prompt in enumerate(previous):
            groups.setdefault(bool(prompt), []).append(row)
        out: list = [None] * len(indices)
        for has_prompt, rows in groups.items():
            batch_prompts = [previous[row][-shortest:] if has_prompt else [] for row in rows]
            results = self._generate_rows(encoded, [indices[row] for row in rows], batch_prompts, tokenizer,
                                          temperature, options)
            for row, result in zip(rows, results):
                out[row] = result
        return out

    def _encoder_rows(self, encoded: Any, indices: list[int]) -> Any:
        """The encoder output of some windows of a batch (sliced on CPU, encoded again on CUDA)."""
        features, output = encoded
        if list(indices) == list(range(features.shape[0])):
            return output
        if self.device == "cpu":
            import ctranslate2

            return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.asarray(output)[indices]))
        return self.model.encode(features[indices])

    def _generate_rows(self, encoded: Any, indices: list[int], prompts: list[list[int]], tokenizer: Any,
                       temperature: float, options: DecodingOptions) -> list[tuple[list[int], float, float]]:
        output = self._encoder_rows(encoded, indices)
        if temperature > 0:  # faster_whisper/transcribe.py generate_with_fallback
            kwargs = {"beam_size": 1, "num_hypotheses": options.best_of, "sampling_topk": 0,
                      "sampling_temperature": temperature}
        else:
            kwargs = {"beam_size": options.beam_size, "patience": 1.0}
        results = self.model.model.generate(
            output,
            [self.model.get_prompt(tokenizer, prompt, without_timestamps=False) for prompt in prompts],
            length_penalty=1.0,
            max_length=self.model.max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppressed(tokenizer),
            max_initial_timestamp_index=round(MAX_INITIAL_TIMESTAMP_S / TIME_PRECISION_S),
            **kwargs,
        )
        out = []
        for result in results:
            tokens = result.sequences_ids[0]
            # the score is the length-normalized sum of log-probabilities (length penalty 1)
            avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            out.append((list(tokens), float(avg_logprob), float(result.no_speech_prob)))
        return out

    def _suppressed(self, tokenizer: Any) -> list[int]:
        from faster_whisper.transcribe import get_suppressed_tokens

        return get_suppressed_tokens(tokenizer, [-1])

    def _align(self, windows: list[Chunk], per_window: list[list[dict]], tokenizer: Any, encoded: Any) -> None:
        # faster-whisper's aligner wants one non-empty segment list per encoder row
        padded = [segments or [{"tokens": [], "start": 0.0, "end": 0.0, "seek": 0}] for segments in per_window]
        self.model.add_word_timestamps(
            padded,
            tokenizer,
            encoded[1],
            [round(min(window.duration_s, 30.0) * FRAMES_PER_SECOND) for window in windows],
            PREPEND_PUNCTUATIONS,
            APPEND_PUNCTUATIONS,
            0.0,
        )


def _split_at_timestamps(tokens: list[int], tokenizer: Any, duration_s: float) -> tuple[list[dict], float | None]:
    """Cut one window's tokens into segments at its timestamp tokens (window-relative seconds).

    Text between two timestamps is one segment; a timestamp with no text
    before it opens the next one; text with no closing timestamp runs to the
    end of the window and is marked ``"open"``.

    Returns
    -------
    segments : list of dict
    closed_end : float or None
        End of the last segment closed by a timestamp (None: none was).
    """
    segments: list[dict] = []
    text_tokens: list[int] = []
    closed_end: float | None = None
    start, last = 0.0, 0
    for index, token in enumerate(tokens):
        if token >= tokenizer.timestamp_begin:
            time_s = min((token - tokenizer.timestamp_begin) * TIME_PRECISION_S, duration_s)
            if text_tokens:
                # "token_end": where the segment's tokens, timestamps included, end in ``tokens``
                segments.append({"tokens": text_tokens, "start": start, "end": max(time_s, start),
                                 "token_end": index + 1})
                closed_end = max(time_s, start)
                text_tokens = []
            start = time_s
        elif token < tokenizer.eot:
            text_tokens.append(token)
            last = index + 1
    if text_tokens:
        segments.append({"tokens": text_tokens, "start": start, "end": duration_s, "open": True, "token_end": last})
    for segment in segments:
        segment["text"] = tokenizer.decode(segment["tokens"])
    return segments, closed_end


def _to_segment(raw: dict, chunk: Chunk) -> Segment:
    """A chunk-relative segment dict as a :class:`Segment` in input time, clipped to the chunk."""
    offset, duration = chunk.start_s, chunk.duration_s

    def place(time_s: float) -> float:
        return round(offset + min(max(float(time_s), 0.0), duration), 3)

    start, end = place(raw["start"]), place(raw["end"])
    words = []
    for word in raw.get("words") or []:
        word_start = min(max(place(word["start"]), start), end)
        word_end = min(max(place(word["end"]), word_start), end)
        words.append(Word(word_start, word_end, word["word"], round(float(word["probability"]), 4)))
    return Segment(start, end, raw["text"].strip(), tuple(words), float(raw["avg_logprob"]), float(raw["no_speech_prob"]))
