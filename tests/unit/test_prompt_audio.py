"""Issue 16 item 5: the prompt cache's limits, constant vs templated prompts, recorded files."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from ivrflow.compiler import compile_file
from ivrflow.host.gateways.prompt_audio import SpeechRenderer, sound_key
from ivrflow.host.gateways.prompt_cache import PromptCache
from ivrflow.model.inventory import constant_texts, inventory, recorded_name
from ivrflow.runtime import actions as act

ROOT = Path(__file__).resolve().parents[2]
READBACK = ROOT / "tests" / "data" / "prompts" / "readback.ivr"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def put(cache: PromptCache, key: str, size: int) -> None:
    cache.folder.mkdir(parents=True, exist_ok=True)
    cache.path(key).write_bytes(b"x" * size)
    cache.add(key)


def present(cache: PromptCache) -> set[str]:
    return {p.stem for p in cache.folder.iterdir()}


# ------------------------------------------------------------------ the cache


def test_size_limit_evicts_the_least_recently_used(tmp_path: Path) -> None:
    clock = Clock()
    cache = PromptCache(tmp_path / "cache", max_bytes=300, max_age=3600, clock=clock)
    for key in ("a", "b", "c"):
        clock.now += 1
        put(cache, key, 100)
    clock.now += 1
    assert cache.get("a") is not None  # a used again: b is now the oldest
    clock.now += 1
    put(cache, "d", 100)
    assert present(cache) == {"a", "c", "d"}
    assert cache.size == 300 and len(cache) == 3 and cache.evicted == 1


def test_age_limit_evicts_what_was_not_used(tmp_path: Path) -> None:
    clock = Clock()
    cache = PromptCache(tmp_path / "cache", max_bytes=10**9, max_age=100, clock=clock)
    put(cache, "old", 10)
    clock.now += 60
    put(cache, "young", 10)
    clock.now += 50  # old unused for 110 s, young for 50 s
    assert cache.evict() == 1
    assert present(cache) == {"young"}
    assert cache.get("old") is None


def test_a_pinned_file_is_not_evicted_while_it_plays(tmp_path: Path) -> None:
    clock = Clock()
    cache = PromptCache(tmp_path / "cache", max_bytes=150, max_age=100, clock=clock)
    put(cache, "playing", 100)
    cache.pin("playing")
    clock.now += 1
    put(cache, "next", 100)  # over the size: the LRU entry is pinned, so it stays
    clock.now += 500  # and past the age
    cache.evict()
    assert "playing" in present(cache)
    cache.unpin("playing")
    cache.evict()
    assert "playing" not in present(cache)


def test_scan_keeps_the_use_order_across_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    for n, key in enumerate(("older", "newer")):
        (folder / f"{key}.wav").write_bytes(b"x" * 100)
        os.utime(folder / f"{key}.wav", (time.time() - 100 + n,) * 2)
    (folder / "half.tmp.wav").write_bytes(b"x")  # a render cut short by a crash
    cache = PromptCache(folder, max_bytes=100, max_age=10**9)
    cache.scan()
    assert present(cache) == {"newer"}
    assert cache.size == 100


def test_a_file_removed_behind_the_cache_is_a_miss(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path / "cache")
    put(cache, "k", 10)
    cache.path("k").unlink()
    assert cache.get("k") is None
    assert len(cache) == 0 and cache.size == 0


# ------------------------------------------------------------------ the inventory


def test_inventory_tells_templated_from_constant() -> None:
    flow = compile_file(str(READBACK)).flow
    assert flow is not None
    by_text = {p.text: p for p in inventory(flow)}
    assert by_text["Your account number is {{ account | digits }}."].templated
    assert not by_text["Welcome to the account line."].templated
    assert by_text["Welcome to the account line."].state == "start"
    assert by_text["You entered {digits}. Press 1 if that is correct, or 2 to enter it again."]
    constant = constant_texts(flow)
    assert "Welcome to the account line." in constant
    assert not any("{" in t for t in constant)


def test_recorded_names_are_readable_and_change_with_the_words() -> None:
    name = recorded_name("Olá! Você ligou para o faturamento.")
    assert name.startswith("ola-voce-ligou-para-o-faturamento-")
    assert recorded_name("Olá! Você ligou para o faturamento. ") == name  # spacing only
    assert recorded_name("Olá! Você ligou para a cobrança.") != name


# ------------------------------------------------------------------ the renderer


@pytest.fixture
def fake_tts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """espeak-ng writes its words (read from stdin) into its -w file; sox copies."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "espeak-ng").write_text('#!/bin/sh\ncat > "$4"\n', encoding="utf-8")
    (bin_dir / "sox").write_text(
        '#!/bin/sh\nfor a; do last="$a"; done\ncp "$1" "$last"\n', encoding="utf-8"
    )
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return bin_dir


