"""The two Whisper runtimes behind :func:`~audiokit.models.whisper.transcribe`.

``openai``: openai-whisper's PyTorch model on weights converted by
:mod:`.convert` (float32 on CPU, dynamic int8 Linear layers on request,
float16 on CUDA). ``faster``: faster-whisper's CTranslate2 model on the
registry directory as is (int8 on CPU, float16 on CUDA).

Both decode a batch of <= 30 s chunks in one encoder pass and one batched
beam search at temperature 0, split each chunk's tokens at its timestamp
tokens, drop chunks that Whisper itself calls silent (no-speech probability
above 0.6 with average log-probability below -1, whisper's rule, or above
0.9 alone), and align
words to audio with the cross-attention heads named in the weights' config
(dynamic time warping). The code after token generation is shared, so the
two backends differ only in the numbers their kernels produce.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import lru_cache

import numpy as np

from audiokit.errors import ModelError, ParameterError

from .._registry import require, torch_device
from .registry import SAMPLE_RATE, WhisperWeights
from .result import Segment, Word
from .vad import Chunk

__all__ = ["BACKENDS", "COMPUTE_TYPES", "load_backend"]

#: Backend names, as ``transcribe(backend=...)`` takes them.
BACKENDS = ("openai", "faster")
#: Accepted ``compute_type`` values; "default" picks per backend and device.
COMPUTE_TYPES = ("default", "float32", "float16", "int8")
#: A chunk whose no-speech probability exceeds this ...
NO_SPEECH_THRESHOLD = 0.6
#: ... while its average token log-probability is below this, is silence (whisper/transcribe.py).
LOGPROB_THRESHOLD = -1.0
#: A chunk whose no-speech probability exceeds this is silence whatever its log-probability:
#: without it tiny.en writes "you" over 5 s of digital silence (no-speech 0.95, log-prob -0.67).
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


def load_backend(
    name: str, weights: WhisperWeights, *, device: str, compute_type: str, beam_size: int, num_threads: int
) -> "_Backend":
    """A loaded backend, shared between calls with the same arguments.

    Parameters
    ----------
    name : {"openai", "faster"}
    weights : WhisperWeights
    device : {"auto", "cpu", "cuda"}
    compute_type : {"default", "float32", "float16", "int8"}
    beam_size : int
        Beams of the beam search; 1 is greedy decoding.
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
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ParameterError(f"beam_size is {beam_size!r}; expected a positive integer")
    if name == "faster" and weights.ctranslate2_dir is None:
        raise ParameterError(
            f"the faster backend needs a CTranslate2 model directory; {weights.name} is an "
            "openai-whisper checkpoint: use backend='openai'"
        )
    cls = _OpenAIBackend if name == "openai" else _FasterBackend
    return _cached_backend(cls, weights, device, compute_type, beam_size, num_threads)


@lru_cache(maxsize=4)
def _cached_backend(cls, weights, device, compute_type, beam_size, num_threads) -> "_Backend":
    return cls(weights, device=device, compute_type=compute_type, beam_size=beam_size, num_threads=num_threads)


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

    def decode(self, chunks: list[Chunk], *, language: str, word_timestamps: bool) -> list[Segment]:
        """Transcribe a batch of chunks; segment times are seconds from the start of the input.

        Parameters
        ----------
        chunks : list of Chunk
            Each at most 30 s.
        language : str
        word_timestamps : bool

        Returns
        -------
        list of Segment
            In time order; chunks judged silent contribute nothing.
        """
        tokenizer = self._tokenizer(language)
        generated, encoded = self._generate(chunks, tokenizer, language)
        per_chunk = []
        for chunk, (tokens, avg_logprob, no_speech_prob) in zip(chunks, generated):
            silent = no_speech_prob > CONFIDENT_NO_SPEECH_THRESHOLD or (
                no_speech_prob > NO_SPEECH_THRESHOLD and avg_logprob < LOGPROB_THRESHOLD
            )
            segments = [] if silent else _split_at_timestamps(tokens, tokenizer, chunk.duration_s)
            for segment in segments:
                segment.update(avg_logprob=avg_logprob, no_speech_prob=no_speech_prob, seek=0, words=[])
            per_chunk.append(segments)
        if word_timestamps and any(per_chunk):
            self._align(chunks, per_chunk, tokenizer, encoded)
        result = []
        for chunk, segments in zip(chunks, per_chunk):
            for raw in segments:
                segment = _to_segment(raw, chunk)
                if segment.text:
                    result.append(segment)
        return result

    @abstractmethod
    def _tokenizer(self, language: str):
        """The runtime's tokenizer for transcribing ``language``."""

    @abstractmethod
    def _generate(self, chunks: list[Chunk], tokenizer, language: str) -> tuple[list[tuple[list[int], float, float]], object]:
        """(tokens, average log-probability, no-speech probability) per chunk, and the
        encoder input or output that :meth:`_align` reuses."""

    @abstractmethod
    def _align(self, chunks: list[Chunk], per_chunk: list[list[dict]], tokenizer, encoded) -> None:
        """Add ``"words"`` (dicts with word, start, end, probability; chunk-relative) to every segment."""


