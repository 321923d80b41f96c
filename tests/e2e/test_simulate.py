"""`ivrflow simulate`: scripted runs as child processes, and the interactive phone for real —
in-process through prompt_toolkit's pipe input, and as a real terminal program under tmux.

Scripted: one caller input per line; the transcript; the last line `outcome: <kind> k=v…`;
exit 0 for a call that ended (any outcome but error), 1 for an error outcome, 2 for bad usage.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

import ivrflow
from ivrflow.tools import simulator as sm

ROOT = Path(__file__).resolve().parents[2]
BILLING = "flows/billing.ivr"

# tmux, F-keys and the like as the terminal sends them (prompt_toolkit's pipe input parses them).
TAB, ENTER, F10, CTRL_C = "\t", "\r", "\x1b[21~", "\x03"
PAGE_UP, PAGE_DOWN = "\x1b[5~", "\x1b[6~"

QUICK = """
flow quick "Quick"
  timeout 300ms, interdigit 300ms, retries 2

start:
  -> ask

menu ask:
  say "Press 1."
  1 -> done
  noinput 1: say "Nothing heard."
  nomatch 1: say "Wrong key."
  exhausted -> done

step done:
  say "Bye."
  hangup "done"
"""


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def simulate(
    *args: str, script: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`ivrflow simulate ARGS` with `script` on a piped stdin, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", "simulate", *args],
        cwd=ROOT,
        env=env or cli_env(),
        input=script,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
    )


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.rstrip("\n").splitlines()[-1]


# ---------------------------------------------------------------- scripted
def test_done_when_check_prints_a_transcript_ending_in_an_outcome() -> None:
    r = simulate(BILLING, script="1\nwait\nhangup\n")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "ivr    say       Olá! Você ligou para o faturamento da ACME Energia." in lines[0]
    assert any("caller press     1" in x for x in lines)
    assert any("caller wait      (silence)" in x for x in lines)
    assert any("Desculpe, não ouvi" in x for x in lines)  # the no-input escalation
    assert lines[-2].endswith("caller hangup    (hangs up)")
    assert lines[-1] == "outcome: abandoned state=account"
    assert r.stderr == ""


def test_zero_with_a_short_queue_is_transferred() -> None:
    r = simulate(BILLING, "--queue", "billing:ewt=30,position=2", script="0\n")
    assert r.returncode == 0, r.stderr
    assert "ivr    queue     billing: ewt=30.0 position=2" in r.stdout
    assert "O tempo estimado de espera é de 30 segundos." in r.stdout
    assert "transfer  billing priority 5 → answered" in r.stdout
    assert last_line(r) == "outcome: transferred queue=billing"


def test_a_long_queue_offers_a_callback_and_the_caller_takes_it() -> None:
    r = simulate(BILLING, script="0\n1\n")  # the fixtures' queue: ewt 300 s > 3 min
    assert r.returncode == 0, r.stderr
    assert "ligamos de volta para o número terminado em 5 6 7 8" in r.stdout
    assert "callback  +5511912345678 queue billing → stored" in r.stdout
    assert last_line(r).startswith(
        "outcome: callback_scheduled queue=billing number=**********5678 reference="
    )


def test_the_caller_hangs_up_at_the_menu() -> None:
    r = simulate(BILLING, script="hangup\n")
    assert r.returncode == 0
    assert last_line(r) == "outcome: abandoned state=main_menu"


def test_when_the_script_runs_out_the_caller_hangs_up() -> None:
    r = simulate(BILLING, script="2\n")
    assert r.stdout.splitlines()[-2].endswith("caller hangup    (hangs up)")
    assert last_line(r) == "outcome: abandoned state=account"


def test_time_travel_to_a_holiday() -> None:
    r = simulate(BILLING, "--at", "2026-12-25T10:00", script="0\n1\n")
    assert r.returncode == 0, r.stderr
    assert "Hoje é feriado." in r.stdout
    assert "Nossos atendentes estão disponíveis" in r.stdout  # closed: after hours
    assert "assim que abrirmos" in r.stdout
    assert last_line(r).startswith("outcome: callback_scheduled queue=billing")


def test_a_time_without_offset_is_read_in_the_flows_time_zone() -> None:
    # 21:00 in São Paulo is closed (mon-fri 08:00-20:00); 21:00 UTC would be 18:00 there, open.
    local = simulate(BILLING, "--at", "2026-11-24T21:00", script="0\n")
    assert "Nossos atendentes estão disponíveis" in local.stdout
    utc = simulate(BILLING, "--at", "2026-11-24T21:00+00:00", "--queue", "billing:ewt=30")
    assert "Nossos atendentes" not in utc.stdout
    same = simulate(BILLING, "--at", "2026-11-24T21:00-03:00", script="0\n")
    assert same.stdout == local.stdout
    short = simulate(BILLING, "--at", "21:00", script="0\n")  # a time on the default day
    assert short.stdout == local.stdout


def test_emergency_closes_the_office() -> None:
    r = simulate(BILLING, "--emergency", "office")
    assert r.returncode == 0
    assert "situação de emergência" in r.stdout
    assert last_line(r) == "outcome: self_served reason=emergency"


def test_callers_languages_and_spoken_inputs() -> None:
    vip = simulate(BILLING, "--caller", "vip", script="hangup\n")
    assert "Seu atendimento é prioritário." in vip.stdout
    english = simulate(BILLING, "--lang", "en-US", script="say copy of my bill\nhangup\n")
    assert "Hello! You've reached ACME Energy billing." in english.stdout
    assert "caller speak     copy of my bill" in english.stdout
    assert "Enter your contract number" in english.stdout
    withheld = simulate(BILLING, "--ani", "anonymous", script="hangup\n")
    assert "Seu número está oculto." in withheld.stdout


def test_a_self_served_call_through_lookups() -> None:
    script = "# balance, the bill by SMS, bye\n2  # balance\n79927398713#\n1\n\n2\n2\n"
    r = simulate(BILLING, script=script)
    assert r.returncode == 0, r.stderr
    assert "lookup    fetch_account → ok" in r.stdout
    assert "O valor em aberto do contrato é R$" in r.stdout
    assert "Pronto! A segunda via foi enviada para celular terminado em 4321." in r.stdout
    assert last_line(r) == "outcome: self_served reason=self_service"


def test_an_error_outcome_exits_1() -> None:
    r = simulate(BILLING, "--queue", "billing:ewt=30", "--transfer", "failed", script="0\n")
    assert r.returncode == 1
    assert last_line(r) == "outcome: error reason=transfer_failed state=agent_pt"


def test_script_file_and_transcript_file(tmp_path: Path) -> None:
    script = tmp_path / "call.txt"
    script.write_text("# to an agent\n\n0   # agent\n", encoding="utf-8")
    transcript = tmp_path / "out" / "call.log"
    transcript.parent.mkdir()
    r = simulate(
        BILLING,
        "--script",
        str(script),
        "--transcript",
        str(transcript),
        "--queue",
        "billing:ewt=9",
    )
    assert r.returncode == 0, r.stderr
    assert last_line(r) == "outcome: transferred queue=billing"
    assert transcript.read_text(encoding="utf-8") == r.stdout


def test_inputs_after_the_call_ended_are_ignored_with_a_note() -> None:
    r = simulate(BILLING, "--emergency", "office", script="1\n2\n")
    assert last_line(r) == "outcome: self_served reason=emergency"
    assert "<stdin>:1: note: the call has ended; the rest is ignored" in r.stderr
    quiet = simulate(BILLING, "--emergency", "office", script="hangup\n")
    assert quiet.stderr == ""  # a last `hangup` is not worth a note


def test_speak_without_espeak_says_so_and_runs(tmp_path: Path) -> None:
    r = simulate(BILLING, "--speak", script="hangup\n", env=cli_env(PATH=str(tmp_path)))
    assert r.returncode == 0
    assert "--speak needs espeak-ng, which is not on PATH" in r.stderr
    assert last_line(r) == "outcome: abandoned state=main_menu"


def test_speak_voices_each_prompt_with_espeak_ng(tmp_path: Path) -> None:
    # A stand-in espeak-ng that notes its arguments: the wiring is tested, nothing is voiced.
    log = tmp_path / "spoken.txt"
    fake = tmp_path / "espeak-ng"
    fake.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> "{log}"\necho >> "{log}"\n')
    fake.chmod(0o755)
    path = os.pathsep.join([str(tmp_path), os.environ.get("PATH", "")])
    r = simulate(BILLING, "--speak", script="9\nhangup\n", env=cli_env(PATH=path))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    spoken = log.read_text(encoding="utf-8").splitlines()
    assert spoken[0] == "-v|pt-br|--|Olá! Você ligou para o faturamento da ACME Energia.|"
    assert spoken[-1].startswith("-v|en-us|--|For a copy of your bill, press 1")  # after 9
    assert len(spoken) == r.stdout.count("ivr    say")


def test_a_flow_with_errors_exits_2_with_its_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ivr"
    bad.write_text('flow bad "Bad"\nstart:\n  goto main_meny\nstep main_menu:\n  hangup "x"\n')
    r = simulate(str(bad), script="1\n")
    assert r.returncode == 2
    assert f"{bad}:3:8: error[E104]: unknown state 'main_meny'" in r.stderr
    assert "did you mean 'main_menu'?" in r.stderr
    assert "has errors; nothing to simulate" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("args", "script", "message"),
    [
        (["--at", "christmas"], "", "bad --at 'christmas': write a date and time like"),
        (["--queue", "billing:wait=3"], "", "bad queue status 'billing:wait=3'"),
        (["--queue", "biling:ewt=3"], "", "--queue: unknown queue 'biling' (did you mean"),
        (["--emergency", "ofice"], "", "--emergency: unknown hours 'ofice' (did you mean"),
        (["--caller", "nobody"], "", "unknown caller 'nobody' (the fixtures have: blocked,"),
        (["--fixtures", "nope.yaml"], "", "cannot read fixtures 'nope.yaml'"),
        (["--script", "nope.txt"], "", "--script: cannot open 'nope.txt'"),
        (["--transfer", "maybe"], "", "argument --transfer: invalid choice: 'maybe'"),
        (["--seed", "x"], "", "argument --seed: invalid int value"),
        ([], "1\npress the button\n", "<stdin>:2: unknown caller input 'press the button'"),
        ([], "say\n", "<stdin>:1: 'say' needs the caller's words"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(args: list[str], script: str, message: str) -> None:
    r = simulate(BILLING, *args, script=script)
    assert r.returncode == 2, r.stdout
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_flow_and_module_files_exit_2() -> None:
    missing = simulate("flows/nope.ivr")
    assert missing.returncode == 2
    assert "no flow file 'flows/nope.ivr'" in missing.stderr
    module = simulate("flows/common/hours.ivr")
    assert module.returncode == 2
    assert "is module 'common_hours', not a flow to call" in module.stderr


def test_parse_input() -> None:
    assert sm.parse_input("123#") == "123#"
    assert sm.parse_input("#") == "#"
    assert sm.parse_input("  # a comment") is None
    assert sm.parse_input("") is None
    assert sm.parse_input("1 # main menu") == "1"
    assert sm.parse_input("press 12") == "12"
    assert sm.parse_input("Say  segunda via ") == "say segunda via"
    assert sm.parse_input("WAIT") == "wait"
    with pytest.raises(ValueError, match="unknown caller input 'wait 3'"):
        sm.parse_input("wait 3")


def test_outcome_line_quotes_what_needs_it() -> None:
    assert sm.outcome_line({"kind": "transferred", "queue": "billing"}) == (
        "outcome: transferred queue=billing"
    )
    assert sm.outcome_line({"kind": "error", "reason": "retries exhausted", "x": None}) == (
        'outcome: error reason="retries exhausted"'
    )


def test_a_scripted_run_never_loads_prompt_toolkit() -> None:
    """Only the phone (tools/simulator/terminal.py) imports it, inside its functions."""
    code = textwrap.dedent(
        """
        import io, sys
        from contextlib import redirect_stdout
        from ivrflow.cli import main
        sys.stdin = io.StringIO("2\\nhangup\\n")
        with redirect_stdout(io.StringIO()):
            status = main(["simulate", "flows/billing.ivr"])
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "prompt_toolkit")
        print(status, loaded)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=cli_env(), capture_output=True, text=True
    )
    assert run.stdout.strip() == "0 []", run.stderr


