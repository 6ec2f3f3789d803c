"""Similarity search latency: audiokit.similarity.EmbeddingIndex on 100,000 synthetic tracks.

Anchor: the same exact search done the plain way (normalise the query, matrix
product, full argsort), which is what a user without the index would write.
Run: python benchmarks/bench_similarity.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from _harness import versions, write_json

from audiokit.similarity import EmbeddingIndex

TRACKS, DIMS, QUERIES, K = 100_000, 200, 50, 10


def main() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((TRACKS, DIMS)).astype(np.float32)
    ids = [f"track{i:06d}" for i in range(TRACKS)]
    index = EmbeddingIndex(ids, vectors)
    normalised = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((QUERIES + 5, DIMS)).astype(np.float32)

    def plain(query: np.ndarray) -> list[str]:
        scores = normalised @ (query / np.linalg.norm(query))
        return [ids[i] for i in np.argsort(-scores)[:K]]

    timings: dict[str, list[float]] = {"audiokit EmbeddingIndex.search": [], "numpy full argsort": []}
    for number, query in enumerate(queries):
        for name, run in (("audiokit EmbeddingIndex.search", lambda q=query: index.search(q, k=K)),
                          ("numpy full argsort", lambda q=query: plain(q))):
            start = time.perf_counter()
            run()
            if number >= 5:  # warm-up discarded
                timings[name].append(time.perf_counter() - start)
    summary = {name: {"median_ms": 1000 * statistics.median(values), "p95_ms": 1000 * sorted(values)[int(0.95 * len(values))],
                      "queries": len(values)} for name, values in timings.items()}
    path = write_json("similarity", {"tracks": TRACKS, "dims": DIMS, "k": K, "results": summary,
                                     "versions": versions("numpy")})
    for name, row in summary.items():
        print(f"{name:32s} median {row['median_ms']:.2f} ms  p95 {row['p95_ms']:.2f} ms")
    print(path)


if __name__ == "__main__":
    main()