class _OpenAIBackend(_Backend):
    name = "openai"

    def __init__(self, weights: WhisperWeights, *, device, compute_type, beam_size, num_threads) -> None:
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
        self.beam_size = beam_size
        self._whisper = whisper
        self._torch = torch

    def _tokenizer(self, language: str):
        from whisper.tokenizer import get_tokenizer

        return get_tokenizer(self.multilingual, num_languages=self.model.num_languages, language=language, task="transcribe")

    def _mels(self, chunks: list[Chunk]):
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

    def _generate(self, chunks, tokenizer, language):
        options = self._whisper.DecodingOptions(
            task="transcribe",
            language=language,
            temperature=0.0,
            beam_size=self.beam_size if self.beam_size > 1 else None,
            without_timestamps=False,
            fp16=self.compute_type == "float16",
        )
        with self._torch.inference_mode():
            # one encoder pass for the batch; DecodingTask skips encoding when given features
            features = self.model.embed_audio(self._mels(chunks))
            if self.beam_size == 1:
                results = self.model.decode(features, options)
            else:
                # openai-whisper's beam search fails on batches (cross-attention cache shapes)
                results = [self.model.decode(features[i : i + 1], options)[0] for i in range(len(chunks))]
        return [(list(result.tokens), result.avg_logprob, result.no_speech_prob) for result in results], features

    def _align(self, chunks, per_chunk, tokenizer, encoded):
        from whisper.timing import add_word_timestamps

        encoded_model = _EncodedModel(self.model)
        for index, (chunk, segments) in enumerate(zip(chunks, per_chunk)):
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

    def __init__(self, model) -> None:
        self._model = model

    def __getattr__(self, name: str):
        return getattr(self._model, name)

    def __call__(self, audio_features, tokens):
        return self._model.decoder(tokens, audio_features)


def _quantize_dynamic(torch, whisper, model):
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

    def __init__(self, weights: WhisperWeights, *, device, compute_type, beam_size, num_threads) -> None:
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
        self.pipeline = faster_whisper.BatchedInferencePipeline(self.model)
        self.multilingual = self.model.model.is_multilingual
        self.beam_size = beam_size
        self._faster_whisper = faster_whisper

    def _tokenizer(self, language: str):
        from faster_whisper.tokenizer import Tokenizer

        return Tokenizer(self.model.hf_tokenizer, self.multilingual, task="transcribe", language=language)

    def _features(self, chunks: list[Chunk]) -> np.ndarray:
        """Log-mel spectrograms, shape (batch, n_mels, 3000), computed as the openai backend does
        (the chunk followed by 30 s of zeros, normalized together), so both backends see the same input."""
        extract = self.model.feature_extractor
        return np.stack([extract(chunk.samples, padding=N_SAMPLES)[:, :N_FRAMES] for chunk in chunks])

    def detect_language(self, samples: np.ndarray) -> tuple[str, float]:
        encoder_output = self.model.encode(self._features([Chunk(0, samples)]))
        token, probability = self.model.model.detect_language(encoder_output)[0][0]
        return token[2:-2], float(probability)

    def _options(self, tokenizer):
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        return TranscriptionOptions(
            beam_size=self.beam_size,
            best_of=1,
            patience=1.0,
            length_penalty=1.0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            log_prob_threshold=LOGPROB_THRESHOLD,
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            compression_ratio_threshold=None,
            condition_on_previous_text=False,
            prompt_reset_on_temperature=0.5,
            temperatures=[0.0],
            initial_prompt=None,
            prefix=None,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            without_timestamps=False,
            max_initial_timestamp=1.0,
            word_timestamps=False,
            prepend_punctuations=PREPEND_PUNCTUATIONS,
            append_punctuations=APPEND_PUNCTUATIONS,
            multilingual=False,
            max_new_tokens=None,
            clip_timestamps="0",
            hallucination_silence_threshold=None,
            hotwords=None,
        )

    def _generate(self, chunks, tokenizer, language):
        features = self._features(chunks)
        encoder_output, outputs = self.pipeline.generate_segment_batched(features, tokenizer, self._options(tokenizer))
        generated = [(list(out["tokens"]), float(out["avg_logprob"]), float(out["no_speech_prob"])) for out in outputs]
        return generated, encoder_output

    def _align(self, chunks, per_chunk, tokenizer, encoded):
        # faster-whisper's aligner wants one non-empty segment list per encoder row
        padded = [segments or [{"tokens": [], "start": 0.0, "end": 0.0, "seek": 0}] for segments in per_chunk]
        self.model.add_word_timestamps(
            padded,
            tokenizer,
            encoded,
            [round(chunk.duration_s * FRAMES_PER_SECOND) for chunk in chunks],
            PREPEND_PUNCTUATIONS,
            APPEND_PUNCTUATIONS,
            0.0,
        )


def _split_at_timestamps(tokens: list[int], tokenizer, duration_s: float) -> list[dict]:
    """Cut one window's tokens into segments at its timestamp tokens (chunk-relative seconds).

    Text between two timestamps is one segment; a timestamp with no text
    before it opens the next one; text with no closing timestamp runs to the
    end of the chunk (the chunk is complete, there is no next window).
    """
    segments, text_tokens, start = [], [], 0.0
    for token in tokens:
        if token >= tokenizer.timestamp_begin:
            time_s = min((token - tokenizer.timestamp_begin) * TIME_PRECISION_S, duration_s)
            if text_tokens:
                segments.append({"tokens": text_tokens, "start": start, "end": max(time_s, start)})
                text_tokens = []
            start = time_s
        elif token < tokenizer.eot:
            text_tokens.append(token)
    if text_tokens:
        segments.append({"tokens": text_tokens, "start": start, "end": duration_s})
    for segment in segments:
        segment["text"] = tokenizer.decode(segment["tokens"])
    return segments


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
