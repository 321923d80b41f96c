"""How long prompts take in the traffic walk: words per minute per language, or the audio."""

from __future__ import annotations

import random
import wave
from pathlib import Path

import pytest

import ivrflow
from ivrflow.traffic.durations import audio_seconds, speech_seconds, wpm_for
from ivrflow.traffic.model import parse_model
from ivrflow.traffic.walk import END, Walker

FLOW = """
flow rec "Recording"
  language pt-BR

start:
  play "hello.wav"
  say "Um dois três quatro cinco seis sete oito nove dez."
  hangup "done"
"""


def _wav(path: Path, seconds: float, rate: int = 8000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(seconds * rate))


def test_rate_per_language_falls_back_to_the_base_language() -> None:
    rates = {"pt-BR": 160.0, "en": 170.0}
    assert wpm_for("pt-BR", rates, 150.0) == 160.0
    assert wpm_for("en-US", rates, 150.0) == 170.0
    assert wpm_for("es-ES", rates, 150.0) == 150.0


def test_words_and_placeholders_at_the_rate() -> None:
    # 5 words + one placeholder (4 words) = 9 words at 120 wpm = 4.5 s, plus one sentence
    # pause (the dot inside the placeholder is no sentence end).
    assert speech_seconds("Your balance is {{ acct.balance }} right now.", 120.0) == pytest.approx(
        4.8
    )


def test_recordings_are_timed_from_the_file(tmp_path: Path) -> None:
    _wav(tmp_path / "hello.wav", 2.5)
    assert audio_seconds(str(tmp_path / "hello.wav")) == pytest.approx(2.5)
    assert audio_seconds(str(tmp_path / "missing.wav")) is None


@pytest.mark.parametrize(("model", "play"), [("", 2.5), ("speech: {audio: {hello.wav: 7}}", 7.0)])
def test_the_walk_adds_audio_and_speech(tmp_path: Path, model: str, play: float) -> None:
    _wav(tmp_path / "hello.wav", 2.5)
    (tmp_path / "rec.ivr").write_text(FLOW, encoding="utf-8")
    flow = ivrflow.load(tmp_path / "rec.ivr")
    m = parse_model(model or "{}")
    w = Walker(flow, m)
    r = random.Random(1).random
    seconds, kind, target, _ = w.walk(w.start(r), w.hours_id(0.0), r)
    assert kind == END and target[0] == "self_served"
    ten_words = 10 * 60.0 / 150.0 + 0.3  # the default 150 words per minute
    assert seconds == pytest.approx(play + ten_words)
