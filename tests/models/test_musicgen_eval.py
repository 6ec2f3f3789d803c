"""The issue's evaluation on the committed weights: NLL vs baselines, ranges, reproducibility, KL.

Nothing here trains or needs music21: the held-out chorales and the baseline
tables ship with the weights. These tests need numpy and safetensors only.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from audiokit.errors import ParameterError
from audiokit.models.musicgen import VOICE_RANGES, compose, load_network
from audiokit.models.musicgen.data import load_heldout
from audiokit.models.musicgen.metrics import baseline_nll, kl_divergence, pitch_class_histogram
from audiokit.models.musicgen.runtime import WEIGHTS, WEIGHTS_PATH
from audiokit.models.musicgen.tokens import HOLD, REST, grid_pitches

#: Generated pitch-class histograms (relative to the tonic) must be this close
#: to the training corpus's (measured: 0.009 major, 0.037 minor; the card reports 16-bar values).
MAX_PITCH_CLASS_KL = 0.08


@pytest.fixture(scope="module")
def network():
    return load_network()


@pytest.fixture(scope="module")
def heldout():
    return load_heldout()


def test_weights_are_the_committed_file_and_small():
    data = WEIGHTS_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == WEIGHTS.sha256
    assert len(data) <= 10 * 2**20
    assert WEIGHTS.sample_rate == 48000 and WEIGHTS.to_dict()["license"] == "BSD-3-Clause"


def test_validation_nll_beats_unigram_and_bigram(network, heldout):
    total, count = 0.0, 0
    for index, grid in enumerate(heldout.grids):
        key = heldout.key(index).index
        log_probs = network.log_probs(grid, positions=heldout.positions(index), key=key)
        total -= log_probs.sum()
        count += log_probs.size
    model_nll = total / count
    unigram = baseline_nll(network.tensors["eval.unigram"].astype(np.float64), heldout)
    bigram = baseline_nll(network.tensors["eval.bigram"].astype(np.float64), heldout)
    assert model_nll < bigram < unigram
    recorded = network.metadata["metrics"]
    # the numpy runtime reproduces what training measured with torch
    assert model_nll == pytest.approx(recorded["valid_nll"], abs=1e-4)
    assert bigram == pytest.approx(recorded["bigram_nll"], abs=1e-4)
    assert unigram == pytest.approx(recorded["unigram_nll"], abs=1e-4)


def test_same_seed_same_piece_other_seed_other_piece(network):
    a = compose(bars=4, seed=11, key="G", network=network)
    b = compose(bars=4, seed=11, key="G", network=network)
    c = compose(bars=4, seed=12, key="G", network=network)
    assert a.grid.tobytes() == b.grid.tobytes()
    assert a.grid.tobytes() != c.grid.tobytes()
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("key, temperature, top_p", [
    ("C", 1.0, 0.95), ("F#", 1.0, 0.95), ("Bb", 1.6, 1.0), ("e", 1.0, 0.95), ("g#m", 0.7, 0.8),
])
def test_voices_stay_in_range_and_tokens_are_well_formed(network, key, temperature, top_p):
    piece = compose(bars=8, seed=5, key=key, temperature=temperature, top_p=top_p, network=network)
    pitches = grid_pitches(piece.grid)
    for voice, (low, high) in enumerate(VOICE_RANGES):
        sounding = pitches[voice][pitches[voice] >= 0]
        assert sounding.size > 0
        assert low <= sounding.min() and sounding.max() <= high
    previous = np.concatenate([np.full((4, 1), REST), piece.grid[:, :-1]], axis=1)
    assert not ((piece.grid == HOLD) & (previous == REST)).any()


def test_pitch_class_histogram_is_close_to_the_corpus(network):
    keys = ["C", "D", "F", "Bb", "a", "e", "g", "c#"]
    pieces = [compose(bars=12, seed=seed, key=key, network=network) for seed, key in enumerate(keys)]
    histogram = pitch_class_histogram([p.grid for p in pieces], [p.key for p in pieces])
    for mode in (0, 1):
        assert kl_divergence(histogram[mode], network.pitch_classes[mode]) < MAX_PITCH_CLASS_KL


def test_heldout_chorales_match_the_corpus_histogram(network, heldout):
    # sanity of the metric: real held-out chorales are far closer than the bound
    histogram = pitch_class_histogram(heldout.grids, [heldout.key(i) for i in range(len(heldout))])
    for mode in (0, 1):
        assert kl_divergence(histogram[mode], network.pitch_classes[mode]) < 0.02


def test_priming_copies_the_opening_transposed(network, heldout):
    index = next(i for i in range(len(heldout)) if not heldout.key(i).minor and heldout.bar_offsets[i] == 0)
    name, source = heldout.names[index], heldout.key(index)
    target = source.transposed(2)
    piece = compose(bars=4, seed=0, key=target, prime=name, prime_bars=2, network=network)
    assert piece.prime == name and piece.key == target and piece.prime_steps == 2 * heldout.steps_per_bar[index]
    original = grid_pitches(heldout.grids[index][:, : piece.prime_steps])
    primed = grid_pitches(piece.grid[:, : piece.prime_steps])
    shift = (primed - original)[original >= 0]
    assert len(set(shift.tolist())) == 1 and shift[0] % 12 == 2
    unprimed = compose(bars=4, seed=0, prime=name, network=network)
    assert unprimed.key == source


def test_length_in_bars_and_seconds(network):
    assert compose(bars=3, seed=0, network=network).num_steps == 48
    # 30 s at 80 bpm is 40 beats
    assert compose(seconds=30, tempo_bpm=80, seed=0, network=network).num_steps == 160


@pytest.mark.parametrize("kwargs, match", [
    ({"bars": 0}, "bars"),
    ({"bars": 2, "seconds": 3.0}, "exactly one"),
    ({"bars": 2, "temperature": 0.0}, "temperature"),
    ({"bars": 2, "top_p": 1.5}, "top_p"),
    ({"bars": 2, "seed": -1}, "seed"),
    ({"bars": 2, "key": "X"}, "key is"),
    ({"bars": 2, "prime": "bwv0.0"}, "held-out"),
    ({"seconds": 5.0, "tempo_bpm": 1000}, "tempo_bpm"),
])
def test_bad_arguments(network, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        compose(network=network, **kwargs)


def test_prime_mode_mismatch(network, heldout):
    index = next(i for i in range(len(heldout)) if heldout.key(i).minor)
    with pytest.raises(ParameterError, match="other mode"):
        compose(bars=4, prime=heldout.names[index], key="C", network=network)


def test_generate_returns_audio_without_importing_torch_or_music21():
    code = ("import sys, audiokit.models\n"
            "audio = audiokit.models.generate(bars=1, seed=2, key='A')\n"
            "assert audio.sample_rate == 48000 and audio.num_channels == 2, audio\n"
            "print(sorted(m for m in ('torch', 'music21') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
