"""Spliced-word episodes: espeak-ng pieces concatenated with known gaps, so every word's samples are known.

Each sentence is ``(prefix, planted, suffix, category)``: the three pieces are
synthesized separately with espeak-ng (one voice and speed per episode) and
joined with seeded gaps, so a planted word's first and last sample, and those
of its neighbours, are exact. An optional music bed (``tests/_signals.notes``)
is mixed under the speech at a given level; the speech and the bed are kept
apart so a test can ask how much of one word survives in an output.

Import with ``from _spliced import ...`` (pytest puts tests/models on sys.path).
Synthesis is cached per process: a piece is spoken once per (text, voice, speed).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import audiokit

#: espeak-ng writes 22.05 kHz mono.
SAMPLE_RATE = 22050
#: a piece is trimmed to its first and last sample above this, with TRIM_MARGIN samples kept on each side
TRIM_LEVEL, TRIM_MARGIN = 1e-3, 100
#: silence before the first sentence, s
EDGE_S = 0.5

__all__ = ["SAMPLE_RATE", "TUNING", "HELD_OUT_A", "HELD_OUT_B", "HELD_OUT_C", "Piece", "Episode", "have_espeak", "speak", "build_episode",
           "piece_energy", "kept_samples", "tuning_episode", "held_out_episodes", "counts"]


@dataclass(frozen=True)
class Piece:
    """One separately synthesized piece of an episode."""

    #: what espeak-ng spoke
    text: str
    #: its first sample in the episode
    first: int
    #: one past its last sample
    stop: int
    #: the lexicon category of a planted word or phrase; None for the words around it
    category: str | None
    #: index of the sentence it belongs to
    sentence: int


@dataclass(frozen=True)
class Episode:
    """A spliced episode: speech (and bed) kept apart, their sum is what a test moderates."""

    #: a short name for messages
    name: str
    #: the speech alone, (frames,) float32
    speech: np.ndarray
    #: the music bed alone, (frames,) float32, zeros when there is none
    bed: np.ndarray
    #: every piece, in time order
    pieces: tuple[Piece, ...]
    #: espeak-ng voice and words per minute
    voice: str
    speed_wpm: int

    @property
    def samples(self) -> np.ndarray:
        """Speech plus bed, (1, frames) float32."""
        return (self.speech + self.bed)[np.newaxis].astype(np.float32)

    @property
    def planted(self) -> list[Piece]:
        return [piece for piece in self.pieces if piece.category is not None]

    def neighbours(self, piece: Piece) -> list[Piece]:
        """The pieces right before and after ``piece`` in its sentence."""
        index = self.pieces.index(piece)
        return [self.pieces[i] for i in (index - 1, index + 1)
                if 0 <= i < len(self.pieces) and self.pieces[i].sentence == piece.sentence]

    def audio(self) -> audiokit.Audio:
        return audiokit.Audio(self.samples, SAMPLE_RATE)


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


@functools.cache
def speak(text: str, voice: str = "en-us", speed_wpm: int = 150) -> np.ndarray:
    """``text`` spoken by espeak-ng, trimmed to its sound (TRIM_MARGIN samples kept), (frames,) float32, read-only."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "piece.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed_wpm), "-w", str(path), text], check=True,
                       capture_output=True)
        audio = audiokit.read(path)
    if audio.sample_rate != SAMPLE_RATE:
        raise RuntimeError(f"espeak-ng wrote {audio.sample_rate} Hz; expected {SAMPLE_RATE}")
    voiced = np.flatnonzero(np.abs(audio.samples[0]) > TRIM_LEVEL)
    out = np.array(audio.samples[0, max(0, voiced[0] - TRIM_MARGIN):voiced[-1] + TRIM_MARGIN], np.float32)
    out.setflags(write=False)
    return out


