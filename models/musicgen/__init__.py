"""Chorale-style music generation: a small GRU trained on Bach chorales, rendered by audiokit.

Generation needs numpy and safetensors only (the ``ml`` extra); training needs
torch and music21 (the ``train`` extra). See ``docs/musicgen.md`` and
``MODEL_CARD.md`` beside this file.

Examples
--------
>>> from audiokit.models import musicgen
>>> piece = musicgen.compose(bars=4, seed=7, key="F")
>>> audio = musicgen.render(piece, tempo_bpm=72)          # doctest: +SKIP
>>> musicgen.write_midi("piece.mid", piece, tempo_bpm=72)  # doctest: +SKIP
"""

from .midi import midi_bytes, write_midi
from .rendering import SAMPLE_RATE, generate, render
from .runtime import WEIGHTS, load_network
from .sampling import Piece, compose, steps_for
from .tokens import VOICE_RANGES, VOICES, Key, Note, parse_key

__all__ = [
    "SAMPLE_RATE",
    "VOICES",
    "VOICE_RANGES",
    "WEIGHTS",
    "Key",
    "Note",
    "Piece",
    "compose",
    "generate",
    "load_network",
    "midi_bytes",
    "parse_key",
    "render",
    "steps_for",
    "write_midi",
]
