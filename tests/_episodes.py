"""Podcast-like test episodes from a written script, with known sentence and word positions.

An episode is espeak-ng speech (several voices and speeds) read from a
script, with pauses of 0.2 to 3 s between sentences, a music bed 20 dB under
some passages and a room reverb on others. The script is the reference: every
sentence and every word carries its first and last sample in the episode.

Speech comes from libespeak-ng (the library behind the ``espeak-ng`` command,
Debian package ``libespeak-ng1``) through ctypes, because its word events
(``espeakEVENT_WORD``, espeak-ng's ``speak_lib.h``) give the sample at which
each word starts; the command-line tool does not report them.

Examples
--------
>>> from _episodes import episode, build_episode, Line
>>> ep = episode(2.0)                                  # doctest: +SKIP
>>> ep.sentences[3].text, ep.sentences[3].start_s      # doctest: +SKIP
>>> custom = build_episode([Line("Hello there.", voice="en-gb", pause_before_s=0.5)])  # doctest: +SKIP
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = [
    "Line", "SpokenWord", "SpokenSentence", "Episode", "SCRIPT", "VOICES", "available", "synthesize",
    "build_episode", "script", "episode", "words_of",
]

#: espeak-ng voices the scripts cycle through (language + variant).
VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp")
#: Speaking rates the scripts cycle through, words per minute (espeak-ng's default is 175).
SPEEDS_WPM = (150, 165, 140, 170, 160)
#: Level of the music bed under a passage, dB relative to the passage's speech RMS.
MUSIC_BED_DB = -20.0

#: A script in the register of a talk podcast: no digits or abbreviations, so the
#: reference needs no text normalization beyond case and punctuation. Passages are
#: separated by blank strings; a passage is read by one voice at one speed.
SCRIPT = (
    "Welcome back to the show about sound and the people who make it.",
    "Today we talk about old studios, new microphones and the strange habits of engineers.",
    "My guest has spent twenty years recording bands in a converted church.",
    "",
    "Thank you for having me, it is a pleasure to be here.",
    "The church was cold in winter, so we recorded the drums wearing coats.",
    "The room had a long natural reverb that everybody loved and nobody could control.",
    "We hung heavy curtains on the walls to tame the echo.",
    "",
    "Let us start with the first record you made there.",
    "It was a folk album with a singer who refused to wear headphones.",
    "She wanted to hear the room, not a mix of herself in her ears.",
    "So we placed the microphones far away and hoped for the best.",
    "",
    "Honestly, the old mixing desk was a real pain in the ass.",
    "Half of the channels crackled whenever the heating came on.",
    "We learned which faders to avoid and wrote warnings on masking tape.",
    "",
    "How did you clean up the noise afterwards?",
    "Mostly by patience, careful editing and a lot of strong coffee.",
    "Software today removes hum in seconds, but back then we cut tape by hand.",
    "A razor blade, a splicing block and a steady hand were all we had.",
    "",
    "Tell me about the microphones you trust the most.",
    "A good ribbon microphone makes a trumpet sound warm instead of harsh.",
    "Small condenser microphones are honest, they show you exactly what is there.",
    "Dynamic microphones survive anything, including a singer who drops them.",
    "",
    "Listeners often ask why podcasts sound so different from radio.",
    "Radio stations compress everything heavily so it carries through car speakers.",
    "Many podcasts are mixed more gently, with quiet voices left quiet.",
    "That is why loudness standards matter for streaming platforms.",
    "",
    "What changed when streaming arrived?",
    "Suddenly every track was measured and turned down if it was too loud.",
    "The loudness war lost its point almost overnight.",
    "Engineers could finally leave the dynamics of a song alone.",
    "",
    "Let us take a short break and come back with listener questions.",
    "",
    "Our first question comes from a teacher who records lessons at home.",
    "She asks how to stop the echo in a small bare room.",
    "Put soft things around you, a sofa, a rug, books on the shelves.",
    "Speak close to the microphone and turn the gain down a little.",
    "",
    "The second question is about recording outdoors.",
    "Wind is the enemy, so always bring a furry cover for the microphone.",
    "Record a minute of the place without talking, it helps the editor later.",
    "Birds and distant traffic can make a scene feel real.",
    "",
    "Somebody asked whether expensive cables are worth the money.",
    "A cable should be well built and shielded, and that is all it needs.",
    "Spend the money on a better room or a better microphone instead.",
    "",
    "Before we finish, tell us about the worst session you remember.",
    "A power cut in the middle of a live take, with a full string section waiting.",
    "We lit candles and the players kept tuning while we fixed the generator.",
    "When the lights came back they played the best take of the week.",
    "",
    "That is a wonderful story to end on.",
    "Thank you for listening, and see you next week for another episode.",
)

_SAMPLE_RATE = 22050  # libespeak-ng's output rate, Hz
_WORD = re.compile(r"[A-Za-z0-9']+")


@lru_cache(maxsize=1)
def _normalizer():
    """openai-whisper's English text normalizer (its WER evaluations use it), or None when not installed."""
    try:
        from whisper.normalizers import EnglishTextNormalizer
    except ImportError:
        return None
    return EnglishTextNormalizer()


