"""The torch model (training) and the numpy runtime (generation) compute the same thing.

Needs torch (the ``train`` extra); it loads the committed weights and does not train.
"""

from __future__ import annotations

import numpy as np
import torch
from safetensors.torch import load_file

from audiokit.models.musicgen import compose, load_network
from audiokit.models.musicgen.data import load_heldout
from audiokit.models.musicgen.model import ChoraleModel
from audiokit.models.musicgen.runtime import WEIGHTS_PATH
from audiokit.models.musicgen.tokens import REST
from audiokit.models.musicgen.train import TrainOptions, _batch


def _torch_model(network):
    model = ChoraleModel(network.config)
    state = {k: v for k, v in load_file(str(WEIGHTS_PATH)).items() if not k.startswith("eval.")}
    model.load_state_dict(state)
    return model.eval()


def _torch_log_probs(model, grid, positions, key):
    current = torch.from_numpy(np.asarray(grid, np.int64))[None]
    previous = torch.cat([torch.full((1, 4, 1), REST), current[:, :, :-1]], dim=2)
    with torch.no_grad():
        logits = model(previous, current, torch.from_numpy(np.asarray(positions))[None], torch.tensor([key]))
    log_probs = torch.log_softmax(logits.double(), dim=-1)[0]
    return log_probs.gather(-1, current[0][..., None])[..., 0].numpy()


def test_numpy_runtime_matches_torch_on_heldout_and_sampled_grids():
    network = load_network()
    model = _torch_model(network)
    heldout = load_heldout()
    for index in (0, 5):
        grid, positions, key = heldout.grids[index], heldout.positions(index), heldout.key(index).index
        np.testing.assert_allclose(network.log_probs(grid, positions=positions, key=key),
                                   _torch_log_probs(model, grid, positions, key), atol=2e-5)
    piece = compose(bars=2, seed=3, key="Eb", network=network)
    positions = np.arange(piece.num_steps) % 16
    np.testing.assert_allclose(network.log_probs(piece.grid, positions=positions, key=piece.key.index),
                               _torch_log_probs(model, piece.grid, positions, piece.key.index), atol=2e-5)


def test_training_batches_are_shaped_and_transposed_consistently():
    heldout = load_heldout()
    options = TrainOptions(batch_size=6, crop_steps=40)
    previous, current, positions, keys, mask = _batch(heldout, np.random.default_rng(0), options)
    assert previous.shape == current.shape == (6, 4, 40)
    assert positions.shape == mask.shape == (6, 40) and keys.shape == (6,)
    # previous is current shifted by one step wherever both are inside the crop
    inside = mask[:, None, 1:] & mask[:, None, :-1]
    assert (np.where(inside, previous[:, :, 1:] == current[:, :, :-1], True)).all()
    assert positions.max() < 16 and keys.max() < 24
    again = _batch(heldout, np.random.default_rng(0), options)
    assert all((a == b).all() for a, b in zip(again, (previous, current, positions, keys, mask)))
