"""Similarity search: exact top-k by cosine, and a re-encoded track finds its original first."""

from __future__ import annotations

import numpy as np
import pytest
from _signals import notes

import audiokit
from audiokit.errors import FormatError, ParameterError
from audiokit.similarity import EmbeddingIndex, track_vector


def test_top_k_equals_a_full_sort(rng):
    vectors = rng.standard_normal((5000, 64)).astype(np.float32)
    ids = [f"t{i}" for i in range(5000)]
    index = EmbeddingIndex(ids, vectors)
    query = rng.standard_normal(64)
    cosine = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)) @ (query / np.linalg.norm(query))
    expected = [ids[i] for i in np.argsort(-cosine)[:10]]
    found = index.search(query, k=10)
    assert [n.track_id for n in found] == expected
    np.testing.assert_allclose([n.similarity for n in found], np.sort(cosine)[::-1][:10], rtol=1e-5)
    assert [n.track_id for n in index.similar_to("t3", k=3)][0] != "t3"  # itself left out


def test_save_and_load_round_trip_and_errors(tmp_path, rng):
    index = EmbeddingIndex(["a", "b"], rng.standard_normal((2, 8)))
    index.save(tmp_path / "index.npz")
    again = EmbeddingIndex.load(tmp_path / "index.npz")
    assert again.track_ids == ["a", "b"] and again.similar_to("a", k=1)[0].track_id == "b"
    with pytest.raises(ParameterError, match="not in the index"):
        again.similar_to("zzz")
    with pytest.raises(ParameterError, match="dimensions"):
        again.search(np.zeros(3))
    (tmp_path / "bad.npz").write_bytes(b"junk")
    with pytest.raises(FormatError, match="embedding index"):
        EmbeddingIndex.load(tmp_path / "bad.npz")


def test_a_re_encoded_track_ranks_its_original_first(tmp_path):
    pytest.importorskip("torch", reason="the ml extra is required")
    from audiokit.models import tag

    rate, ids, vectors = 44100, [], []
    originals = {}
    for seed in range(8):
        samples = (0.25 * notes(rate, 12.0, np.random.default_rng(500 + seed))).astype(np.float32)
        originals[f"track{seed}"] = samples
    for track_id, samples in originals.items():
        result = tag(audiokit.Audio(samples, rate), model="MTT_musicnn")
        ids.append(track_id)
        vectors.append(track_vector(result.embedding))
    index = EmbeddingIndex(ids, np.array(vectors))
    for track_id in ("track2", "track5"):
        copy = audiokit.write(tmp_path / f"{track_id}.mp3", audiokit.Audio(originals[track_id], rate),
                              bitrate_bps=96_000)
        result = tag(copy, model="MTT_musicnn")
        best = index.search(track_vector(result.embedding), k=3)
        assert best[0].track_id == track_id
        assert best[0].similarity > 0.99 and best[0].similarity > best[1].similarity
