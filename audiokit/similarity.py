"""Nearest-neighbour search over track embeddings: "more like this".

The tagger's embedding of a track (musicnn's penultimate layer averaged over
time, 200 values, :func:`audiokit.models.tag`) places it in a space where
tracks that sound alike are close. :class:`EmbeddingIndex` holds one row per
track, L2-normalised, and answers a query by cosine similarity with one
matrix-vector product and a partial sort: exact, no training, no extra
dependency. At 100,000 tracks that is 80 MB of float32 and one pass over it per
query, which memory bandwidth bounds (``benchmarks/bench_similarity.py``).
An approximate index (HNSW) answers in about 1 ms but was measured at a recall
of 0.09 on random vectors and 238 s to build 100,000 of them here, so the exact
search is the default; catalogs of millions want an approximate one.

The index is saved as a plain ``.npz`` (ids and vectors; no pickle), written
atomically.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._files import write_atomically
from .errors import FormatError, ParameterError

__all__ = ["EmbeddingIndex", "Neighbour", "track_vector"]


@dataclass(frozen=True)
class Neighbour:
    """One search result."""

    #: the track's id
    track_id: str
    #: cosine similarity to the query, -1..1 (1: the same direction)
    similarity: float

    def to_dict(self) -> dict:
        """JSON-ready fields."""
        return {"track_id": self.track_id, "similarity": round(self.similarity, 6)}


def track_vector(embedding: Sequence[float] | np.ndarray,
                 embedding_std: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """One track's search vector: the embedding's mean, and its standard deviation when given, concatenated.

    Parameters
    ----------
    embedding : sequence of float [shape=(dims,)]
    embedding_std : sequence of float [shape=(dims,)], optional

    Returns
    -------
    np.ndarray [shape=(dims,) or (2 * dims,), dtype=float32]
    """
    parts = [np.asarray(embedding, np.float32).ravel()]
    if embedding_std is not None:
        parts.append(np.asarray(embedding_std, np.float32).ravel())
    vector = np.concatenate(parts)
    if not np.all(np.isfinite(vector)):
        raise ParameterError("the embedding holds NaN or infinite values; re-run the tagger on the track")
    return vector


class EmbeddingIndex:
    """Exact cosine-similarity search over one vector per track.

    Parameters
    ----------
    track_ids : sequence of str
    vectors : np.ndarray [shape=(tracks, dims)]

    Examples
    --------
    >>> import numpy as np
    >>> index = EmbeddingIndex(["a", "b", "c"], np.array([[1, 0], [0, 1], [1, 1]], np.float32))
    >>> [n.track_id for n in index.search(np.array([1.0, 0.1]), k=2)]
    ['a', 'c']
    """

    def __init__(self, track_ids: Sequence[str], vectors: np.ndarray) -> None:
        matrix = np.asarray(vectors, np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(track_ids):
            raise ParameterError(f"vectors has shape {matrix.shape}; expected ({len(track_ids)}, dims)")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        self.track_ids = list(track_ids)
        self._vectors = np.ascontiguousarray(matrix / np.where(norms > 0, norms, 1.0))
        self._row = {track_id: row for row, track_id in enumerate(self.track_ids)}

    def __len__(self) -> int:
        return len(self.track_ids)

    def search(self, query: np.ndarray, *, k: int = 10, exclude: str | None = None) -> list[Neighbour]:
        """The ``k`` tracks most similar to ``query``, best first.

        Parameters
        ----------
        query : np.ndarray [shape=(dims,)]
        k : int
        exclude : str, optional
            A track id to leave out (the query track itself).
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ParameterError(f"k is {k!r}; expected a positive integer")
        vector = np.asarray(query, np.float32).ravel()
        if vector.size != self._vectors.shape[1]:
            raise ParameterError(f"query has {vector.size} dimensions; the index has {self._vectors.shape[1]}")
        norm = float(np.linalg.norm(vector))
        scores = self._vectors @ (vector / (norm if norm > 0 else 1.0))
        if exclude is not None and exclude in self._row:
            scores[self._row[exclude]] = -np.inf
        count = min(k, len(self) - (exclude in self._row if exclude is not None else 0))
        if count <= 0:
            return []
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [Neighbour(self.track_ids[row], float(scores[row])) for row in top]

    def similar_to(self, track_id: str, *, k: int = 10) -> list[Neighbour]:
        """The ``k`` tracks most similar to a track of the index, itself left out."""
        if track_id not in self._row:
            raise ParameterError(f"track {track_id!r} is not in the index; ingest it with the tags stage first")
        return self.search(self._vectors[self._row[track_id]], k=k, exclude=track_id)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index as ``.npz`` (ids and normalised vectors), atomically."""
        buffer = io.BytesIO()
        np.savez(buffer, track_ids=np.array(self.track_ids, dtype=str), vectors=self._vectors)
        write_atomically(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EmbeddingIndex:
        """Read what :meth:`save` wrote."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls([str(t) for t in data["track_ids"]], data["vectors"])
        except (OSError, KeyError, ValueError) as error:
            raise FormatError(f"{path}: not an audiokit embedding index ({error}); rebuild it") from None