def words_of(text: str) -> list[str]:
    """The words of ``text`` in the form references and hypotheses are compared in.

    openai-whisper's ``EnglishTextNormalizer`` first (spelled-out numbers to
    digits, British to American spelling, contractions, as in Whisper's own
    WER evaluations) when it is installed, then lower case without punctuation.
    """
    normalizer = _normalizer()
    if normalizer is not None:
        text = normalizer(text)
    return [w.strip("'") for w in _WORD.findall(text.lower().replace("-", " ")) if w.strip("'")]


@dataclass(frozen=True)
class Line:
    """One sentence of a script and how it is read."""

    #: the sentence, as written
    text: str
    #: espeak-ng voice name, e.g. "en-us", "en-gb-x-rp", "en-us+f3"
    voice: str = "en-us"
    #: speaking rate, words per minute
    words_per_minute: int = 160
    #: silence before the sentence, seconds
    pause_before_s: float = 0.5
    #: mix a music bed MUSIC_BED_DB under the sentence
    music: bool = False
    #: read the sentence in a reverberant room
    reverb: bool = False


@dataclass(frozen=True)
class SpokenWord:
    """A word of the script and where it is in the episode."""

    #: the word as written in the script, punctuation attached
    text: str
    #: first sample of the word (espeak-ng's word event)
    start: int
    #: one past the last sample of the word (next word's start, or the end of the sentence's sound)
    end: int


@dataclass(frozen=True)
class SpokenSentence:
    """A sentence of the script, how it was read and where it is in the episode."""

    text: str
    #: first sample of the sentence's sound
    start: int
    #: one past the sentence's last sample of (dry) sound
    end: int
    words: tuple[SpokenWord, ...]
    voice: str
    words_per_minute: int
    music: bool
    reverb: bool
    #: index of the passage (group of sentences read together) this sentence belongs to
    passage: int


@dataclass(frozen=True)
class Episode:
    """A generated episode: mono samples and the script with positions."""

    #: shape (1, frames), float32, peak <= 0.9
    samples: np.ndarray
    sample_rate: int
    sentences: tuple[SpokenSentence, ...]

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    @property
    def text(self) -> str:
        """The reference transcript: every sentence, in order."""
        return " ".join(sentence.text for sentence in self.sentences)

    def seconds(self, sample: int) -> float:
        return sample / self.sample_rate

    def write(self, path: str | Path) -> Path:
        """Write the episode as a 16-bit WAV (what a creator would upload)."""
        import audiokit

        path = Path(path)
        audiokit.write(path, audiokit.Audio(self.samples, self.sample_rate))
        return path


# --- libespeak-ng through ctypes (speak_lib.h, espeak-ng 1.51) ---------------------------------

class _Event(ctypes.Structure):
    # espeak_EVENT: type, unique_identifier, text_position (1-based), length, audio_position (ms),
    # sample (the sample the event falls on), user_data, id (a union of pointer size)
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_void_p)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_EVENT_LIST_TERMINATED, _EVENT_WORD = 0, 1
_AUDIO_OUTPUT_SYNCHRONOUS, _POS_CHARACTER, _CHARS_UTF8, _PARAMETER_RATE = 2, 1, 1, 1
_LOCK = threading.Lock()
_VOICE_FILES = {"en-gb": "en"}


