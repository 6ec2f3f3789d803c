""":func:`transcribe`: offline Whisper on a file or an :class:`~audiokit.Audio`, long-form, streaming.

The input is decoded and resampled to 16 kHz in blocks (``audiokit.open``),
mixed to mono, cut into <= 30 s chunks of speech by Silero VAD
(:mod:`.vad`), decoded in batches by one of two backends (:mod:`.backends`),
and the chunk-relative times are mapped back to the input. Memory is bounded
by the batch, whatever the input's length.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator

import numpy as np

from audiokit.audio import Audio
from audiokit.errors import ParameterError

from .backends import load_backend
from .registry import DEFAULT_MODEL, SAMPLE_RATE, resolve_model
from .result import Segment, TranscriptInfo
from .vad import Chunk, VadOptions, speech_chunks

__all__ = ["transcribe"]

#: Samples per decoded block at 16 kHz (16.384 s: one Silero VAD call of 512 frames).
BLOCK_SAMPLES = 512 * 512
#: Chunks decoded together by default.
DEFAULT_BATCH_SIZE = 8


def transcribe(
    source,
    *,
    model: str | os.PathLike = DEFAULT_MODEL,
    backend: str = "openai",
    language: str | None = None,
    word_timestamps: bool = True,
    vad: bool = True,
    device: str = "auto",
    compute_type: str = "default",
    beam_size: int = 5,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_threads: int = 0,
    vad_options: VadOptions = VadOptions(),
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
    backend : {"openai", "faster"}
        openai-whisper (PyTorch) on converted weights, or faster-whisper (CTranslate2).
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
        Beams of the beam search; 1 decodes greedily.
    batch_size : int
        Chunks decoded together.
    num_threads : int
        CPU threads for the model; 0 keeps the runtime's default.
    vad_options : VadOptions
        Thresholds and durations of the speech detector and the chunker.

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
    blocks, duration_s = _mono_blocks(source)
    weights = resolve_model(model)
    runner = load_backend(
        backend, weights, device=device, compute_type=compute_type, beam_size=beam_size, num_threads=num_threads
    )
    language = runner.check_language(language)
    chunks = speech_chunks(blocks, vad=bool(vad), options=vad_options)
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
    return _segments(runner, chunks, language, word_timestamps, batch_size), info


def _segments(runner, chunks: Iterator[Chunk], language: str, word_timestamps: bool, batch_size: int) -> Iterator[Segment]:
    while batch := list(itertools.islice(chunks, batch_size)):
        yield from runner.decode(batch, language=language, word_timestamps=bool(word_timestamps))


def _mono_blocks(source) -> tuple[Iterable[np.ndarray], float]:
    """16 kHz mono blocks of ``source`` (shape (n,), float32) and its duration in seconds."""
    if isinstance(source, Audio):
        samples = source.samples.mean(axis=0, dtype=np.float32)
        if source.sample_rate != SAMPLE_RATE:
            from audiokit.io.resample import resample

            samples = resample(samples[np.newaxis], source.sample_rate, SAMPLE_RATE)[0]
        blocks = (samples[i : i + BLOCK_SAMPLES] for i in range(0, samples.shape[0], BLOCK_SAMPLES))
        return blocks, source.duration_s
    if not isinstance(source, (str, os.PathLike)):
        raise ParameterError(
            f"source is a {type(source).__name__}; expected a path or an audiokit.Audio "
            "(wrap an array as audiokit.Audio(samples, sample_rate))"
        )
    import audiokit

    reader = audiokit.open(source)
    blocks = (block.mean(axis=0, dtype=np.float32) for block in reader.resampled_to(SAMPLE_RATE).blocks(BLOCK_SAMPLES))
    return blocks, reader.info.duration_s
