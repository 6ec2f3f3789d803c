"""A small additive synthesizer: organ/strings voices with envelopes, panning, light reverb.

``import audiokit.synth`` compiles nothing: the Numba kernels compile (or load
from their on-disk cache) on the first call that needs them.

Examples
--------
>>> import numpy as np
>>> from audiokit import synth
>>> stems = synth.render_notes(np.array([60, 64, 67]), np.zeros(3), np.ones(3), 48000,
...                            voices=np.arange(3), num_voices=3, timbre=synth.ORGAN)
>>> stereo = synth.reverb(synth.pan_stereo(stems, pans=[-0.5, 0.0, 0.5]), 48000)
>>> stereo.shape[0]
2
"""

from .additive import ORGAN, STRINGS, TIMBRES, Timbre, midi_to_hz, pan_stereo, render_notes
from .reverb import ReverbOptions, reverb

__all__ = [
    "ORGAN",
    "STRINGS",
    "TIMBRES",
    "Timbre",
    "midi_to_hz",
    "pan_stereo",
    "render_notes",
    "ReverbOptions",
    "reverb",
]
