"""Render a sampled piece to 48 kHz audio, and :func:`generate` (sample + render).

Signal path: notes -> :func:`audiokit.synth.render_notes` (one stem per voice)
-> stereo pan (or, with ``spatial=True``, the four voices placed around the
listener by :class:`audiokit.spatial.BinauralRenderer` with the analytic
spherical-head HRTF) -> :func:`audiokit.synth.reverb` -> loudness
normalization (:func:`audiokit.loudness.normalize`, -16 LUFS, -1 dBTP limiter).

Examples
--------
>>> audio = generate(seconds=10, seed=3, key="G", tempo_bpm=90)   # doctest: +SKIP
>>> audio.sample_rate, audio.num_channels                         # doctest: +SKIP
(48000, 2)
"""

from __future__ import annotations

import numpy as np

from audiokit.audio import Audio
from audiokit.errors import ParameterError

from .runtime import SAMPLE_RATE
from .sampling import Piece, _check_tempo, compose
from .tokens import STEPS_PER_QUARTER, Key

__all__ = ["SAMPLE_RATE", "TARGET_LUFS", "TRUE_PEAK_DBTP", "VOICE_PANS", "VOICE_AZIMUTHS_DEG",
           "render", "generate"]

#: Loudness target of rendered pieces, LUFS, and their true-peak ceiling, dBTP.
TARGET_LUFS = -16.0
TRUE_PEAK_DBTP = -1.0
#: Stereo position of soprano, alto, tenor, bass (-1 left .. +1 right).
VOICE_PANS = (-0.3, 0.3, -0.6, 0.6)
#: Direction of each voice with ``spatial=True``: azimuth in degrees, SOFA
#: convention (0 front, 90 left); soprano front-left, alto front-right, tenor
#: back-left, bass back-right.
VOICE_AZIMUTHS_DEG = (40.0, -40.0, 140.0, -140.0)
#: Relative level of each voice (the inner voices a little softer).
VOICE_GAINS = (1.0, 0.8, 0.8, 0.9)
#: Notes are played this fraction of their written length (slight detaché).
ARTICULATION = 0.94


def _normalize(samples: np.ndarray) -> np.ndarray:
    """Audiokit's loudness normalizer: TARGET_LUFS with a TRUE_PEAK_DBTP limiter."""
    from audiokit.loudness import normalize

    out, _ = normalize(samples, SAMPLE_RATE, target_lufs=TARGET_LUFS,
                       true_peak_dbtp=TRUE_PEAK_DBTP, mode="limit")
    return out


def _spatialize(stems: np.ndarray) -> np.ndarray:
    """The four voice stems rendered binaurally at :data:`VOICE_AZIMUTHS_DEG`, shape (2, frames + tail)."""
    from audiokit.spatial import HRTF, BinauralRenderer

    renderer = BinauralRenderer(HRTF.spherical_head(SAMPLE_RATE), SAMPLE_RATE, block_size=1024)
    for azimuth in VOICE_AZIMUTHS_DEG:
        renderer.add_source(azimuth_deg=azimuth % 360.0, elevation_deg=0.0)
    block = renderer.block_size
    padded = np.zeros((stems.shape[0], -(-stems.shape[1] // block) * block), np.float32)
    padded[:, : stems.shape[1]] = stems
    pieces = [renderer.process(padded[:, i : i + block]) for i in range(0, padded.shape[1], block)]
    return np.concatenate(pieces + [renderer.flush()], axis=1)


def render(piece: Piece, *, tempo_bpm: float = 80.0, timbre: str = "organ", spatial: bool = False,
           normalize: bool = True) -> Audio:
    """Render ``piece`` to 48 kHz stereo (binaural with ``spatial``).

    Parameters
    ----------
    piece : Piece
    tempo_bpm : float
        Quarter notes per minute.
    timbre : {"organ", "strings"}
    spatial : bool
        Place the voices around the listener (binaural, for headphones).
    normalize : bool
        Loudness-normalize to :data:`TARGET_LUFS` under :data:`TRUE_PEAK_DBTP`.

    Returns
    -------
    Audio
        ``samples`` shape (2, frames): the piece, then the notes' release and
        the reverb tail.
    """
    from audiokit import synth

    _check_tempo(tempo_bpm)
    if timbre not in synth.TIMBRES:
        raise ParameterError(f"timbre is {timbre!r}; expected one of {', '.join(synth.TIMBRES)}")
    notes = piece.notes()
    step_s = 60.0 / tempo_bpm / STEPS_PER_QUARTER
    voices = np.array([n.voice for n in notes], np.int64)
    stems = synth.render_notes(
        np.array([n.pitch for n in notes], np.float64),
        np.array([n.start_step for n in notes], np.float64) * step_s,
        np.array([n.num_steps for n in notes], np.float64) * step_s * ARTICULATION,
        SAMPLE_RATE, voices=voices, num_voices=4, timbre=synth.TIMBRES[timbre],
    )
    stems *= np.asarray(VOICE_GAINS, np.float32)[:, None]
    mixed = _spatialize(stems) if spatial else synth.pan_stereo(stems, pans=VOICE_PANS)
    wet = synth.reverb(mixed, SAMPLE_RATE)
    return Audio(_normalize(wet) if normalize else wet, SAMPLE_RATE)


def generate(seconds: float | None = 30.0, *, bars: int | None = None, seed: int = 0,
             temperature: float = 1.0, top_p: float = 0.95, key: str | Key | None = None, tempo_bpm: float = 80.0,
             prime: str | None = None, prime_bars: int = 2, timbre: str = "organ",
             spatial: bool = False, normalize: bool = True) -> Audio:
    """Sample a chorale-style piece and render it: the one-call API.

    Parameters
    ----------
    seconds : float, optional
        Length of the music (whole beats), before the release and reverb tail.
        Pass ``seconds=None`` with ``bars``.
    bars : int, optional
        Length in 4/4 bars instead of seconds.
    seed, temperature, top_p, key, prime, prime_bars
        See :func:`~.sampling.compose`.
    tempo_bpm : float
    timbre, spatial, normalize
        See :func:`render`.

    Returns
    -------
    Audio
        48 kHz stereo. The same arguments give the same samples.

    Examples
    --------
    >>> import audiokit.models
    >>> audio = audiokit.models.generate(seconds=8, seed=1, key="D")
    >>> audio.sample_rate
    48000
    """
    if bars is not None:
        seconds = None
    piece = compose(seconds=seconds, bars=bars, tempo_bpm=tempo_bpm, seed=seed,
                    temperature=temperature, top_p=top_p, key=key, prime=prime, prime_bars=prime_bars)
    return render(piece, tempo_bpm=tempo_bpm, timbre=timbre, spatial=spatial, normalize=normalize)
