"""Whether a process of this machine still runs: for work a dead process left behind."""

from __future__ import annotations


def pid_running(pid: int) -> bool:
    """True for a live process (a zombie left by SIGKILL, not yet reaped, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