@functools.cache
def build_episode(name: str, sentences: tuple, *, voice: str = "en-us", speed_wpm: int = 150,
                  piece_gap_s: tuple[float, float] = (0.06, 0.06), sentence_gap_s: float = 0.5, seed: int = 0,
                  bed_db: float | None = None, edge_s: float = EDGE_S) -> Episode:
    """Splice ``sentences`` into an episode (cached: call it with the same arguments for the same object).

    Parameters
    ----------
    sentences : tuple of (prefix, planted, suffix, category)
        Any of the three texts may be None; ``category`` is None for a clean sentence and ``"trap"`` for a
        clean sentence with an allow-listed word (Scunthorpe, cocktail, ...).
    piece_gap_s : (low, high)
        The silence after each piece is drawn uniformly from this range, s; a sentence's last piece gets
        ``sentence_gap_s`` more.
    edge_s : float
        Silence before the first piece, s.
    bed_db : float, optional
        Mix a music bed this many dB under the speech's RMS (over its non-silent samples).
    """
    rng = np.random.default_rng(seed)
    chunks = [np.zeros(round(edge_s * SAMPLE_RATE), np.float32)]
    position = chunks[0].shape[0]
    pieces = []
    for index, (prefix, word, suffix, category) in enumerate(sentences):
        texts = [(text, category if text is word else None) for text in (prefix, word, suffix) if text is not None]
        for number, (text, planted) in enumerate(texts):
            samples = speak(text, voice, speed_wpm)
            pieces.append(Piece(text, position, position + samples.shape[0], planted, index))
            chunks.append(samples)
            position += samples.shape[0]
            gap_s = rng.uniform(*piece_gap_s) + (sentence_gap_s if number == len(texts) - 1 else 0.0)
            chunks.append(np.zeros(round(gap_s * SAMPLE_RATE), np.float32))
            position += chunks[-1].shape[0]
    speech = np.concatenate(chunks)
    bed = np.zeros_like(speech)
    if bed_db is not None:
        from _signals import notes

        music = notes(SAMPLE_RATE, speech.shape[0] / SAMPLE_RATE + 1, rng).mean(axis=0)[:speech.shape[0]]
        sounding = np.abs(speech) > TRIM_LEVEL
        speech_rms = np.sqrt(np.mean(speech[sounding].astype(np.float64) ** 2))
        bed = (music * speech_rms / np.sqrt(np.mean(music ** 2)) * 10 ** (-bed_db / 20)).astype(np.float32)
    speech.setflags(write=False)
    bed.setflags(write=False)
    return Episode(name, speech, bed, tuple(pieces), voice, speed_wpm)


def piece_energy(signal: np.ndarray, piece: Piece, keep: np.ndarray | None = None) -> float:
    """Sum of squares of ``signal`` over ``piece``'s samples (only where ``keep`` is True, when given)."""
    part = signal[piece.first:piece.stop].astype(np.float64) ** 2
    return float(part.sum() if keep is None else part[keep[piece.first:piece.stop]].sum())


def kept_samples(source: str | Path, output: str | Path, fade_s: float) -> np.ndarray:
    """Per sample of a bleeped file: True where the input survives (untouched, or inside a crossfade).

    Samples where ``output`` differs from ``source`` form the replaced runs; ``fade_s`` at each end of
    a run is the crossfade, counted as kept whole. Shape (frames,).
    """
    before, after = audiokit.read(source).samples, audiokit.read(output).samples
    touched = np.any(before != after, axis=0)
    fade = round(fade_s * audiokit.probe(source).sample_rate)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], touched.astype(np.int8), [0]))))
    runs: list[list[int]] = []
    for first, stop in zip(edges[::2].tolist(), edges[1::2].tolist()):
        if runs and first - runs[-1][1] < fade:  # a tone sample that happens to equal the input splits no run
            runs[-1][1] = stop
        else:
            runs.append([first, stop])
    kept = np.ones(touched.shape[0], bool)
    for first, stop in runs:
        kept[first + fade:stop - fade] = False
    return kept


#: The tuning set: the sentences the bleep's and the evaluation's constants were chosen on
#: (en-us, 150 wpm, 60 ms gaps, no bed). (prefix, planted, suffix, category); category None: clean, "trap": clean
#: with an allow-listed word.
TUNING = (
    ("Welcome back to the show, everyone.", None, None, None),
    ("That was", "fucking", "stupid.", "profanity"),
    ("What the", "fuck", "is this?", "profanity"),
    ("We visited Scunthorpe last spring.", None, None, "trap"),
    ("This", "shit", "is getting old.", "profanity"),
    ("He ordered a cocktail at the bar.", None, None, "trap"),
    ("I will", "kill you", "tomorrow.", "violence"),
    ("She said he was a", "bitch.", None, "profanity"),
    ("They sold", "cocaine", "in the park.", "drugs"),
    ("The weather was lovely today.", None, None, None),
    ("He is such an", "asshole,", "honestly.", "profanity"),
    ("Charles Dickens wrote many novels.", None, None, "trap"),
    ("Oh", "damn,", "that hurts.", "profanity"),
    ("Cut the", "bullshit", "please.", "profanity"),
    ("The peacock spread its tail.", None, None, "trap"),
    ("You fat", "bastard.", None, "profanity"),
    ("He is a", "motherfucker.", None, "profanity"),
    ("They bought", "heroin", "downtown.", "drugs"),
    ("The assassin escaped through the window.", None, None, "trap"),
    ("He watches", "porn", "all day.", "sexual"),
    ("I want to", "kill myself", "sometimes.", "self-harm"),
    ("We kill time playing cards.", None, None, "trap"),
    ("I will", "shoot up the", "school.", "violence"),
    ("Our guest today is a chef from Paris.", None, None, None),
    ("Shut the", "fuck", "up.", "profanity"),
    ("What a piece of", "crap.", None, "profanity"),
    ("Go", "kill yourself.", None, "self-harm"),
    ("Play that classic bass line again.", None, None, "trap"),
)

