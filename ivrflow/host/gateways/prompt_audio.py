"""Text prompts as sound files Asterisk can stream: recorded, cached, or rendered per call.

`--sounds-dir DIR` holds three folders (docs/operations.md, "Prompt audio"):

- ``recorded/LANG/NAME.wav`` (or .gsm, .ulaw, .alaw, .sln): a voice talent's recording of a
  prompt, named as ``ivrflow prompts list`` says (`model.inventory.recorded_name`). A recorded
  file is played instead of text-to-speech, for constant and templated prompts alike.
- ``cache/``: constant prompts (no template markup: the same words on every call) rendered
  once with espeak-ng + sox, bounded in size and age (`PromptCache`); ``ivrflow prompts
  render`` and ``serve agi``'s start fill it ahead of the calls.
- ``calls/TOKEN/``: a call's templated prompts (an account number read back, a balance),
  rendered into a folder of that call and removed when the call ends; a gateway that
  starts removes what a crashed one left.

Which prompt is constant is read from the compiled flow (`model.inventory.constant_texts`),
not guessed from the words: a text the flow does not list as constant is the caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ...model import flow as model
from ...model.inventory import PromptText, constant_texts, inventory, recorded_name
from ...runtime import actions as act
from .prompt_cache import DEFAULT_MAX_AGE, DEFAULT_MAX_BYTES, PromptCache

log = logging.getLogger("ivrflow.prompts")

RECORDED, CACHE, CALLS = "recorded", "cache", "calls"
AUDIO_EXTENSIONS = ("wav", "sln", "gsm", "ulaw", "alaw")
RENDER_TIMEOUT = 30.0  # seconds for one step of one prompt
PACKAGES = {"espeak-ng": "espeak-ng", "sox": "sox"}  # tool → Debian package


def sound_key(text: str, language: str, voice: str | None) -> str:
    words = f"{language}\0{voice or ''}\0{text}"
    return "ivrflow-" + hashlib.sha256(words.encode("utf-8")).hexdigest()[:24]


def missing_tools() -> list[str]:
    """espeak-ng and sox, those not on PATH."""
    return [tool for tool in PACKAGES if shutil.which(tool) is None]


@dataclass
class Sound:
    """A file handed to Asterisk; `release()` once its STREAM FILE has been answered."""

    name: str  # as Asterisk names it: the path without the extension
    cache: PromptCache | None = None
    key: str = ""

    def release(self) -> None:
        if self.cache is not None:
            self.cache.unpin(self.key)
            self.cache = None


@dataclass
class CallPrompts:
    """One call's side of the renderer: which texts are constant, its own rendered files."""

    constant: frozenset[str]
    folder: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)

    def close(self) -> None:
        """The call ended: its rendered prompts go."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
        self.files.clear()


@dataclass
class Prerendered:
    """What `SpeechRenderer.prerender` found for the flows' constant prompts."""

    constant: int = 0
    recorded: int = 0
    cached: int = 0  # there already
    rendered: int = 0
    failed: int = 0
    templated: int = 0
    templated_recorded: int = 0

    def summary(self, folder: Path) -> str:
        parts = [f"{self.recorded} recorded", f"{self.cached} cached", f"{self.rendered} rendered"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        per_call = self.templated - self.templated_recorded
        return (
            f"prompts: {self.constant} constant prompts ready in {folder} ({', '.join(parts)}); "
            f"{per_call} templated rendered per call and removed at hang-up"
        )


class SpeechRenderer:
    """Text → a sound file name Asterisk can stream."""

    def __init__(
        self,
        sounds_dir: Path | None,
        seen_as: str | None = None,
        *,
        render: bool = True,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        self.sounds_dir = sounds_dir
        self.seen_as = seen_as  # the sounds dir as Asterisk sees it (chroot, container)
        self.espeak = shutil.which("espeak-ng") if render else None
        self.sox = shutil.which("sox") if render else None
        base = sounds_dir or Path(".")
        self.cache = PromptCache(base / CACHE, max_bytes, max_age)
        self._locks: dict[str, asyncio.Lock] = {}
        self._constant: dict[str, frozenset[str]] = {}  # flow content hash → constant texts
        self._prepared = False

    @property
    def can_render(self) -> bool:
        return bool(self.espeak and self.sox)

    key = staticmethod(sound_key)

    def prepare(self) -> None:
        """Once, before the first call: index the cache, remove what dead calls and the old
        unbounded cache (files right in the sounds dir) left behind."""
        if self._prepared or self.sounds_dir is None:
            return
        self._prepared = True
        sounds = self.sounds_dir
        sounds.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(sounds / CALLS, ignore_errors=True)
        old = list(sounds.glob("ivrflow-*.wav"))
        for p in old:
            with contextlib.suppress(OSError):
                p.unlink()
        if old:
            log.warning("prompts: removed %d file(s) of the old unbounded cache", len(old))
        self.cache.scan()

    def for_call(self, flow: model.Flow | None) -> CallPrompts:
        if flow is None:
            return CallPrompts(frozenset())
        texts = self._constant.get(flow.content_hash)
        if texts is None:
            texts = self._constant[flow.content_hash] = constant_texts(flow)
        return CallPrompts(texts)

    def asterisk_name(self, path: Path) -> str:
        """A file under the sounds dir, as Asterisk names it (no extension)."""
        assert self.sounds_dir is not None
        relative = path.relative_to(self.sounds_dir).with_suffix("")
        base = self.seen_as or str(self.sounds_dir.resolve())
        return f"{base.rstrip('/')}/{relative.as_posix()}"

    def recorded(self, text: str, language: str) -> Path | None:
        """The voice talent's file for these words, if there is one."""
        if self.sounds_dir is None:
            return None
        name = recorded_name(text)
        for lang in dict.fromkeys((language, language.split("-")[0])):
            folder = self.sounds_dir / RECORDED / lang
            for ext in AUDIO_EXTENSIONS:
                candidate = folder / f"{name}.{ext}"
                if candidate.is_file():
                    return candidate
        return None

    async def sound_for(self, action: act.Say, call: CallPrompts | None = None) -> Sound | None:
        """The file for a prompt (pinned while it plays), or None: play the fallback."""
        if self.sounds_dir is None:
            return None
        self.prepare()
        recording = self.recorded(action.text, action.language)
        if recording is not None:
            return Sound(self.asterisk_name(recording))
        if call is not None and action.text not in call.constant:
            return await self._for_this_call(action, call)
        key = sound_key(action.text, action.language, action.voice)
        found = self.cache.get(key)
        if found is None:
            if not self.can_render:
                return None
            lock = self._locks.setdefault(key, asyncio.Lock())
            async with lock:
                found = self.cache.get(key)
                if found is None:
                    found = self.cache.path(key)
                    if not await self.render(action.text, action.language, found):
                        return None
                    self.cache.pin(key)  # before add(): its eviction must not take this one
                    self.cache.add(key)
                else:
                    self.cache.pin(key)
            self._locks.pop(key, None)
        else:
            self.cache.pin(key)  # no await since get(): nothing evicted it in between
        return Sound(self.asterisk_name(found), self.cache, key)

    async def _for_this_call(self, action: act.Say, call: CallPrompts) -> Sound | None:
        assert self.sounds_dir is not None
        made = call.files.get(action.text)
        if made is None:
            if not self.can_render:
                return None
            if call.folder is None:
                call.folder = self.sounds_dir / CALLS / secrets.token_hex(8)
            target = call.folder / f"{len(call.files) + 1}.wav"
            if not await self.render(action.text, action.language, target):
                return None
            made = call.files[action.text] = target
        return Sound(self.asterisk_name(made))

    async def render(self, text: str, language: str, target: Path) -> bool:
        """espeak-ng (the words from stdin: caller data stays off the process list), then
        sox to 8 kHz mono 16-bit, written beside `target` and renamed onto it."""
        assert self.espeak and self.sox
        target.parent.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(4)  # two renders of one text never share a scratch file
        raw = target.with_suffix(f".{token}.espeak.wav")
        tmp = target.with_suffix(f".{token}.tmp.wav")
        voice = language.lower()  # flow voices name cloud TTS voices, not espeak's
        steps = (
            ([self.espeak, "-v", voice, "-w", str(raw), "--stdin"], text.encode("utf-8")),
            ([self.sox, str(raw), "-r", "8000", "-c", "1", "-b", "16", str(tmp)], None),
        )
        try:
            for argv, given in steps:
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.PIPE if given else asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                try:
                    await asyncio.wait_for(proc.communicate(given), RENDER_TIMEOUT)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
                    return False
                if proc.returncode != 0:
                    return False
            tmp.replace(target)
            return True
        except OSError:
            return False
        finally:
            for p in (raw, tmp):
                with contextlib.suppress(OSError):
                    p.unlink()

    async def prerender(
        self, flows: Iterable[model.Flow], languages: Iterable[str] = (), parallel: int = 4
    ) -> Prerendered:
        """Every constant prompt of the flows into the cache (recorded ones skipped)."""
        self.prepare()
        extra = tuple(languages)
        done = Prerendered()
        todo: dict[str, PromptText] = {}
        seen: set[tuple[str, str]] = set()
        for flow in flows:
            for p in inventory(flow, extra):
                if (p.language, p.text) in seen:
                    continue
                seen.add((p.language, p.text))
                if p.templated:
                    done.templated += 1
                    done.templated_recorded += self.recorded(p.text, p.language) is not None
                    continue
                done.constant += 1
                if self.recorded(p.text, p.language) is not None:
                    done.recorded += 1
                    continue
                key = sound_key(p.text, p.language, p.voice)
                if key in self.cache or key in todo:
                    done.cached += 1
                else:
                    todo[key] = p
        if todo and not self.can_render:
            done.failed += len(todo)
            return done
        gate = asyncio.Semaphore(max(1, parallel))

        async def one(key: str, p: PromptText) -> None:
            async with gate, self._locks.setdefault(key, asyncio.Lock()):
                if key in self.cache:  # a call rendered it meanwhile
                    done.cached += 1
                elif await self.render(p.text, p.language, self.cache.path(key)):
                    self.cache.add(key)
                    done.rendered += 1
                else:
                    done.failed += 1

        await asyncio.gather(*(one(k, p) for k, p in todo.items()))
        return done


__all__ = [
    "CACHE",
    "CALLS",
    "RECORDED",
    "CallPrompts",
    "Prerendered",
    "Sound",
    "SpeechRenderer",
    "missing_tools",
    "sound_key",
]
