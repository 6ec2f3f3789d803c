"""Coverage-guided fuzzing of audiokit's decoders (probe, read, open().blocks()) with atheris.

Each input's first byte picks the file extension (so ffmpeg's and libsndfile's
format detection both get exercised), the rest are the file's bytes. The only
allowed outcomes are a result whose paths agree, or an AudiokitError naming
the file; anything else (a raw ValueError, MemoryError, a crash, a hang past
libFuzzer's -timeout, memory past -rss_limit_mb) is a finding.

Usage::

    python fuzz/make_corpus.py fuzz/corpus           # seed files (small valid encodes)
    python fuzz/fuzz_io.py fuzz/corpus -runs=5000 -rss_limit_mb=2048 -timeout=10

Needs ``pip install atheris`` (in the test extra on Linux).
"""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

# audiokit's top level imports its submodules lazily: name the ones the decode path runs
# so that they load (and are instrumented for coverage) here.
with atheris.instrument_imports(include=["audiokit"]):
    import audiokit
    import audiokit._files
    import audiokit.audio
    import audiokit.io._containers
    import audiokit.io._sanity
    import audiokit.io.probe
    import audiokit.io.reader
    from audiokit.errors import AudiokitError

#: Extensions an input may be named with; the first byte of the input selects one.
EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus", ".aiff", ".wma", ".webm", ".bin")
_FOLDER = tempfile.mkdtemp(prefix="audiokit-fuzz-")
_MAX_READ_BYTES = 4 << 20  # inputs larger than this are probed only (read would only cost time)


def test_one_input(data: bytes) -> None:
    """Feed one fuzzer input to probe, read and open.

    A finding is any exception but an AudiokitError naming the file, or the
    three disagreeing on frames, rate or channels.
    """
    if len(data) < 2:
        return
    path = os.path.join(_FOLDER, "input" + EXTENSIONS[data[0] % len(EXTENSIONS)])
    with open(path, "wb") as handle:
        handle.write(data[1:])
    try:
        info = audiokit.probe(path)
        if len(data) > _MAX_READ_BYTES:
            return
        audio = audiokit.read(path)
        with audiokit.open(path) as reader:
            streamed = sum(block.shape[1] for block in reader.blocks(4096))
    except AudiokitError as error:
        if path not in str(error) and "path is a" not in str(error):
            raise AssertionError(f"error does not name the file: {error}") from None
        return
    if not info.num_frames == audio.num_frames == streamed:
        raise AssertionError(f"probe says {info.num_frames} frames, read {audio.num_frames}, blocks {streamed}")
    if audio.sample_rate != info.sample_rate or audio.num_channels != info.num_channels:
        raise AssertionError(f"probe says {info.sample_rate} Hz x {info.num_channels}, read "
                             f"{audio.sample_rate} Hz x {audio.num_channels}")


def main() -> None:
    """Run atheris on :func:`test_one_input` with the command line's options."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