#: Held-out set, part A: another script, other words and traps, British voice at 175 wpm, gaps 50-150 ms.
HELD_OUT_A = (
    ("Thanks for tuning in to the late edition.", None, None, None),
    ("Stop being such a", "dick", "about it.", "profanity"),
    ("Well", "goddamn,", "look at that.", "profanity"),
    ("We toured Sussex by train.", None, None, "trap"),
    ("He was totally", "pissed", "off.", "profanity"),
    ("The cockroach hid under the sink.", None, None, "trap"),
    ("She called him a", "wanker", "again.", "profanity"),
    ("They smuggled", "fentanyl", "across the border.", "drugs"),
    ("Our producer loves Hitchcock films.", None, None, "trap"),
    ("He grows", "marijuana", "in his garage.", "drugs"),
    ("The embassy closed early.", None, None, "trap"),
    ("I am going to", "stab him", "tonight.", "violence"),
    ("The recipe needs shiitake mushrooms.", None, None, "trap"),
    ("Sometimes I want to", "hurt myself.", None, "self-harm"),
    ("We met a therapist in Essex.", None, None, "trap"),
    ("Drinking tea is a classic habit.", None, None, "trap"),
)

#: Held-out set, part B: a third script, a female voice at 135 wpm over a music bed 18 dB under the speech.
HELD_OUT_B = (
    ("Hello and welcome to the morning show.", None, None, None),
    ("Get your", "ass", "over here.", "profanity"),
    ("They found a", "dildo", "in the drawer.", "sexual"),
    ("The arsenal won on Sunday.", None, None, "trap"),
    ("They will", "blow up the building", "at noon.", "violence"),
    ("Her new method works well.", None, None, "trap"),
    ("He was arrested for", "rape.", None, "violence"),
    ("I want to", "end my life.", None, "self-harm"),
    ("The heroine saves the city.", None, None, "trap"),
    ("Shut up, you", "cunt.", None, "profanity"),
    ("We walked through the passage.", None, None, "trap"),
    ("He is always", "horny", "at night.", "sexual"),
    ("Thanks for listening, see you next week.", None, None, None),
)

#: Held-out set, part C: a fourth script, a received-pronunciation voice at 160 wpm, gaps 40-120 ms, over a
#: music bed 12 dB under the speech. Made after the bleep's constants were settled and measured once.
HELD_OUT_C = (
    ("Good evening and welcome to the panel.", None, None, None),
    ("He made a", "blowjob", "joke on air.", "sexual"),
    ("The shuttlecock flew over the net.", None, None, "trap"),
    ("Oh", "dammit,", "I forgot.", "profanity"),
    ("She wrote about the", "murder", "in her book.", "violence"),
    ("We visited Middlesex last year.", None, None, "trap"),
    ("He felt", "suicidal", "last winter.", "self-harm"),
    ("That guy is an", "arsehole.", None, "profanity"),
    ("An assessment is due on Friday.", None, None, "trap"),
    ("I will", "strangle her", "tonight.", "violence"),
    ("She called her a", "slut", "online.", "sexual"),
    ("He reads Dickinson poems.", None, None, "trap"),
    ("Sometimes I want to", "take my own life.", None, "self-harm"),
    ("That was the best day of the year.", None, None, None),
)


def counts(sentences: tuple) -> dict[str, int]:
    """How many sentences a set has, and how many are planted, clean and traps (docs/moderation.md quotes these)."""
    planted = sum(word is not None for _, word, _, _ in sentences)
    traps = sum(category == "trap" for _, _, _, category in sentences)
    return {"sentences": len(sentences), "planted": planted, "clean": len(sentences) - planted - traps, "traps": traps}


def tuning_episode() -> Episode:
    """The tuning set, laid out as it was when the constants were tuned (no leading silence)."""
    return build_episode("tuning", TUNING, edge_s=0.0)


def held_out_episodes() -> list[Episode]:
    return [build_episode("held-out-a", HELD_OUT_A, voice="en-gb", speed_wpm=175, piece_gap_s=(0.05, 0.15), seed=1),
            build_episode("held-out-b", HELD_OUT_B, voice="en-us+f3", speed_wpm=135, piece_gap_s=(0.05, 0.15),
                          seed=2, bed_db=18.0),
            build_episode("held-out-c", HELD_OUT_C, voice="en-gb-x-rp", speed_wpm=160, piece_gap_s=(0.04, 0.12),
                          seed=3, bed_db=12.0)]
