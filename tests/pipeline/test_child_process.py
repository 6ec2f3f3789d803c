"""ChildProcess: the local executor's worker processes, started without multiprocessing's spawn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from multiprocessing.connection import wait
from pathlib import Path

from _batch import ROOT, alive, compiler_resident_kb

from audiokit.pipeline.child_process import ChildProcess

HERE = Path(__file__).resolve().parent


def report(connection, word: str) -> None:
    """A child's function: say who it is and what it imported, then wait to be told to exit."""
    connection.send({"word": word, "pid": os.getpid(), "parent": os.getppid(),
                     "imported": sorted(name for name in ("click", "audiokit.cli") if name in sys.modules)})
    connection.recv()


def crash(connection) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def test_a_child_runs_its_function_imports_only_what_it_needs_and_starts_no_other_process():
    """The function (found on the parent's sys.path, as this test module is) runs with its arguments; the
    child has not imported the parent's __main__ or the CLI, and the parent has no other child (no
    multiprocessing resource tracker): checked from a fresh driver process."""
    script = (f"import json, os, sys; sys.path.insert(0, {str(HERE)!r})\n"
              "from _batch import live_children\n"
              "from audiokit.pipeline.child_process import ChildProcess\n"
              "import click  # the driver has imported the CLI, as audiokit's is\n"
              "from test_child_process import report\n"
              "child = ChildProcess(report, ('hello',))\n"
              "said = child.connection.recv()\n"
              "said['children'] = live_children(os.getpid())\n"
              "child.connection.send(None); child.join(60)\n"
              "said['exitcode'] = child.exitcode\n"
              "print(json.dumps(said))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd="/")
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["word"] == "hello" and said["imported"] == []
    assert said["children"] == [said["pid"]]
    assert said["exitcode"] == 0


def test_a_crashed_child_wakes_its_sentinel_and_reports_the_signal():
    child = ChildProcess(crash)
    try:
        assert wait([child.sentinel], timeout=60) == [child.sentinel]
        child.join(10)
        assert not child.is_alive() and child.exitcode == -signal.SIGSEGV
    finally:
        child.kill()
        child.join()
        child.close()


def test_a_child_exits_when_its_parent_is_gone(tmp_path):
    """SIGKILL the parent: the child's parent-death signal (or its watch of the parent's pipe) ends it."""
    pid_file = tmp_path / "child.json"
    script = (f"import json, sys; sys.path.insert(0, {str(HERE)!r})\n"
              "from audiokit.pipeline.child_process import ChildProcess\n"
              "from test_child_process import report\n"
              "child = ChildProcess(report, ('hello',))\n"
              f"open({str(pid_file)!r}, 'w').write(json.dumps(child.connection.recv()))\n"
              "import time; time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        start = time.monotonic()
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() - start < 120, "the child never reported"
            time.sleep(0.1)
        child_pid = json.loads(pid_file.read_text())["pid"]
        parent.kill()
        parent.wait(30)
        start = time.monotonic()
        while alive(child_pid):
            assert time.monotonic() - start < 30, "the child outlived its parent"
            time.sleep(0.1)
    finally:
        if parent.poll() is None:
            parent.kill()



def loaded_then_released(connection) -> None:
    """A child's function: load the pipeline's kernels, give back the compiler's pages, report both sizes."""
    from audiokit.pipeline.warmup import release_compiler_pages, warm_kernels

    warm_kernels()
    loaded = compiler_resident_kb(os.getpid())
    release_compiler_pages()
    connection.send((loaded, compiler_resident_kb(os.getpid())))
    warm_kernels()  # the kernels still run: loaded ones need no compiler
    connection.send(compiler_resident_kb(os.getpid()))


def holding_kernels(connection) -> None:
    """A child's function: load the pipeline's kernels (LLVM's pages resident) and hold them until told."""
    from audiokit.pipeline.warmup import warm_kernels

    warm_kernels()
    connection.send(compiler_resident_kb(os.getpid()))
    connection.recv()


def test_loaded_kernels_run_after_the_compiler_pages_are_given_back():
    """Loading Numba's cached kernels leaves tens of MB of LLVM resident; a process gives them back even
    while another worker maps the same pages, and running its loaded kernels again touches almost none."""
    holder = ChildProcess(holding_kernels)
    child = None
    try:
        assert holder.connection.recv() > 20_000  # the other worker's LLVM pages, resident
        child = ChildProcess(loaded_then_released)
        loaded_kb, released_kb = child.connection.recv()
        rerun_kb = child.connection.recv()
        child.join(60)
    finally:
        for process in (child, holder):
            if process is not None:
                process.kill()
                process.join(60)
                process.close()
    assert child.exitcode == 0
    assert loaded_kb > 20_000, loaded_kb
    assert released_kb < 2_000 and rerun_kb < 2_000, (released_kb, rerun_kb)


def test_giving_back_compiler_pages_without_procfs_changes_nothing(monkeypatch):
    """The release is advice: where /proc/self/smaps cannot be read it leaves the pages and raises nothing."""
    import builtins

    from audiokit.pipeline import warmup

    real_open = builtins.open

    def no_procfs(path, *args, **kwargs):
        if str(path).startswith("/proc/"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_procfs)
    assert warmup._clean_read_only_mappings("libllvmlite") == []
    warmup.release_compiler_pages()
