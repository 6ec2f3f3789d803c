"""Per-track claims: several ingest processes on one output folder never build the same track twice.

Before it runs a track's stages, a process claims the track by creating
``OUT/tracks/.ID.claim`` with ``O_CREAT | O_EXCL`` (POSIX ``open(2)``: the
create fails if the name exists, atomically, also on NFSv3 and later). The
file holds the claimant's host, PID, start time, a token naming the
attempt (the same token as the track's partial folder) and, when the track
has a time limit, the deadline by which its claimant will have finished or
been stopped. It is removed when the track is complete or has failed.

A claim whose process is gone is taken over:

- made on this host: its PID no longer runs, or is a zombie;
- made anywhere: its file was not touched for :data:`CLAIM_STALE_S`. Every
  process touches the claims it holds every :data:`CLAIM_HEARTBEAT_S` (a
  daemon thread), so this catches a dead process on another host sharing the
  folder, and a PID reused on this one;
- made with a deadline: the deadline passed :data:`CLAIM_DEADLINE_GRACE_S`
  ago, even if its process still runs and touches it (it hangs: a decoder
  stuck in a loop, a deadlock, a stopped machine). A holder checks that the
  claim is still its own (:func:`held`) before it publishes the track, so a
  holder that wakes after the takeover discards its attempt.

Taking over renames the stale file away, checks that what it renamed is the
stale claim it judged (its token), and then competes for the name with
``O_EXCL`` like any first claim.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from .._files import write_atomically

__all__ = ["CLAIM_DEADLINE_GRACE_S", "CLAIM_HEARTBEAT_S", "CLAIM_POLL_S", "CLAIM_STALE_S", "Claim", "claim_path",
           "hand_over", "held", "process_alive", "release", "release_dead", "set_deadline", "take", "touch_held"]

#: How often a process touches the claims it holds, s.
CLAIM_HEARTBEAT_S = 30.0
#: A claim untouched this long is abandoned, whoever made it (ten missed heartbeats), s.
CLAIM_STALE_S = 300.0
#: How often a process waiting for another's claim looks again, s.
CLAIM_POLL_S = 0.5
#: A claim whose deadline passed this long ago is abandoned even if its holder lives, s: time for the
#: holder's driver to stop it (executors.TERMINATE_GRACE_S) and clean up, and for clocks of hosts that
#: share the folder to disagree by a little.
CLAIM_DEADLINE_GRACE_S = 60.0

_HELD: dict[Path, str] = {}  # claim file -> token, for the heartbeat
_HELD_LOCK = threading.Lock()
_HEARTBEAT: list[threading.Thread] = []


@dataclass(frozen=True)
class Claim:
    """Who holds a track: the contents of its claim file."""

    #: host name of the claimant
    host: str
    #: process id of the claimant, on ``host``
    pid: int
    #: names the attempt (the track's partial folder ends with it)
    token: str
    #: when the track was claimed, ISO 8601 UTC
    claimed_utc: str
    #: when the claimant will have finished or been stopped, ISO 8601 UTC; None: the track has no time limit
    deadline_utc: str | None = None


def claim_path(final_dir: Path) -> Path:
    """The claim file of the track that will live in ``final_dir`` (``OUT/tracks/.ID.claim``)."""
    return final_dir.with_name(f".{final_dir.name}.claim")


def take(final_dir: Path, token: str, *, wait: bool, deadline_s: float | None = None) -> Claim | None:
    """Claim the track for this process, taking over an abandoned claim.

    With ``wait`` a claim held by a live process is waited for (it is
    released when that process completes or fails the track, or goes stale
    when it dies, or its deadline passes); without, None is returned at once.
    ``deadline_s`` (seconds since the epoch) is this process's deadline for
    the track, written into the claim; None: no time limit.

    Returns
    -------
    Claim or None
        This process's claim, or None (only without ``wait``) when another live process holds the track.
    """
    path = claim_path(final_dir)
    mine = Claim(socket.gethostname(), os.getpid(), token, _now(), _utc(deadline_s))
    while True:
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read(path)
            if holder is None:  # released just now: try again
                continue
            if _abandoned(path, holder):
                _break(path, holder)
                continue
            if not wait:
                return None
            time.sleep(CLAIM_POLL_S)
            continue
        with os.fdopen(descriptor, "w") as handle:
            handle.write(json.dumps(mine.__dict__) + "\n")
        _hold(path, token)
        return mine


def hand_over(final_dir: Path, token: str) -> bool:
    """Make this process the holder of a claim an earlier process made for attempt ``token``.

    A track started in one process and finished in another (a Ray model
    actor) changes hands here. Returns False when the claim is no longer
    that attempt's (it was taken over as abandoned).
    """
    path = claim_path(final_dir)
    holder = _read(path)
    if holder is None or holder.token != token:
        return False
    if (holder.host, holder.pid) != (socket.gethostname(), os.getpid()):
        mine = Claim(socket.gethostname(), os.getpid(), token, holder.claimed_utc, holder.deadline_utc)
        write_atomically(path, json.dumps(mine.__dict__) + "\n")
    _hold(path, token)
    return True


def set_deadline(final_dir: Path, token: str, deadline_s: float | None) -> bool:
    """Write a new deadline (seconds since the epoch; None: none) into attempt ``token``'s claim.

    Returns False, writing nothing, when the claim is no longer that attempt's.
    """
    path = claim_path(final_dir)
    holder = _read(path)
    if holder is None or holder.token != token:
        return False
    write_atomically(path, json.dumps(replace(holder, deadline_utc=_utc(deadline_s)).__dict__) + "\n")
    return True


def held(final_dir: Path, token: str) -> bool:
    """Whether the track's claim is still attempt ``token``'s (not taken over as abandoned or past its deadline)."""
    holder = _read(claim_path(final_dir))
    return holder is not None and holder.token == token


def release(final_dir: Path, token: str) -> None:
    """Remove the track's claim if it is still attempt ``token``'s."""
    path = claim_path(final_dir)
    with _HELD_LOCK:
        _HELD.pop(path, None)
    holder = _read(path)
    if holder is not None and holder.token == token:
        path.unlink(missing_ok=True)


def release_dead(final_dir: Path, pid: int) -> None:
    """Remove the track's claim if process ``pid`` of this host made it (the driver saw that process die)."""
    path = claim_path(final_dir)
    holder = _read(path)
    if holder is not None and (holder.host, holder.pid) == (socket.gethostname(), pid):
        path.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host runs (a zombie has exited: it does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited too: e.g. a killed Ray worker whose parent died, in a container whose PID 1 never
    # reaps orphans. proc(5): the state letter follows the parenthesised command name.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # no procfs (macOS): the signal check is all there is
        return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _utc(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds")


def _read(path: Path) -> Claim | None:
    """The claim in ``path``, or None when there is none.

    The file is created (O_EXCL) and then written, so it may be empty or
    partial: that is a claim being made, by a claimant this process cannot
    name, or one that died between the two. It is returned as an anonymous
    claim (no host, PID or token), which only its age makes abandoned.
    """
    try:
        fields = json.loads(path.read_text())
        deadline = fields.get("deadline_utc")  # absent from claims of audiokit versions without time limits
        return Claim(str(fields["host"]), int(fields["pid"]), str(fields["token"]), str(fields["claimed_utc"]),
                     None if deadline is None else str(deadline))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Claim("", -1, "", "") if os.path.lexists(path) else None


def _abandoned(path: Path, holder: Claim) -> bool:
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False  # released meanwhile: the next O_EXCL create decides
    if age > CLAIM_STALE_S:
        return True
    if holder.deadline_utc is not None and time.time() > _past_deadline_s(holder.deadline_utc):
        return True  # alive but hung: its driver should have stopped it by now
    return holder.host == socket.gethostname() and not process_alive(holder.pid)


def _past_deadline_s(deadline_utc: str) -> float:
    """When a claim with this deadline becomes abandoned, s since the epoch (never, for an unreadable deadline)."""
    try:
        return datetime.fromisoformat(deadline_utc).timestamp() + CLAIM_DEADLINE_GRACE_S
    except ValueError:
        return float("inf")


def _break(path: Path, holder: Claim) -> None:
    """Remove the abandoned claim ``holder`` from ``path``, and nothing newer."""
    aside = path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:  # another process broke it first
        return
    moved = _read(aside)
    if moved is not None and moved.token != holder.token:
        # Between our read and our rename, another process broke the stale claim and made its own:
        # put that back (link fails if a third claim exists meanwhile; the name is then taken anyway).
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
    aside.unlink(missing_ok=True)


def _hold(path: Path, token: str) -> None:
    with _HELD_LOCK:
        _HELD[path] = token
        if not _HEARTBEAT or not _HEARTBEAT[0].is_alive():
            thread = threading.Thread(target=_beat, name="audiokit-claim-heartbeat", daemon=True)
            _HEARTBEAT[:] = [thread]
            thread.start()


def _beat() -> None:
    """Touch every claim this process holds, every CLAIM_HEARTBEAT_S, for as long as the process lives."""
    while True:
        time.sleep(CLAIM_HEARTBEAT_S)
        touch_held()


def touch_held() -> None:
    """Touch every claim this process holds (the heartbeat's beat); forget those that are no longer ours."""
    with _HELD_LOCK:
        held = list(_HELD.items())
    for path, token in held:
        holder = _read(path)
        if holder is not None and holder.token == token and holder.pid == os.getpid():
            try:
                os.utime(path)
                continue
            except FileNotFoundError:
                pass
        with _HELD_LOCK:
            if _HELD.get(path) == token:
                del _HELD[path]