# ---------------------------------------------------------------- the phone, in-process
class Clock:
    """A hand-moved clock: the keypad highlight stays until the test moves time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScreenOutput(DummyOutput):
    """Renders nothing, but has the size of a real terminal (the screen is read back)."""

    def get_size(self) -> Size:
        return Size(rows=40, columns=120)


class PhoneHarness:
    def __init__(self, phone: sm.Phone, pipe: PipeInput) -> None:
        self.phone = phone
        self.pipe = pipe
        self.app = sm.build_application(phone, input=pipe, output=ScreenOutput())

    def screen(self) -> str:
        shown = self.app.renderer.last_rendered_screen
        if shown is None:
            return ""
        rows = []
        for y in range(40):
            row = shown.data_buffer[y]
            rows.append("".join(row[x].char for x in range(120)).rstrip())
        return "\n".join(rows)

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the screen:\n{self.screen()}")
            await asyncio.sleep(0.02)

    async def shows(self, *texts: str) -> str:
        await self.until(lambda: all(t in self.screen() for t in texts))
        return self.screen()

    async def send(self, keys: str, then: Callable[[], bool] | None = None) -> None:
        before = len(self.phone.sim.call.transcript)
        self.pipe.send_text(keys)
        await self.until(then or (lambda: len(self.phone.sim.call.transcript) > before))


def run_phone(
    scenario: Callable[[PhoneHarness], object],
    path: str = BILLING,
    realtime: bool = False,
    clock: Callable[[], float] | None = None,
    message: str = "",
    **options: object,
) -> sm.Phone:
    """Run the application with `scenario(harness)` (a coroutine) driving it."""
    flow = ivrflow.load(ROOT / path if not Path(path).is_absolute() else path)
    sim = sm.Simulation(sm.make_call(flow, sm.Options(**options)))  # type: ignore[arg-type]
    phone = sm.Phone(sim, realtime=realtime, clock=clock or Clock())
    phone.message = message

    async def main() -> None:
        with create_pipe_input() as pipe:
            harness = PhoneHarness(phone, pipe)
            running = asyncio.ensure_future(sm.run_phone(phone, harness.app, tick=0.02))
            try:
                await harness.until(lambda: harness.app.is_running and bool(harness.screen()))
                await scenario(harness)  # type: ignore[misc]
                await asyncio.wait_for(running, 5)
            finally:
                if not running.done():
                    harness.app.exit()
                    await asyncio.wait_for(running, 5)

    asyncio.run(main())
    return phone


def test_phone_shows_prompts_keypad_state_and_transfers() -> None:
    async def scenario(h: PhoneHarness) -> None:
        screen = await h.shows("Olá! Você ligou para o faturamento", "state  main_menu  (menu)")
        assert "Transcript" in screen and "Keypad" in screen and "Variables" in screen
        assert "1    2    3" in screen and "*    0    #" in screen  # the keypad
        assert "wants  a menu key or words" in screen
        assert sm.live_keys(h.phone) == frozenset("01239*")  # the menu's keys, shown bold
        assert "timeouts first digit 5s · inter-digit 3s" in screen
        assert "clock    Tue 2026-11-24 10:00:18" in screen  # the virtual clock, local time
        assert 'callback_to = "+5511912345678"' in screen
        assert "Tab/F2 let the timeout pass" in screen and "F10/Ctrl-X hang up" in screen
        await h.send("0", then=lambda: h.phone.ended)
        screen = await h.shows("OUTCOME transferred queue=billing")
        assert "[0]" in screen  # the key pressed, lit on the keypad
        assert "outcome: transferred queue=billing" in screen  # under the record
        assert '"errors": []' in screen
        assert "q / Enter / Ctrl-Q quit" in screen
        h.pipe.send_text("q")

    phone = run_phone(scenario, queues=("billing:ewt=30",))
    assert phone.sim.outcome == {"kind": "transferred", "queue": "billing"}
    assert "caller press     0" in sm.summary(phone.sim)[3]


def test_phone_entry_timeout_utterance_and_hang_up() -> None:
    clock = Clock()

    async def scenario(h: PhoneHarness) -> None:
        await h.shows("state  main_menu")
        await h.send("2")
        await h.shows("state  account  (capture)", "wants  8..12 digits, end #")
        screen = await h.shows("running  first digit 8s · Tab elapses it")
        for key in "7992":
            await h.send(key)
        screen = await h.shows("entry  7992_")
        assert "[2]" in screen  # the last key stays lit while the clock stands still
        assert "running  inter-digit 4s" in screen
        clock.now += 1  # the highlight goes out
        await h.until(lambda: "[2]" not in h.screen())
        await h.send(TAB)  # the inter-digit timeout elapses: the entry is too short
        screen = await h.shows("Esse número de contrato não é válido.")
        assert "entry  _" in screen
        await h.send("atendente" + ENTER)
        await h.shows("caller speak     atendente")
        assert h.phone.sim.session.phase == "capture"
        await h.send(F10, then=lambda: h.phone.ended)
        screen = await h.shows("OUTCOME abandoned state=account")
        assert screen.rstrip().endswith("PgUp/PgDn scroll the record")
        assert "caller hangup" not in screen  # the record fills the pane; scroll back to it
        h.pipe.send_text(PAGE_UP + PAGE_UP)  # a page (33 rows) each
        screen = await h.shows("caller hangup    (hangs up)")
        assert "PgUp/PgDn scroll the record" in screen
        h.pipe.send_text(PAGE_DOWN + PAGE_DOWN + PAGE_DOWN)  # back to the end
        await h.until(lambda: "caller hangup" not in h.screen())
        assert "outcome: abandoned state=account" in h.screen()
        h.pipe.send_text(ENTER)

    phone = run_phone(scenario, clock=clock)
    call = phone.sim.call
    assert phone.sim.outcome == {"kind": "abandoned", "state": "account"}
    kinds = [(x.who, x.kind, x.text) for x in call.transcript if x.who == "caller"]
    assert kinds == [
        ("caller", "press", "2"),
        *[("caller", "press", k) for k in "7992"],
        ("caller", "wait", "(silence)"),
        ("caller", "speak", "atendente"),
        ("caller", "hangup", "(hangs up)"),
    ]
    waited = next(x for x in call.transcript if x.kind == "wait")
    last_key = [x for x in call.transcript if x.kind == "press"][-1]
    assert round(waited.at - last_key.at, 1) == 4.0  # the inter-digit timeout, not 5 s


def test_phone_keys_go_into_words_being_typed() -> None:
    async def scenario(h: PhoneHarness) -> None:
        screen = await h.shows("state  main_menu", "--speak needs espeak-ng")
        assert "Tab/F2" not in screen  # the notice stands in for the help line…
        await h.send("segunda via 2" + ENTER)
        await h.shows("Tab/F2 let the timeout pass")  # …until the first key
        await h.shows("caller speak     segunda via 2", "state  account")
        h.pipe.send_text(CTRL_C)  # quits, hanging up first

    phone = run_phone(scenario, message="--speak needs espeak-ng, which is not on PATH")
    assert phone.sim.outcome == {"kind": "abandoned", "state": "account"}


def test_phone_masks_secure_entry_and_variables() -> None:
    async def scenario(h: PhoneHarness) -> None:
        await h.shows("state  main_menu")
        for keys in ("3", "79927398713#", "1"):
            await h.send(keys)
        await h.shows("state  card  (capture)", "wants  16 digits, secure")
        await h.send("4111")
        screen = await h.shows("entry  ****_")
        assert "4111" not in screen
        await h.send("111111111111")
        await h.shows("state  card_expiry")
        assert 'card = "****"' in h.screen()
        h.pipe.send_text(CTRL_C)

    phone = run_phone(scenario)
    assert phone.sim.call.variables()["card"] == "****"


def test_phone_realtime_lets_timeouts_elapse_on_the_wall_clock(tmp_path: Path) -> None:
    flow = tmp_path / "quick.ivr"
    flow.write_text(textwrap.dedent(QUICK).lstrip(), encoding="utf-8")

    async def scenario(h: PhoneHarness) -> None:
        await h.until(lambda: "s left" in h.screen() or h.phone.ended)  # the countdown
        await h.until(lambda: h.phone.ended, timeout=10)  # two no-inputs, nobody touching it
        await h.shows("OUTCOME self_served reason=done")
        h.pipe.send_text("q")

    started = time.monotonic()
    phone = run_phone(scenario, str(flow), realtime=True, clock=time.monotonic)
    assert time.monotonic() - started >= 0.6  # 2 x 300 ms, really waited
    said = [x.text for x in phone.sim.call.transcript]
    assert said.count("(silence)") == 2
    assert "Nothing heard." in said


# ---------------------------------------------------------------- the phone under tmux
@contextmanager
def tmux_phone(*args: str) -> Iterator[Callable[..., str]]:
    """`ivrflow simulate ARGS` in a detached 120x40 tmux session on a private server.
    Yields send(*keys) → the screen after them; the server is always killed."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (Debian package tmux; `make test` installs it)")
    home = Path(tempfile.mkdtemp(prefix="ivrflow-tmux-"))  # a private server, socket inside
    tmux = ["tmux", "-S", str(home / "socket"), "-f", os.devnull]
    command = shlex.join([sys.executable, "-m", "ivrflow", "simulate", *args])
    try:
        yield from _tmux_session(tmux, command)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def _tmux_session(tmux: list[str], command: str) -> Iterator[Callable[..., str]]:
    env = cli_env(TERM="xterm-256color")
    session = ["new-session", "-d", "-s", "sim", "-x", "120", "-y", "40", "-c", str(ROOT)]
    started = subprocess.run(
        [*tmux, *session, f'{command}; echo "exit=$?"; sleep 120'],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert started.returncode == 0, started.stderr

    def screen() -> str:
        shown = subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", "sim"], capture_output=True, text=True, timeout=30
        )
        return shown.stdout

    def send(*keys: str, expect: str | tuple[str, ...] = "") -> str:
        """Send keys, then wait until the screen shows every `expect` text: under load the
        phone draws its panes one by one, so one text alone may come before the rest."""
        if keys:
            subprocess.run([*tmux, "send-keys", "-t", "sim", *keys], check=True, timeout=30)
        wanted = (expect,) if isinstance(expect, str) else expect
        deadline = time.monotonic() + 20
        while not all(w in (text := screen()) for w in wanted):
            if time.monotonic() > deadline:
                raise AssertionError(f"{expect!r} never showed; the screen:\n{text}")
            time.sleep(0.1)
        return text

    yield send


