"""A Python child process that runs one function, started with :mod:`subprocess`.

The local executor's workers are such children. :mod:`multiprocessing`'s
``spawn`` start method would do the same with two costs a memory-bounded
ingest does not want: the first spawned child also starts a resource-tracker
process (about 13 MB, for named semaphores and shared memory that ingest never
makes), and every child imports the parent's ``__main__`` (for the CLI: click
and every command module) before running its function.

A :class:`ChildProcess` is ``python -c`` with this package importable, two
file descriptors passed and nothing else inherited:

- a :class:`multiprocessing.connection.Connection` (a socket pair, the same
  pickled messages as :func:`multiprocessing.Pipe`), over which the child
  first receives the parent's ``sys.path``, then its function and arguments;
- the reading end of a pipe the parent holds open and never writes: the
  child's watchdog thread reads end-of-file when the parent is gone, and
  the child exits.

Its :attr:`ChildProcess.sentinel` is the reading end of a pipe whose writing
end only the child holds: it becomes readable when the child exits, however
it exits, so :func:`multiprocessing.connection.wait` can watch it beside the
connection, as it watches a :class:`multiprocessing.Process`'s sentinel.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

__all__ = ["ChildProcess", "python_env"]


def python_env() -> dict[str, str]:
    """The environment, with the folder holding the ``audiokit`` package first on PYTHONPATH.

    A child Python process then imports the same audiokit as this one, installed or not.
    """
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class ChildProcess:
    """``target(connection, *args)`` run in a new Python process; the parent's end of the connection.

    The API is the part of :class:`multiprocessing.Process` the executor
    uses: :attr:`pid`, :attr:`sentinel`, :attr:`exitcode` (negative: the
    signal that ended it), :meth:`is_alive`, :meth:`join`, :meth:`terminate`
    and :meth:`kill`.

    Parameters
    ----------
    target : callable
        A module-level function (it is imported by name in the child), called
        as ``target(connection, *args)``; when it returns, the child exits 0.
    args : tuple
        Picklable arguments.
    """

    def __init__(self, target: Callable[..., object], args: tuple = ()) -> None:
        self.connection, child_end = Pipe()
        exit_read, exit_write = os.pipe()  # its write end lives only in the child: EOF here when it exits
        parent_read, self._parent_alive = os.pipe()  # held here, never written: EOF there when this process ends
        passed = (child_end.fileno(), exit_write, parent_read)
        command = f"from {__name__} import _child_main; _child_main({child_end.fileno()}, {parent_read})"
        try:
            self._popen = subprocess.Popen([sys.executable, "-c", command], pass_fds=passed, env=python_env(),
                                           stdin=subprocess.DEVNULL)
        except BaseException:
            for fd in (exit_read, self._parent_alive):
                os.close(fd)
            self.connection.close()
            raise
        finally:
            child_end.close()
            os.close(exit_write)
            os.close(parent_read)
        #: readable once the child has exited (for multiprocessing.connection.wait)
        self.sentinel = exit_read
        self.pid = self._popen.pid
        try:  # the import path first: unpickling the arguments may import modules found only on it
            self.connection.send(sys.path)
            self.connection.send((target.__module__, target.__qualname__, args))
        except OSError:  # it died at once: its exit status tells why
            pass

    @property
    def exitcode(self) -> int | None:
        """Exit status; ``-N`` when signal N ended it; None while it runs."""
        return self._popen.poll()

    def is_alive(self) -> bool:
        """Whether it still runs."""
        return self._popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        """Wait for it to exit, at most ``timeout`` seconds (None: no limit)."""
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def terminate(self) -> None:
        """SIGTERM."""
        if self.is_alive():
            self._popen.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL."""
        if self.is_alive():
            self._popen.kill()

    def close(self) -> None:
        """Release this side's file descriptors (after it has exited)."""
        self.connection.close()
        for fd in (self.sentinel, self._parent_alive):
            try:
                os.close(fd)
            except OSError:
                pass
        self.sentinel = self._parent_alive = -1


def _child_main(connection_fd: int, parent_alive_fd: int) -> None:
    """The child's side: die with the parent, receive the function and run it.

    The exit pipe's writing end, passed too, is never touched: the kernel closes it when this process exits.
    """
    if sys.platform.startswith("linux"):  # killed by the kernel even while a C call holds the GIL
        try:
            import ctypes

            PR_SET_PDEATHSIG = 1  # prctl(2)
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass

    def watch_parent() -> None:  # elsewhere, or if the parent was gone before prctl
        while os.read(parent_alive_fd, 1):  # only end-of-file comes: the parent is gone
            pass
        os._exit(1)

    threading.Thread(target=watch_parent, name="audiokit-parent-watch", daemon=True).start()
    connection = Connection(connection_fd)
    try:
        sys.path[:] = connection.recv()  # import as the parent does, as multiprocessing's spawn does
        module, qualname, args = connection.recv()
    except (EOFError, OSError):
        return
    target: Any = importlib.import_module(module)
    for name in qualname.split("."):
        target = getattr(target, name)
    target(connection, *args)
