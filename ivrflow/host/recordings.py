"""Where recorded messages go: files under a directory by default.

The session never holds audio, only a reference. A gateway that records itself (Asterisk's
`RECORD FILE` writes the file) asks the store for a `target` path; a gateway whose provider
keeps the audio (a webhook's `RecordingUrl`) or a simulator (a typed text) hands what it has
to `keep`. Either way the store writes a small JSON note beside the audio: the call, the
state, the length and how it ended, so a person can find a message without the call record.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from pathlib import Path
from typing import Any, Protocol

from ..runtime import actions as act

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class RecordingStore(Protocol):
    def target(self, call_id: str, action: act.Record) -> str:
        """A path (without extension) a gateway records this message into."""
        ...

    def keep(self, reference: str, info: dict[str, Any], audio: bytes | None = None) -> str:
        """Note a message (and its audio, when the driver has it); its reference."""
        ...


class DirectoryRecordingStore:
    """`<directory>/<call id>/<state>-<n>.<format>` and a `.json` note beside each."""

    def __init__(self, directory: str | Path = "recordings", audio_format: str = "wav") -> None:
        self.directory = Path(directory)
        self.audio_format = audio_format
        self._lock = threading.Lock()

    def target(self, call_id: str, action: act.Record) -> str:
        folder = self.directory / _safe(call_id)
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            # A call's folder takes the base folder's mode: a directory shared with the PBX
            # (Asterisk writes the audio as its own user) stays writable for it.
            with contextlib.suppress(OSError):
                folder.chmod(self.directory.stat().st_mode & 0o7777)
        request = action.request.rpartition(":")[2]
        return str(folder / f"{_safe(action.name)}-{_safe(request)}")

    def keep(self, reference: str, info: dict[str, Any], audio: bytes | None = None) -> str:
        base = Path(reference)
        if not base.is_absolute() and not str(base).startswith(str(self.directory)):
            base = self.directory / _safe(str(info.get("call_id", "call"))) / _safe(base.name)
        base.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if audio is not None:
                base.with_suffix(f".{self.audio_format}").write_bytes(audio)
            audio_suffix = base.suffix == f".{self.audio_format}"
            note = base.parent / f"{base.stem if audio_suffix else base.name}.json"
            note.write_text(json.dumps(info, sort_keys=True, indent=1) + "\n", encoding="utf-8")
        return reference


class MemoryRecordingStore:
    """For tests and the simulator: the notes in a dict, nothing on disk."""

    def __init__(self) -> None:
        self.kept: dict[str, dict[str, Any]] = {}

    def target(self, call_id: str, action: act.Record) -> str:
        return f"memory://{call_id}/{action.name}-{action.request.rpartition(':')[2]}"

    def keep(self, reference: str, info: dict[str, Any], audio: bytes | None = None) -> str:
        self.kept[reference] = dict(info, audio_bytes=len(audio) if audio else 0)
        return reference


def _safe(part: str) -> str:
    return _UNSAFE.sub("_", part).strip("._") or "x"


__all__ = ["DirectoryRecordingStore", "MemoryRecordingStore", "RecordingStore"]