def test_tmux_phone_to_a_transfer() -> None:
    with tmux_phone(BILLING, "--queue", "billing:ewt=30") as send:
        screen = send(expect=("state  main_menu", "*    0    #", "inter-digit 3s"))
        assert "Olá! Você ligou para o faturamento da ACME" in screen
        assert "Para segunda via da fatura, tecle 1" in screen
        assert "1    2    3" in screen and "7    8    9" in screen and "*    0    #" in screen
        assert "timeouts first digit 5s · inter-digit 3s" in screen
        screen = send("0", expect="OUTCOME transferred queue=billing")
        assert "outcome: transferred queue=billing" in screen  # the line under the record
        screen = send("q", expect="exit=0")  # the phone quits and prints the record
        printed = screen[: screen.index("exit=0")].rstrip().splitlines()
        assert printed[-1] == "outcome: transferred queue=billing"
        assert printed[-2] == "}" and '  "errors": [],' in printed  # the whole record
        assert '    "outcome": "answered",' in printed  # its queue leg


def test_tmux_phone_to_a_hang_up() -> None:
    with tmux_phone(BILLING) as send:
        send(expect="state  main_menu")
        send("2", expect="wants  8..12 digits, end #")
        screen = send("7", "9", "9", "2", expect="entry  7992_")
        assert "running  inter-digit 4s" in screen
        send("Tab", expect="Esse número de contrato não é válido.")
        send("segunda via", "Enter", expect="caller speak     segunda via")
        screen = send("F10", expect="OUTCOME abandoned state=account")
        assert "outcome: abandoned state=account" in screen
        send("PPage", "PPage", expect="caller hangup    (hangs up)")
        screen = send("Enter", expect="exit=0")
        assert "outcome: abandoned state=account" in screen


def test_typed_text_stands_for_free_speech() -> None:
    """Issue 12: a capture of words in the simulator — `say …` is what the caller says."""
    script = "say Maria Souza\nsay my VPN does not connect\n"
    r = simulate("flows/service_desk.ivr", "--at", "2026-11-24T10:00:00-05:00", script=script)
    assert r.returncode == 0, r.stderr
    assert "Thank you, Maria Souza. In a few words, what is the problem?" in r.stdout
    assert "caller speak     my VPN does not connect" in r.stdout
    assert last_line(r) == "outcome: transferred queue=it_network", r.stdout
