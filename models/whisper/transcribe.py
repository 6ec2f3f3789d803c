""":func:`transcribe`: offline Whisper on a file or an :class:`~audiokit.Audio`, long-form, streaming.

The input is decoded and resampled to 16 kHz in blocks
(:func:`audiokit.io.source.open_source`), mixed to mono
(:func:`audiokit.channels.to_mono`: the mean of left and right for stereo,
the mean of the BS.775-4 stereo downmix for surround), cut into <= 30 s chunks of speech by Silero VAD
(:mod:`.vad`), decoded in batches by one of two backends (:mod:`.backends`),
and the chunk-relative times are mapped back to the input. Memory is bounded
by the batch, whatever the input's length.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Iterator

import numpy as np

from audiokit.channels import to_mono
from audiokit.errors import ParameterError
from audiokit.io.source import AudioSource, open_source

from .backends import DEFAULT_TEMPERATURES, MAX_WINDOWS_PER_CHUNK, DecodingOptions, WindowResult, _Backend, load_backend
from .registry import DEFAULT_MODEL, SAMPLE_RATE, resolve_model
from .result import Segment, TranscriptInfo
from .vad import Chunk, VadOptions, speech_chunks

__all__ = ["TranscriptionWarning", "transcribe"]

#: Samples per decoded block at 16 kHz (16.384 s: one Silero VAD call of 512 frames).
BLOCK_SAMPLES = 512 * 512
#: Chunks decoded together by default. 1 decodes chunk after chunk, each window prompted with
#: all the text before it (whisper's sequential long form): on the 10-minute test episode,
#: WER 9.4 % against 11.7 % with 8 (which starts 7 of every 8 chunks without that context),
#: in about the same time on 2 CPU cores. Larger batches pay off on a GPU.
DEFAULT_BATCH_SIZE = 1
#: Backend used when none is named: faster-whisper (CTranslate2), the quicker one on CPU.
DEFAULT_BACKEND = "faster"
#: Speech detector and chunker settings used when none are given (VadOptions is frozen, so one
#: instance serves every call).
DEFAULT_VAD_OPTIONS = VadOptions()


class TranscriptionWarning(UserWarning):
    """The input was transcribed, but the transcript is probably not what was wanted (no speech found)."""


def transcribe(
    source: AudioSource,
    *,
    model: str | os.PathLike = DEFAULT_MODEL,
    backend: str = DEFAULT_BACKEND,
    language: str | None = None,
    word_timestamps: bool = True,
    vad: bool = True,
    device: str = "auto",
    compute_type: str = "default",
    beam_size: int = 5,
    temperature: float | tuple[float, ...] = DEFAULT_TEMPERATURES,
    initial_prompt: str | None = None,
    condition_on_previous_text: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_threads: int = 0,
    vad_options: VadOptions = DEFAULT_VAD_OPTIONS,
    decoding_options: DecodingOptions | None = None,
    speech_probabilities: np.ndarray | None = None,
) -> tuple[Iterator[Segment], TranscriptInfo]:
    """Transcribe speech offline with Whisper.

    Parameters
    ----------
    source : str, os.PathLike or audiokit.Audio
        An audio file of any format audiokit reads (streamed, so hours are
        fine), or audio already in memory at any sample rate.
    model : str or os.PathLike
        Registry name (``"tiny.en"``, ``"base"``), a CTranslate2 model
        directory, or an openai-whisper ``.pt`` checkpoint (openai backend only).
    backend : {"faster", "openai"}
        faster-whisper (CTranslate2, the default) or openai-whisper (PyTorch) on converted weights.
    language : str, optional
        ISO 639-1 code; None detects it on the first speech chunk
        (English-only models always use "en").
    word_timestamps : bool
        Align every word to the audio (cross-attention DTW).
    vad : bool
        Decode only the regions Silero VAD finds speech in. Without it the
        input is decoded in consecutive 30 s windows.
    device : {"auto", "cpu", "cuda"}
        "auto" uses CUDA when available (float16), the CPU otherwise.
    compute_type : {"default", "float32", "float16", "int8"}
        "default" is float16 on CUDA, float32 (openai) or int8 (faster) on CPU.
        "int8" with the openai backend quantizes Linear layers dynamically.
    beam_size : int
        Beams of the beam search at temperature 0; 1 decodes greedily.
    temperature : float or tuple of float
        Temperatures tried in order for a window whose text is a repetition
        loop (gzip ratio > 2.4) or improbable (mean log-probability < -1);
        whisper's schedule by default. A single value disables the fallback.
    initial_prompt : str, optional
        Text the model reads before the first window (and again after a prompt
        reset): names, spellings, punctuation style.
    condition_on_previous_text : bool
        Prompt each window with the text kept before it (223 tokens at most).
    batch_size : int
        Chunks decoded together.
    num_threads : int
        CPU threads for the model; 0 keeps the runtime's default.
    vad_options : VadOptions
        Thresholds and durations of the speech detector and the chunker
        (``VadOptions()``'s defaults unless given).
    decoding_options : DecodingOptions, optional
        Every decoding setting at once (thresholds included); when given, it
        replaces ``beam_size``, ``temperature``, ``initial_prompt`` and
        ``condition_on_previous_text``.
    speech_probabilities : np.ndarray [shape=(frames,)], optional
        Silero VAD's probability of every 512-sample frame of the source at
        16 kHz mono, computed already
        (``vad.speech_probabilities(vad.mono_16k(source))``, as the ingest
        pipeline shares them between stages): the chunks are cut from these
        instead of running the detector again, and are the same chunks. A count
        that does not match the source's frames raises ParameterError once the
        segments reach the end.

    Returns
    -------
    segments : iterator of Segment
        Lazy: decoding happens as it is consumed. In time order, times in
        seconds from the start of the input, inside its duration.
    info : TranscriptInfo
        Language, duration, model, backend, device and precision.

    Raises
    ------
    FormatError
        If the file cannot be decoded (also while ``segments`` is consumed,
        for damage past the headers).
    ModelError
        If the model is unknown or its weights are not installed (the message
        names the registry entries and ``pip install 'audiokit[ml]'``).
    MissingDependencyError
        If torch, openai-whisper, faster-whisper or silero-vad is missing.
    ParameterError
        For a bad option value.

    Warns
    -----
    TranscriptionWarning
        When ``segments`` ends empty: the detector heard no speech, or Whisper
        decoded none (music, noise, silence).

    Examples
    --------
    >>> from audiokit.models import transcribe
    >>> segments, info = transcribe("episode.mp3", backend="faster")  # doctest: +SKIP
    >>> for segment in segments:                                      # doctest: +SKIP
    ...     print(f"{segment.start_s:7.2f} {segment.end_s:7.2f} {segment.text}")
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(f"batch_size is {batch_size!r}; expected a positive integer")
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 0:
        raise ParameterError(f"num_threads is {num_threads!r}; expected an integer >= 0 (0: runtime default)")
    if not isinstance(vad_options, VadOptions):
        raise ParameterError(f"vad_options is a {type(vad_options).__name__}; expected a VadOptions")
    if decoding_options is None:
        try:
            temperatures = (temperature,) if isinstance(temperature, (int, float)) else tuple(temperature)
            temperatures = tuple(float(t) for t in temperatures)
        except (TypeError, ValueError):
            raise ParameterError(f"temperature is {temperature!r}; expected a number or a tuple of numbers") from None
        decoding_options = DecodingOptions(beam_size=beam_size, temperatures=temperatures,
                                           initial_prompt=initial_prompt,
                                           condition_on_previous_text=bool(condition_on_previous_text))
    elif not isinstance(decoding_options, DecodingOptions):
        raise ParameterError(f"decoding_options is a {type(decoding_options).__name__}; expected a DecodingOptions")
    if speech_probabilities is not None and np.ndim(speech_probabilities) != 1:
        raise ParameterError(f"speech_probabilities has shape {np.shape(speech_probabilities)}; expected (frames,)")
    blocks, duration_s = _mono_blocks(source)
    weights = resolve_model(model)
    runner = load_backend(backend, weights, device=device, compute_type=compute_type, num_threads=num_threads)
    language = runner.check_language(language)
    chunks = speech_chunks(blocks, vad=bool(vad), options=vad_options, probabilities=speech_probabilities)
    language_probability = 1.0
    if language is None:
        first = next(chunks, None)
        if first is None:
            language, language_probability = "en", 0.0
        else:
            language, language_probability = runner.detect_language(first.samples)
            chunks = itertools.chain([first], chunks)
    info = TranscriptInfo(
        language=language,
        language_probability=language_probability,
        duration_s=duration_s,
        model=weights.name,
        backend=runner.name,
        device=runner.device,
        compute_type=runner.compute_type,
        vad=bool(vad),
        weights_sha256=weights.spec.sha256,
    )
    return _segments(runner, chunks, language, bool(word_timestamps), batch_size, decoding_options, bool(vad)), info


def _segments(runner: _Backend, chunks: Iterator[Chunk], language: str, word_timestamps: bool, batch_size: int,
              options: DecodingOptions, vad: bool) -> Iterator[Segment]:
    """Decode chunks in batches, each window by window until it is done; segments in time order.

    A batch holds up to ``batch_size`` unfinished chunks; a chunk that is
    done makes room for the next one, and segments are handed out once every
    earlier chunk is done. A window's prompt is the initial prompt followed by
    the text kept before it: in its chunk, and in the chunk before it as far
    as that was decoded when the chunk entered the batch.
    """
    tokenizer = runner.tokenizer(language)
    initial = runner.encode_prompt(tokenizer, options.initial_prompt)
    pending: list[_ChunkState] = []  # chunks in input order, finished ones waiting for earlier ones
    chunks = iter(chunks)
    exhausted = False
    previous: _ChunkState | None = None
    found = 0
    while True:
        while not exhausted and sum(not state.done for state in pending) < batch_size:
            chunk = next(chunks, None)
            if chunk is None:
                exhausted = True
            else:
                # a chunk starts with the text decoded so far before it (all of it when
                # batch_size is 1, as whisper's sequential long form does)
                prompt = previous.prompt if previous is not None else list(initial)
                previous = _ChunkState(chunk, list(prompt))
                pending.append(previous)
        active = [state for state in pending if not state.done]
        if active:
            windows = [state.window() for state in active]
            prompts = [state.prompt if options.condition_on_previous_text else initial for state in active]
            results = runner.decode_windows(windows, prompts, tokenizer=tokenizer, options=options,
                                            word_timestamps=word_timestamps, vad=vad, initial=initial)
            for state, result in zip(active, results):
                state.advance(result, initial, options)
        while pending and pending[0].done:
            done = pending.pop(0).segments
            found += len(done)
            yield from done
        if exhausted and not pending:
            if not found:
                heard = "Silero VAD heard no speech" if vad else "Whisper decoded no speech"
                warnings.warn(f"{heard} in the input; the transcript is empty", TranscriptionWarning, stacklevel=2)
            return


class _ChunkState:
    """A chunk being decoded window by window: where its next window starts, its prompt, its segments."""

    def __init__(self, chunk: Chunk, prompt: list[int]) -> None:
        self.chunk = chunk
        self.seek = 0
        self.prompt = prompt
        self.segments: list[Segment] = []
        self.windows = 0
        self.done = False

    def window(self) -> Chunk:
        """The rest of the chunk from ``seek``, as a chunk of its own (regions shifted)."""
        chunk, seek = self.chunk, self.seek
        regions = tuple((max(a - seek, 0), b - seek) for a, b in chunk.regions if b > seek)
        if chunk.regions and not regions:
            regions = ((0, 0),)  # no speech left, but not "all of it"
        return Chunk(chunk.start + seek, chunk.samples[seek:], regions)

    def advance(self, result: WindowResult, initial: list[int], options: DecodingOptions) -> None:
        """Take a decoded window: keep its segments and move on, or finish."""
        self.segments += [s for s in result.segments if not self.segments or s.start_s >= self.segments[-1].start_s]
        self.windows += 1
        if result.temperature > options.prompt_reset_on_temperature:
            self.prompt = list(initial)
        elif result.unprompted:
            self.prompt = list(initial) + list(result.tokens)
        else:
            self.prompt = self.prompt + list(result.tokens)
        if result.next_seek is None or self.windows >= MAX_WINDOWS_PER_CHUNK:
            self.done = True
        else:
            self.seek += result.next_seek
            self.done = self.seek >= self.chunk.samples.shape[0]


def _mono_blocks(source: AudioSource) -> tuple[Iterator[np.ndarray], float]:
    """16 kHz mono blocks of ``source`` (shape (n,), float32) and its duration in seconds.

    The file is opened (and a bad one rejected) now; it is decoded, resampled
    and downmixed (:func:`audiokit.channels.to_mono`, BS.775-4) as the blocks are consumed.
    """
    reader = open_source(source)
    duration_s = reader.num_frames / reader.sample_rate

    def blocks() -> Iterator[np.ndarray]:
        with reader, reader.resampled_to(SAMPLE_RATE) as resampled:
            for block in resampled.blocks(BLOCK_SAMPLES):
                yield to_mono(block)[0]

    return blocks(), duration_s