def test_templated_prompt_lives_only_as_long_as_its_call(tmp_path: Path, fake_tts: Path) -> None:
    flow = compile_file(str(READBACK)).flow
    sounds = tmp_path / "sounds"
    renderer = SpeechRenderer(sounds)

    async def scenario() -> tuple[str, str]:
        call = renderer.for_call(flow)
        welcome = await renderer.sound_for(act.Say("Welcome to the account line.", "en-US"), call)
        account = await renderer.sound_for(
            act.Say("Your account number is 4 8 1 5.", "en-US"), call
        )
        assert welcome is not None and account is not None
        assert b"4 8 1 5" in Path(account.name + ".wav").read_bytes()
        welcome.release()
        account.release()
        call.close()
        return welcome.name, account.name

    welcome, account = asyncio.run(scenario())
    assert "/cache/" in welcome and "/calls/" in account
    assert Path(welcome + ".wav").is_file()  # constant: kept for the next call
    assert not Path(account + ".wav").exists()
    assert not any(b"4 8 1 5" in p.read_bytes() for p in sounds.rglob("*") if p.is_file())


def test_recorded_file_overrides_text_to_speech(tmp_path: Path, fake_tts: Path) -> None:
    sounds = tmp_path / "sounds"
    text = "Welcome to the account line."
    recorded = sounds / "recorded" / "en" / f"{recorded_name(text)}.gsm"  # base language
    recorded.parent.mkdir(parents=True)
    recorded.write_bytes(b"gsm")
    renderer = SpeechRenderer(sounds, "/var/lib/asterisk/sounds/ivr")
    sound = asyncio.run(renderer.sound_for(act.Say(text, "en-US")))
    assert sound is not None
    assert sound.name == f"/var/lib/asterisk/sounds/ivr/recorded/en/{recorded_name(text)}"
    assert not (sounds / "cache").exists() or not any((sounds / "cache").iterdir())


def test_prerender_fills_the_cache_with_every_constant_prompt_once(
    tmp_path: Path, fake_tts: Path
) -> None:
    flow = compile_file(str(READBACK)).flow
    assert flow is not None
    renderer = SpeechRenderer(tmp_path / "sounds")
    first = asyncio.run(renderer.prerender([flow]))
    constant = [p for p in inventory(flow) if not p.templated]
    assert first.constant == len({(p.language, p.text) for p in constant})
    assert first.rendered == first.constant and first.failed == 0
    assert first.templated == len([p for p in inventory(flow) if p.templated])
    again = asyncio.run(SpeechRenderer(tmp_path / "sounds").prerender([flow]))
    assert again.cached == again.constant and again.rendered == 0
    for p in constant:
        assert (
            tmp_path / "sounds" / "cache" / f"{sound_key(p.text, p.language, p.voice)}.wav"
        ).is_file()


def test_start_removes_what_dead_calls_and_the_old_cache_left(tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    (sounds / "calls" / "dead").mkdir(parents=True)
    (sounds / "calls" / "dead" / "1.wav").write_bytes(b"Your balance is 1234")
    (sounds / "ivrflow-0123456789abcdef01234567.wav").write_bytes(b"old, unbounded")
    SpeechRenderer(sounds, render=False).prepare()
    assert not (sounds / "calls").exists()
    assert not list(sounds.glob("ivrflow-*.wav"))


def test_voicebot_keeps_no_templated_prompt_in_memory() -> None:
    from ivrflow.host.voice.synthesis import CachedSynthesizer

    said: list[str] = []

    class Engine:
        def synthesize(self, text: str, language: str, voice: str | None = None) -> bytes:
            said.append(text)
            return text.encode()

    synth = CachedSynthesizer(Engine())
    for _ in range(2):
        synth.synthesize("Your balance is 1234.", "en-US", None, keep=False)
        synth.synthesize("Main menu.", "en-US")
    assert said == ["Your balance is 1234.", "Main menu.", "Your balance is 1234."]
    assert synth.cached("Your balance is 1234.", "en-US") is None
    assert synth.cached("Main menu.", "en-US") == b"Main menu."
