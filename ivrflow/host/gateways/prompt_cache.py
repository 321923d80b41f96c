"""A bounded folder of rendered prompts: at most `max_bytes`, nothing unused for `max_age`.

Entries are files `KEY.wav` in one folder, indexed in memory in least-recently-used order
(the index is rebuilt from the files' modification times at start, and a hit touches the
file, so the order survives a restart). Past either limit the least recently used entries go.

Asterisk opens a sound file when `STREAM FILE` starts and reads it as it plays; a file
unlinked after that plays on (the open descriptor keeps it), but one unlinked between the
gateway naming it and Asterisk opening it fails the command (`result=-1`, which reads as a
hang-up). So a call *pins* the entry it hands to Asterisk until the command's reply comes
back, and eviction skips pinned entries: the folder may stay over its size for as long as
those plays last. One process owns a folder: pins are not shared between processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("ivrflow.prompts")

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_AGE = 30 * 86400.0  # seconds since the last use
SWEEP_EVERY = 60.0  # seconds between age sweeps on the hot path


@dataclass(slots=True)
class _Entry:
    size: int
    used: float  # the clock at the last use


class PromptCache:
    """`get(key)` → the file or None; `add(key)` once `path(key)` is written; `pin`/`unpin`."""

    def __init__(
        self,
        folder: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder, self.max_bytes, self.max_age, self.clock = folder, max_bytes, max_age, clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._pins: Counter[str] = Counter()
        self._size = 0
        self._swept = 0.0
        self._lock = threading.Lock()
        self.evicted = 0  # entries removed since start

    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.wav"

    def scan(self) -> None:
        """Index the files already there (oldest use first); drop half-written ones; evict."""
        self.folder.mkdir(parents=True, exist_ok=True)
        found: list[tuple[float, str, int]] = []
        for p in self.folder.iterdir():
            if p.name.endswith((".tmp.wav", ".espeak.wav")) or p.suffix != ".wav":
                with contextlib.suppress(OSError):
                    p.unlink()  # a render cut short
                continue
            with contextlib.suppress(OSError):
                st = p.stat()
                found.append((st.st_mtime, p.stem, st.st_size))
        with self._lock:
            self._entries.clear()
            self._size = 0
            for used, key, size in sorted(found):
                self._entries[key] = _Entry(size, used)
                self._size += size
        self.evict()

    def get(self, key: str) -> Path | None:
        """The entry's file, marked as just used; None when absent."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.used = now
                self._entries.move_to_end(key)
        if now - self._swept > SWEEP_EVERY:
            self.evict()
        if entry is None:
            return None
        target = self.path(key)
        try:
            os.utime(target, (now, now))
        except FileNotFoundError:  # removed behind our back: forget it
            with self._lock:
                gone = self._entries.pop(key, None)
                if gone is not None:
                    self._size -= gone.size
            return None
        except OSError:
            pass
        return target

    def add(self, key: str) -> None:
        """`path(key)` has been written (atomically): index it, then keep the limits."""
        try:
            size = self.path(key).stat().st_size
        except OSError:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= old.size
            self._entries[key] = _Entry(size, self.clock())
            self._size += size
        self.evict()

    def pin(self, key: str) -> None:
        with self._lock:
            self._pins[key] += 1

    def unpin(self, key: str) -> None:
        with self._lock:
            self._pins[key] -= 1
            if self._pins[key] <= 0:
                del self._pins[key]

    def evict(self) -> int:
        """Remove what is past the age limit, then the least recently used past the size
        limit; never a pinned entry. The number removed."""
        now = self.clock()
        victims: list[str] = []
        with self._lock:
            self._swept = now
            for key, entry in self._entries.items():
                if now - entry.used <= self.max_age:
                    break  # in use order: the rest are younger
                if not self._pins[key]:
                    victims.append(key)
            size = self._size - sum(self._entries[k].size for k in victims)
            if size > self.max_bytes:
                for key, entry in self._entries.items():
                    if size <= self.max_bytes:
                        break
                    if key not in victims and not self._pins[key]:
                        victims.append(key)
                        size -= entry.size
            for key in victims:
                self._size -= self._entries.pop(key).size
        for key in victims:
            with contextlib.suppress(FileNotFoundError):
                self.path(key).unlink()
        if victims:
            self.evicted += len(victims)
            log.debug("prompt cache: evicted %d file(s), %d bytes kept", len(victims), size)
        return len(victims)


__all__ = ["DEFAULT_MAX_AGE", "DEFAULT_MAX_BYTES", "PromptCache"]