class _Espeak:
    def __init__(self) -> None:
        name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        self.lib = ctypes.CDLL(name)
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
        if rate != _SAMPLE_RATE:
            raise RuntimeError(f"libespeak-ng runs at {rate} Hz; expected {_SAMPLE_RATE}")
        self.chunks: list[np.ndarray] = []
        self.words: list[tuple[int, int, int]] = []
        self.callback = _CALLBACK(self._on_audio)  # kept alive as long as the library may call it
        self.lib.espeak_SetSynthCallback(self.callback)

    def _on_audio(self, wav, count, events) -> int:
        if count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, (count,)).astype(np.float32) / 32768.0)
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_WORD:
                self.words.append((event.text_position - 1, event.length, event.sample))
            index += 1
        return 0

    def speak(self, text: str, voice: str, words_per_minute: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        # espeak_SetVoiceByName looks voices up by file name; en-gb's file is gmw/en
        name = _VOICE_FILES.get(voice.split("+")[0], voice.split("+")[0]) + voice[len(voice.split("+")[0]):]
        if self.lib.espeak_SetVoiceByName(name.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r} (espeak-ng --voices=en lists them)")
        self.lib.espeak_SetParameter(_PARAMETER_RATE, int(words_per_minute), 0)
        self.chunks, self.words = [], []
        data = text.encode()
        buffer = ctypes.create_string_buffer(data)
        status = self.lib.espeak_Synth(buffer, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed ({status}) on {text!r}")
        self.lib.espeak_Synchronize()
        samples = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
        return samples, list(self.words)


@lru_cache(maxsize=1)
def _espeak() -> _Espeak:
    return _Espeak()


def available() -> bool:
    """Whether libespeak-ng can be loaded (Debian: espeak-ng / libespeak-ng1)."""
    try:
        _espeak()
    except (OSError, RuntimeError):
        return False
    return True


def synthesize(text: str, *, voice: str = "en-us", words_per_minute: int = 160
               ) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """One sentence read by espeak-ng, trimmed to its sound, with word spans.

    Returns
    -------
    samples : np.ndarray [shape=(n,), dtype=float32]
        At 22050 Hz.
    words : list of (word, start, end)
        Samples into ``samples``; a word ends where the next starts, the
        last where the sound ends.
    """
    with _LOCK:
        samples, events = _espeak().speak(text, voice, words_per_minute)
    loud = np.flatnonzero(np.abs(samples) > 1e-3)
    if loud.size == 0:
        raise RuntimeError(f"espeak-ng produced no sound for {text!r}")
    first, last = int(loud[0]), int(loud[-1]) + 1
    # one span per whitespace-separated word of the text; espeak-ng sends no event for some
    # words it reads as one unit with the previous one ("to be"): those share that word's span,
    # divided by length
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", text)]
    starts: list[int | None] = [None] * len(tokens)
    for position, _, sample in events:
        for index, (a, b, _) in enumerate(tokens):
            if a <= position < b and starts[index] is None:
                starts[index] = min(max(sample, first), last) - first
    if starts and starts[0] is None:
        starts[0] = 0
    spans = []
    index = 0
    while index < len(tokens):
        group = [index]
        while index + len(group) < len(tokens) and starts[index + len(group)] is None:
            group.append(index + len(group))
        following = index + len(group)
        begin = starts[index]
        finish = starts[following] if following < len(tokens) else last - first
        lengths = [len(tokens[k][2]) for k in group]
        position = begin
        for k, length in zip(group, lengths):
            step = round((finish - begin) * length / sum(lengths))
            end = finish if k == group[-1] else position + step
            spans.append((tokens[k][2], position, max(end, position)))
            position = end
        index = following
    return samples[first:last].copy(), spans


def _music_bed(frames: int, rng: np.random.Generator) -> np.ndarray:
    """Slow organ and string chords (audiokit.synth), mono float32 of ``frames`` samples."""
    from audiokit import synth

    chord_s = 2.0
    roots = rng.choice([45, 48, 50, 52, 53, 55], size=int(np.ceil(frames / _SAMPLE_RATE / chord_s)) + 1)
    pitches, starts, durations, voices = [], [], [], []
    for index, root in enumerate(roots):
        for voice, interval in enumerate((0, 7, 12, 16)):
            pitches.append(root + interval)
            starts.append(index * chord_s)
            durations.append(chord_s * 0.95)
            voices.append(0 if voice < 2 else 1)
    stems = synth.render_notes(np.array(pitches), np.array(starts), np.array(durations), _SAMPLE_RATE,
                               voices=np.array(voices), num_voices=2, timbre=synth.STRINGS)
    bed = stems.sum(axis=0)
    if bed.shape[0] < frames:
        bed = np.pad(bed, (0, frames - bed.shape[0]))
    return bed[:frames].astype(np.float32)


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def build_episode(lines: Sequence[Line], *, seed: int = 0, tail_s: float = 1.0) -> Episode:
    """Read ``lines`` into an episode (22050 Hz mono) with every sentence's and word's samples.

    A line's music bed covers its sentence and the pause before it, at
    :data:`MUSIC_BED_DB` under the sentence's speech RMS, faded in and out
    over 0.3 s. A reverberant line is convolved with audiokit.synth's room
    (wet 0.35); its tail runs into the next pause. Positions refer to the dry speech.
    """
    from audiokit import synth

    rng = np.random.default_rng(seed)
    pieces: list[tuple[int, np.ndarray]] = []  # (start sample, mono samples) added into the mix
    sentences, position, passage = [], 0, 0
    for index, line in enumerate(lines):
        speech, spans = synthesize(line.text, voice=line.voice, words_per_minute=line.words_per_minute)
        pause = round(line.pause_before_s * _SAMPLE_RATE)
        start = position + pause
        if line.reverb:
            wet = synth.reverb(speech[np.newaxis], _SAMPLE_RATE,
                               options=synth.ReverbOptions(room_size=0.7, wet=0.35, tail_s=0.8)).mean(axis=0)
            pieces.append((start, wet))
        else:
            pieces.append((start, speech))
        if line.music:
            bed = _music_bed(pause + speech.shape[0], rng)
            fade = min(round(0.3 * _SAMPLE_RATE), bed.shape[0] // 2)
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            bed[:fade] *= ramp
            bed[bed.shape[0] - fade:] *= ramp[::-1]
            gain = _rms(speech) * 10 ** (MUSIC_BED_DB / 20) / max(_rms(bed[pause:]), 1e-9)
            pieces.append((position, bed * np.float32(gain)))
        if index and line.pause_before_s >= 1.0:
            passage += 1
        words = tuple(SpokenWord(text, start + a, start + b) for text, a, b in spans)
        sentences.append(SpokenSentence(line.text, start, start + speech.shape[0], words, line.voice,
                                        line.words_per_minute, line.music, line.reverb, passage))
        position = start + speech.shape[0]
    frames = max([position] + [s + p.shape[0] for s, p in pieces]) + round(tail_s * _SAMPLE_RATE)
    mix = np.zeros(frames, np.float32)
    for start, piece in pieces:
        mix[start:start + piece.shape[0]] += piece
    peak = float(np.abs(mix).max()) or 1.0
    mix *= np.float32(0.9 / peak) if peak > 0.9 else np.float32(1.0)
    return Episode(mix[np.newaxis], _SAMPLE_RATE, tuple(sentences))


def script(minutes: float, *, seed: int = 0) -> list[Line]:
    """Lines of :data:`SCRIPT`, read until the speech lasts about ``minutes``.

    Each passage (lines between blank entries) gets one voice and one speed,
    cycling through :data:`VOICES` and :data:`SPEEDS_WPM` (shifted on every
    repeat of the script, so a repeated sentence is read differently). Pauses
    between sentences are drawn from 0.2-0.9 s, between passages from 1.5-3 s.
    Every third passage has a music bed, every fourth is reverberant.
    """
    rng = np.random.default_rng(seed)
    passages, current = [], []
    for text in SCRIPT:
        if text:
            current.append(text)
        elif current:
            passages.append(current)
            current = []
    if current:
        passages.append(current)
    lines: list[Line] = []
    total_s, number = 0.0, 0
    seconds_per_word = {wpm: 60.0 / wpm for wpm in SPEEDS_WPM}
    while total_s < minutes * 60:
        for sentences in passages:
            voice = VOICES[(number + number // len(passages)) % len(VOICES)]
            speed = SPEEDS_WPM[(number * 2 + number // len(passages)) % len(SPEEDS_WPM)]
            music, room = number % 3 == 2, number % 4 == 3
            for index, text in enumerate(sentences):
                pause = float(rng.uniform(1.5, 3.0) if index == 0 else rng.uniform(0.2, 0.9))
                lines.append(Line(text, voice, speed, round(pause, 2), music, room))
                total_s += pause + len(text.split()) * seconds_per_word[speed] * 1.15
            number += 1
            if total_s >= minutes * 60:
                break
    return lines


@lru_cache(maxsize=4)
def episode(minutes: float, seed: int = 0) -> Episode:
    """The standard episode of at least ``minutes``, ending with a whole passage (cached per process).

    The script's length estimate is rough, so the episode is read from a
    generous script and cut after the first passage that reaches ``minutes``.

    It is built in a fresh process: libespeak-ng keeps state from one sentence
    to the next (the same sentence read after another voice comes out
    different), so an episode built after other speech in the same process
    would depend on what ran before it. A fresh library makes the episode a
    function of its script alone, in every test run.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_standard_episode, minutes, seed).result()


def _standard_episode(minutes: float, seed: int) -> Episode:
    lines = script(minutes * 1.5, seed=seed)
    draft = build_episode(lines, seed=seed)
    count = len(lines)
    for index, sentence in enumerate(draft.sentences[:-1]):
        if sentence.end >= minutes * 60 * draft.sample_rate and draft.sentences[index + 1].passage != sentence.passage:
            count = index + 1
            break
    return build_episode(lines[:count], seed=seed)


def sentence_coverage(reference: Episode | Sequence[str], hypothesis: str) -> list[float]:
    """Per reference sentence, the share of its words matched in order by ``hypothesis``.

    The whole reference and the hypothesis are aligned once (Levenshtein
    alignment of words, jiwer); a reference word counts when the alignment
    pairs it with an identical hypothesis word. A dropped sentence scores
    near 0 whatever the rest of the transcript says.
    """
    import jiwer

    texts = [s.text for s in reference.sentences] if isinstance(reference, Episode) else list(reference)
    owner = [index for index, text in enumerate(texts) for _ in words_of(text)]
    ref_words = [word for text in texts for word in words_of(text)]
    hyp_words = words_of(hypothesis)
    if not hyp_words:
        return [0.0] * len(texts)
    output = jiwer.process_words(" ".join(ref_words), " ".join(hyp_words))
    hits = [0] * len(texts)
    for chunk in output.alignments[0]:
        if chunk.type == "equal":
            for position in range(chunk.ref_start_idx, chunk.ref_end_idx):
                hits[owner[position]] += 1
    totals = [len(words_of(text)) for text in texts]
    return [hit / total if total else 1.0 for hit, total in zip(hits, totals)]


def word_error_rate(reference: Episode | str, hypothesis: str) -> float:
    """WER of ``hypothesis`` against the episode's script (both in :func:`words_of` form), jiwer."""
    import jiwer

    text = reference.text if isinstance(reference, Episode) else reference
    return float(jiwer.wer(" ".join(words_of(text)), " ".join(words_of(hypothesis)) or "<empty>"))


def quiet_stereo_master(minutes: float, sample_rate: int = 44100) -> np.ndarray:
    """The :func:`episode` of ``minutes`` as a quiet stereo master ``(2, frames)`` float32 at ``sample_rate``.

    The right channel is 0.9 x the left and both are scaled by 0.3, so a loudness
    normalizer has to raise it.
    """
    from audiokit.io.resample import resample

    spoken = episode(minutes)
    speech = resample(spoken.samples, spoken.sample_rate, sample_rate)
    return np.vstack([speech, 0.9 * speech]).astype(np.float32) * np.float32(0.3)
