"""The testing gaps of issue 12 (item 10), each pinned by a test that failed before the fix."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from ivrflow import compile_file, load
from ivrflow.host import fixtures as fx
from ivrflow.tools import scenarios
from ivrflow.tools.simulator.options import Options, make_call
from ivrflow.tools.testing import Call

ROOT = Path(__file__).resolve().parents[2]

PLAYS = """\
flow plays

start:
  play "audio/welcome.wav"
  say "Hello."
  -> main_menu

menu main_menu:
  say "Press 1 to hear the news."
  1: play "audio/news.wav"; hangup
  noinput: say "Sorry?"
  nomatch: say "Sorry?"
  exhausted -> hangup
"""


@pytest.fixture
def plays(tmp_path: Path) -> Path:
    (tmp_path / "plays.ivr").write_text(PLAYS, encoding="utf-8")
    return tmp_path


def scenario(folder: Path, steps: str) -> scenarios.ScenarioResult:
    path = folder / "s.yaml"
    path.write_text(f"flow: plays.ivr\nsteps:\n{steps}", encoding="utf-8")
    return scenarios.run_file(str(path))


def test_expect_play_passes_on_a_played_file(plays: Path) -> None:
    steps = '  - expect_play: "welcome.wav"\n  - press: "1"\n  - expect_play: "audio/news"\n'
    result = scenario(plays, steps)
    assert result.passed, result.details()


def test_expect_play_fails_and_names_what_was_played(plays: Path) -> None:
    result = scenario(plays, '  - press: "1"\n  - expect_play: "welcome.wav"\n')
    assert not result.passed
    assert "it played: audio/news.wav" in result.details()


def test_expect_say_does_not_match_a_played_file(plays: Path) -> None:
    assert not scenario(plays, '  - expect_say: "welcome.wav"\n').passed


def test_an_unknown_step_lists_the_valid_ones(plays: Path) -> None:
    (plays / "s.yaml").write_text("flow: plays.ivr\nsteps:\n  - expect_sound: x\n", "utf-8")
    with pytest.raises(scenarios.ScenarioError) as info:
        scenarios.load(str(plays / "s.yaml"))
    hint = info.value.messages[0].splitlines()[-1]
    for step in scenarios.CALLER_STEPS + scenarios.EXPECT_STEPS:
        assert step in hint
    assert "expect_play" in hint


def test_a_misnamed_fixtures_section_has_a_line_and_the_sections(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text('lookups: {}\ncallers:\n  vip: {ani: "+5511987654321"}\n', "utf-8")
    with pytest.raises(fx.FixtureError) as info:
        fx.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2:1: unknown section 'callers'")
    assert "did you mean 'calls'?" in message
    assert message.endswith("the sections are: calls, lookups, queues")


def test_a_bad_rule_in_fixtures_has_its_line(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("queues:\n  billing: {ewt: 3}\nlookups:\n  fetch: [{when: {}}]\n", "utf-8")
    with pytest.raises(fx.FixtureError, match=re.escape(f"{path}:4:3: lookups.fetch[0]")):
        fx.load(path)


def test_the_fixtures_format_is_documented_in_docs_and_its_example_loads() -> None:
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    section = text[text.index("## Fixtures") :]
    example = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert example is not None
    loaded = fx.from_dict(yaml.safe_load(example.group(1)))
    assert set(loaded.calls) == {"vip"} and "fetch_account" in loaded.lookups
    for name in fx.SECTIONS:
        assert f"`{name}." in section, name


def test_call_accepts_a_path_as_the_docs_show() -> None:
    call = Call(ROOT / "flows" / "billing.ivr")
    call.start()
    assert call.flow.name == "billing" and call.transcript
    assert Call(str(ROOT / "flows" / "billing.ivr")).flow.name == "billing"


def test_the_simulator_places_the_call_at_ten_in_the_flows_own_zone(tmp_path: Path) -> None:
    (tmp_path / "ny.ivr").write_text(
        'flow ny\n  timezone "America/New_York"\n\nstart:\n  hangup\n', "utf-8"
    )
    call = make_call(load(tmp_path / "ny.ivr"), Options())
    local = dt.datetime.fromtimestamp(call.start_at, dt.timezone(dt.timedelta(hours=-5)))
    assert (local.date(), local.hour, local.minute) == (dt.date(2026, 11, 24), 10, 0)


def test_a_capture_with_no_validation_and_no_length_warns(tmp_path: Path) -> None:
    (tmp_path / "c.ivr").write_text(
        'flow c\n\nstart:\n  -> acct\n\ncapture acct:\n  say "Your account?"\n'
        '  ok -> hangup\n  noinput: say "?"\n  nomatch: say "?"\n  exhausted -> hangup\n',
        "utf-8",
    )
    codes = [
        (d.code, d.span.line if d.span else 0) for d in compile_file(tmp_path / "c.ivr").warnings
    ]
    assert ("W221", 6) in codes
    text = (tmp_path / "c.ivr").read_text("utf-8").replace("  ok ->", "  digits 6..10\n  ok ->")
    (tmp_path / "c.ivr").write_text(text, "utf-8")
    assert "W221" not in [d.code for d in compile_file(tmp_path / "c.ivr").warnings]


@pytest.mark.parametrize(
    ("prompt", "flagged"),
    [
        ("For support press four.", ["4"]),
        ("Tecle quatro para sair ou nove para repetir.", ["4"]),
        ("Press 1 for billing.", []),
        ("Digite um número de contrato.", []),
        ("Press one of the keys.", []),
    ],
)
def test_w203_reads_keys_written_in_words(tmp_path: Path, prompt: str, flagged: list[str]) -> None:
    (tmp_path / "m.ivr").write_text(
        f'flow m\n\nstart:\n  -> m\n\nmenu m:\n  say "{prompt}"\n  1 -> hangup\n  9 -> repeat\n'
        '  noinput: say "?"\n  nomatch: say "?"\n  exhausted -> hangup\n',
        "utf-8",
    )
    found = [d.message for d in compile_file(tmp_path / "m.ivr").warnings if d.code == "W203"]
    assert [m.split("key ")[1].split(" ")[0] for m in found] == flagged
