"""A host-local readers-writer lock, not tied to threads.

Faasm's ``lock_state_read/write`` are a ``shared_mutex`` per value on each
host. This one may be released by a thread other than the one that took it
(the Python API acquires and releases on executor threads), and it prefers
writers, so a stream of readers cannot starve one.
"""

from __future__ import annotations

import threading
import time


class ReadWriteLock:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    def acquire_read(self, timeout: float | None = None) -> bool:
        """Take a shared hold; False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._writer or self._writers_waiting:
                if not self._wait(deadline):
                    return False
            self._readers += 1
            return True

    def release_read(self) -> None:
        with self._cond:
            if self._readers <= 0:
                raise RuntimeError("release_read without a read hold")
            self._readers -= 1
            if self._readers == 0:
                self._cond.notify_all()

    def acquire_write(self, timeout: float | None = None) -> bool:
        """Take the exclusive hold; False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    if not self._wait(deadline):
                        return False
                self._writer = True
                return True
            finally:
                self._writers_waiting -= 1
                if not self._writer:
                    self._cond.notify_all()  # readers held back by us may go on

    def release_write(self) -> None:
        with self._cond:
            if not self._writer:
                raise RuntimeError("release_write without the write hold")
            self._writer = False
            self._cond.notify_all()

    def _wait(self, deadline: float | None) -> bool:
        if deadline is None:
            self._cond.wait()
            return True
        remaining = deadline - time.monotonic()
        return remaining > 0 and (self._cond.wait(remaining) or time.monotonic() < deadline)
