"""The offline recognizer and the speech start-up rules (issue 15): pocketsphinx on espeak-ng
speech at 8 kHz, grammar built from the menu, and a language with no model refused at once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ivrflow.host.gateways.voice import voice_settings
from ivrflow.host.voice.recognizer import Grammar, SpeechSetupError, recognize

ROOT = Path(__file__).resolve().parents[2]
needs_espeak = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")),
    reason="espeak-ng and sox are installed by `make system-deps`",
)
MENU = ["segunda via", "bill", "copy of my bill", "balance", "how much do I owe", "payment",
        "representative", "agent", "repeat"]  # fmt: skip


def spoken(text: str) -> bytes:
    from ivrflow.host.voice.synthesis import EspeakSynthesizer

    return EspeakSynthesizer(speed=160, voice_of={"en-us": "en-us+klatt"}).synthesize(text, "en-US")


@pytest.fixture(scope="module")
def sphinx():  # type: ignore[no-untyped-def]
    from ivrflow.host.voice.sphinx import SphinxRecognizer

    return SphinxRecognizer("en-US")


def test_grammar_keeps_what_the_model_can_say(sphinx) -> None:  # type: ignore[no-untyped-def]
    run = sphinx.start(Grammar.of_phrases("en-US", MENU))
    assert "segunda via" not in run.phrases and "how much do i owe" in run.phrases


@needs_espeak
@pytest.mark.parametrize("said", ["representative", "how much do I owe", "copy of my bill"])
def test_menu_phrases_are_recognized(sphinx, said: str) -> None:  # type: ignore[no-untyped-def]
    heard = recognize(sphinx, Grammar.of_phrases("en-US", MENU), spoken(said))
    assert heard.complete and heard.text == said.lower()
    assert 0.6 <= heard.confidence <= 1.0


@needs_espeak
def test_words_outside_the_grammar_are_not_a_complete_sentence(sphinx) -> None:  # type: ignore[no-untyped-def]
    heard = recognize(sphinx, Grammar.of_phrases("en-US", MENU), spoken("I want a pizza"))
    assert not heard.complete and heard.confidence == 0.0


def test_no_audio_is_nothing_heard(sphinx) -> None:  # type: ignore[no-untyped-def]
    heard = recognize(sphinx, Grammar.of_phrases("en-US", MENU), b"")
    assert (heard.text, heard.confidence, heard.complete) == ("", 0.0, False)


def test_a_language_without_a_model_is_a_start_up_error() -> None:
    with pytest.raises(
        SpeechSetupError, match=r"no speech model for pt-BR.*--speech-model pt-BR=DIR"
    ):
        voice_settings(["pt-BR"], [])
    with pytest.raises(SpeechSetupError, match="holds no pocketsphinx model"):
        voice_settings(["pt-BR"], [f"pt-BR={ROOT / 'flows'}"])
    with pytest.raises(SpeechSetupError, match="expected LANG=DIR"):
        voice_settings(["en-US"], ["pt-BR"])


def test_serve_agi_refuses_to_start_without_a_model(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ivrflow", "serve", "agi", "--listen", "127.0.0.1:0",
         str(ROOT / "flows"), "--speech", "pt-BR"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "no speech model for pt-BR" in proc.stderr and "--speech-model" in proc.stderr


def test_without_the_voice_extra_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ivrflow.host import voice

    monkeypatch.setitem(voice.VOICE_PACKAGES, "ivrflow_no_such_module", "webrtcvad-wheels")
    with pytest.raises(SpeechSetupError, match=r"pip install 'ivrflow\[voice\]'"):
        voice_settings(["en-US"], [])


@pytest.mark.abuse
def test_audio_with_no_words_in_it_is_nothing_heard(sphinx) -> None:  # type: ignore[no-untyped-def]
    """Regression (found by bench/speech.py's noisy runs): pocketsphinx gives no segments at
    all for silence or noise, and the recognizer raised instead of hearing nothing."""
    import random

    grammar = Grammar.of_phrases("en-US", MENU)
    noise = bytes(random.Random(1).randrange(256) for _ in range(16000))
    for pcm in (bytes(16000), noise):
        heard = recognize(sphinx, grammar, pcm)
        assert (heard.confidence, heard.complete) == (0.0, False)
