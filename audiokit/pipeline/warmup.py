"""Compile or load every Numba kernel the ingest pipeline uses, once, before workers start.

Numba's on-disk cache (``cache=True``) is not safe against several processes
compiling the same kernel at once: two cold workers can interleave their
writes and leave index and data files that do not match, after which loading
them raises or crashes the process (numba issue 10128). So the batch driver
calls :func:`prepare_kernels` before it starts its workers: a separate
process compiles (or loads) every kernel and writes the cache alone, and the
workers only ever load it.

The warm-up runs in a child process, not in the driver, because loading a
corrupt cache can kill the process that does it. When that child fails (an
exception or a signal), a second child empties the index of every kernel's
cache (``Cache.flush``) and compiles afresh: a corrupt cache is repaired
instead of taking the batch down.

A pool of one worker (``--jobs 1``, or a single input) skips that child: no
other worker of the batch compiles beside it, so its worker compiles or loads
the kernels itself (:func:`warm_kernels`) before its first track, where the
track would load them anyway, and reports that it is ready. Only when it
dies doing so does the driver call :func:`prepare_kernels` to repair the
cache, and start a fresh worker.

With no time limit (``--jobs 1 --track-timeout inf``) the tracks run in the
driver itself, which then loads the cache the warm-up checked (or rebuilt);
the warm-up runs once per process and cache folder, since kernels a process
has loaded stay in its memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from .child_process import python_env

__all__ = ["KERNEL_MODULES", "KernelPreparation", "flush_kernel_caches", "prepare_kernels",
           "release_compiler_pages", "warm_kernels"]

#: Modules whose ``@njit(cache=True)`` kernels the ingest stages run.
KERNEL_MODULES = ("audiokit.loudness._kernels", "audiokit.io._kernels")
#: The warm-up child's time limit, s (a cold compile of every kernel takes about 30 s on 2 loaded cores).
WARMUP_TIMEOUT_S = 600
#: Rates and channel counts the warm-up runs (kernels specialize on dtype and array rank, not on these).
_WARM_RATE = 48000
_WARM_CHANNELS = (1, 2, 6)
#: Numba cache folders (NUMBA_CACHE_DIR, "" for Numba's default) prepared for this very process.
_PREPARED_HERE: set[str] = set()
#: The shared library holding LLVM, which Numba runs only to compile a kernel or load one from its cache.
_COMPILER_LIBRARY = "libllvmlite"
#: madvise(2) advice: drop these pages; a private file mapping's refault reads the file again (<sys/mman.h>).
_MADV_DONTNEED = 4


@dataclass(frozen=True)
class KernelPreparation:
    """What :func:`prepare_kernels` did."""

    #: True when the kernels are compiled and cached (False: workers compile their own, as a last resort)
    ready: bool
    #: True when the first warm-up failed and the cache was emptied and rebuilt
    repaired: bool
    #: one line on the failure(s) met, or None
    detail: str | None


def warm_kernels(*, first_try: bool = False) -> None:
    """Run every pipeline kernel once on a short signal, in this process (compiles or loads each).

    Parameters
    ----------
    first_try : bool
        This is a first warm-up, not the one after the cache was emptied: the test hook
        ``AUDIOKIT_TEST_FAULT=warmup:SEGV:warm`` crashes it, as loading a corrupt cache would.
    """
    import numpy as np

    from ..io.resample import resample
    from ..loudness import LoudnessMeter, LoudnessWarning, measure, normalize

    if first_try:
        from .track import _test_fault

        _test_fault("warmup", Path("warm"))

    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short signals: undefined LRA etc.
        warnings.simplefilter("ignore", LoudnessWarning)
        for channels in _WARM_CHANNELS:
            samples = (0.1 * rng.standard_normal((channels, _WARM_RATE))).astype(np.float32)
            measure(samples, _WARM_RATE)
            frozen = samples.copy()
            frozen.flags.writeable = False  # the streaming engine hands out read-only blocks: another signature
            meter = LoudnessMeter(_WARM_RATE, channels)
            meter.process(frozen)
            meter.report(warn=False)
            resample(samples, _WARM_RATE, 44100)
            normalize(samples, _WARM_RATE, target_lufs=-9.0, true_peak_dbtp=-1.0, mode="limit")


def release_compiler_pages() -> None:
    """Drop this process's resident pages of LLVM's code and read-only data; they come back if needed.

    Loading Numba's cached kernels runs LLVM (to link their object code), which
    leaves about 70 MB of ``libllvmlite.so`` resident; the kernels then run as
    machine code of their own and LLVM is idle until another kernel is loaded.
    Those pages are clean copies of the file, so ``madvise(MADV_DONTNEED)``
    drops them from this process's RSS: the page cache keeps them (for the other
    workers too), and a later load faults back what it touches (about 11 MB for
    a ladder's first use of the resampler and meters in a warmed process).
    Only read-only mappings none of whose pages are private copies (smaps'
    ``Anonymous: 0 kB``) are dropped: the relocated read-only data and the
    writable data keep their contents. (``MADV_PAGEOUT`` would skip every page
    another process maps too, as in a pool of workers.) Does nothing off Linux.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    madvise = ctypes.CDLL(None, use_errno=True).madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    for start, end in _clean_read_only_mappings(_COMPILER_LIBRARY):
        madvise(start, end - start, _MADV_DONTNEED)


def _clean_read_only_mappings(library: str) -> list[tuple[int, int]]:
    """(start, end) of this process's read-only mappings of ``library`` that hold no private page copy.

    Empty when procfs cannot be read: the pages are then left where they are.
    """
    found, mapping = [], None
    try:
        smaps = open("/proc/self/smaps")
    except OSError:
        return []
    with smaps:
        for line in smaps:
            fields = line.split()
            if len(fields) >= 5 and not fields[0].endswith(":"):  # a mapping's header: range, permissions, ...
                mapping = fields if len(fields) > 5 and library in fields[5] and "w" not in fields[1] else None
            elif mapping is not None and fields[:1] == ["Anonymous:"]:
                if fields[1] == "0":
                    start, end = mapping[0].split("-")
                    found.append((int(start, 16), int(end, 16)))
                mapping = None
    return found


def flush_kernel_caches() -> int:
    """Empty the cache index of every kernel in :data:`KERNEL_MODULES`; returns how many were flushed."""
    import importlib

    count = 0
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            cache = getattr(value, "_cache", None)
            if cache is not None and hasattr(cache, "flush") and hasattr(value, "py_func"):
                cache.flush()
                count += 1
    return count


def _run_child(action: str) -> tuple[int, str]:
    try:
        done = subprocess.run([sys.executable, "-m", "audiokit.pipeline.warmup", action], env=python_env(),
                              capture_output=True, text=True, timeout=WARMUP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {WARMUP_TIMEOUT_S} s"
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return done.returncode, last


def _describe(returncode: int, last_line: str) -> str:
    if returncode < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"exit status {returncode}"
    return f"exit status {returncode}: {last_line}" if last_line else f"exit status {returncode}"


def prepare_kernels(*, in_this_process: bool = False) -> KernelPreparation:
    """Compile or load every pipeline kernel in a child process; repair a corrupt cache.

    Parameters
    ----------
    in_this_process : bool
        The kernels will run in this process (ingest with one job), not in
        fresh workers: once a warm-up succeeded for the current cache folder,
        later calls return at once.

    Returns
    -------
    KernelPreparation
        ``ready`` False only when even the repaired warm-up failed; the batch
        still runs (each worker then compiles for itself and a crash fails
        only its input).
    """
    cache_dir = os.environ.get("NUMBA_CACHE_DIR", "")
    if in_this_process and cache_dir in _PREPARED_HERE:
        return KernelPreparation(True, False, None)
    code, last = _run_child("warm")
    if code == 0:
        if in_this_process:
            _PREPARED_HERE.add(cache_dir)
        return KernelPreparation(True, False, None)
    first = _describe(code, last)
    code, last = _run_child("flush-and-warm")
    if code == 0:
        if in_this_process:
            _PREPARED_HERE.add(cache_dir)
        return KernelPreparation(True, True, f"the first warm-up failed ({first}); the kernel cache was rebuilt")
    return KernelPreparation(False, True, f"warm-up failed ({first}), and again after emptying the cache "
                                          f"({_describe(code, last)})")


if __name__ == "__main__":  # the child of prepare_kernels
    if sys.argv[1:] == ["flush-and-warm"]:
        flush_kernel_caches()
    elif sys.argv[1:] != ["warm"]:
        sys.exit("usage: python -m audiokit.pipeline.warmup warm|flush-and-warm")
    warm_kernels(first_try=sys.argv[1:] == ["warm"])
