"""Golden call transcripts: a script of events → the exact actions and the call record.

Each `tests/transcripts/<flow>/<name>.yaml` is one call through `flows/<flow>.ivr`:

    flow: flows/billing.ivr
    description: A regular caller asks for the balance.       # optional, first line of the output
    call: {call_id: billing-balance-1, ani: "+5511912345678", dnis: "+551130030001",
           at: "2026-11-24T10:00:00-03:00", seed: 0}        # also: emergency: [office],
                                                            #       variables: {...}, mask_ani
    expect_ended: true                                      # default; false = still in the IVR
    xfail: "lead: …"   # a known interpreter bug: the .transcript holds the CORRECT behaviour,
                       # written by hand; strict, so the fix makes it fail until this is removed
    events:                        # `after`: seconds since the previous event (default 2)
      - digits: "2"                # one key or a string; `terminated: true` as a sibling key
      - {after: 6, digits: "79927398713#"}
      - utterance: {text: "saldo", confidence: 0.9}        # or just the text
      - no_input
      - timer: t1
      - lookup_result: {balance: 152.30}   # answers the pending Lookup (the last one emitted)
      - lookup_failed: "not found"         # or {reason: …, timed_out: true}
      - lookup: fixture                    # answers it from flows/fixtures/<flow>.yaml
      - queue_status: {ewt: 300, position: 4}              # or `fixture`
      - transfer_result: answered          # or {status: busy, detail: …, wait: 12, queued_after: 9}
      - callback_stored                    # or callback_stored: REF-1
      - callback_failed: "disk full"
      - hangup

Next to it, `<name>.transcript` is the expected output: one line per event (`@+t > event`),
the states the call entered while handling it (`  [a → b]`), one line per action, then the
call record as JSON (sort_keys, indent 2; `flow_hash` shown as `<flow hash>` so a comment
edit in a flow does not rewrite every transcript). To rewrite them from the current
interpreter (then READ the diff):

    IVRFLOW_UPDATE_GOLDEN=1 .venv/bin/pytest tests/transcripts

Print one transcript without comparing:

    .venv/bin/python tests/transcripts/test_transcripts.py tests/transcripts/billing/x.yaml
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import ivrflow
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.record import OUTCOMES
from ivrflow.runtime.session import Session

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
UPDATE = os.environ.get("IVRFLOW_UPDATE_GOLDEN") == "1"
DEFAULT_AFTER = 2.0
MIN_TRANSCRIPTS = 3
MIN_OUTCOME_KINDS = 3

EVENT_KEYS = {
    "digits",
    "utterance",
    "no_input",
    "timer",
    "hangup",
    "lookup_result",
    "lookup_failed",
    "lookup",
    "queue_status",
    "transfer_result",
    "callback_stored",
    "callback_failed",
    "recorded",
    "record_failed",
}


class ScriptError(Exception):
    """The script itself is wrong (not the interpreter): an unknown event, nothing pending."""


# ------------------------------------------------------------------ formatting
def _secs(x: float | None) -> str:
    return "none" if x is None else f"{x:g}s"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def format_action(a: act.Action) -> list[str]:
    if isinstance(a, act.Say):
        head = f"say[{a.language}" + (f" voice={a.voice}" if a.voice else "") + "]"
        return [f"  {head}: {a.text}" + ("" if a.barge_in else "  (no barge-in)")]
    if isinstance(a, act.Play):
        return [f"  play: {a.path}" + ("" if a.barge_in else "  (no barge-in)")]
    if isinstance(a, act.Collect):
        if a.free_speech:
            line = f"  collect {','.join(a.kinds)} free-speech timeout={_secs(a.timeout)}"
        else:
            line = f"  collect {','.join(a.kinds)} {a.min_digits}..{a.max_digits}"
            line += f" timeout={_secs(a.timeout)}"
            if a.max_digits > 1:
                line += f" interdigit={_secs(a.interdigit)}"
            if a.terminator:
                line += f" end={a.terminator}"
        if a.secure:
            line += " secure"
        if not a.barge_in:
            line += " no-barge-in"
        lines = [line]
        if a.phrases:
            lines.append("    phrases: " + " | ".join(a.phrases))
        if a.free_speech or a.hints or a.speech_timeout is not None:
            timeout = "auto" if a.speech_timeout is None else _secs(a.speech_timeout)
            hints = " hints=" + " | ".join(a.hints) if a.hints else ""
            lines.append(f"    recognizer: language={a.language} speech-timeout={timeout}{hints}")
        return lines
    if isinstance(a, act.Lookup):
        args = ", ".join(_json(x) for x in a.args)
        return [f"  lookup {a.function}({args}) timeout={_secs(a.timeout)} [{a.request}]"]
    if isinstance(a, act.GetQueueStatus):
        return [f"  queue-status {a.queue}"]
    if isinstance(a, act.TransferToQueue):
        skills = ",".join(a.skills) or "-"
        ewt = "none" if a.ewt is None else f"{a.ewt:g}"
        return [f"  transfer queue={a.queue} priority={a.priority} skills={skills} ewt={ewt}"]
    if isinstance(a, act.TransferToDestination):
        d = a.destination
        postdial = f" postdial={d.postdial}" if d.postdial else ""
        return [f"  transfer {d.kind}={d.text()}{postdial}"]
    if isinstance(a, act.StoreCallback):
        window = "none" if a.window is None else f"{a.window[0]}..{a.window[1]}"
        line = f"  store-callback number={a.number} queue={a.queue} ani={a.ani} window={window}"
        if a.extra:
            line += f" extra={_json(a.extra)}"
        return [line]
    if isinstance(a, act.Record):
        silence = "off" if a.silence is None else _secs(a.silence)
        return [f"  record {a.name} max={_secs(a.max_length)} silence={silence} "
                f"finish={a.finish or '-'} beep={'on' if a.beep else 'off'} [{a.request}]"]  # fmt: skip
    if isinstance(a, act.Hangup):
        return [f"  hangup: {a.reason}"]
    return [f"  {_json(a.as_dict())}"]  # pragma: no cover - a new action type


def format_event(e: ev.Event) -> str:
    if isinstance(e, ev.Digits):
        return f"digits {e.keys}" + (" (terminated)" if e.terminated else "")
    if isinstance(e, ev.Utterance):
        return f"utterance {_json(e.text)} confidence={e.confidence:g}"
    if isinstance(e, ev.NoInput):
        return "no-input"
    if isinstance(e, ev.Hangup):
        return "hangup (caller)"
    if isinstance(e, ev.LookupResult):
        return f"lookup-result [{e.request}] {_json(e.value)}"
    if isinstance(e, ev.LookupFailed):
        return f"lookup-failed [{e.request}] {_json(e.reason)}" + (
            " (timed out)" if e.timed_out else ""
        )
    if isinstance(e, ev.QueueStatus):
        return f"queue-status {e.queue} ewt={e.ewt} position={e.position}"
    if isinstance(e, ev.TransferResult):
        return f"transfer-result {e.status}" + (f" ({e.detail})" if e.detail else "")
    if isinstance(e, ev.CallbackStored):
        return "callback-stored" + (f" {e.reference}" if e.reference else "")
    if isinstance(e, ev.CallbackFailed):
        return f"callback-failed {_json(e.reason)}"
    if isinstance(e, ev.Recorded):
        return f"recorded [{e.request}] {e.reference} {e.duration:g}s ended by {e.ended_by}"
    if isinstance(e, ev.RecordFailed):
        return f"record-failed [{e.request}] {_json(e.reason)}"
    return repr(e)  # pragma: no cover


# ------------------------------------------------------------------ running a script
@dataclass
class Run:
    lines: list[str] = field(default_factory=list)
    session: Session | None = None
    record: dict[str, Any] | None = None
    ended_early: int | None = None  # index of the first event sent after the call ended

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@functools.cache
def _fixtures(flow_stem: str) -> dict[str, Any]:
    path = REPO / "flows" / "fixtures" / f"{flow_stem}.yaml"
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _fixture_answer(flow: Any, stem: str, lookup: act.Lookup, at: float) -> ev.Event:
    params = flow.functions[lookup.function].params
    args = dict(zip(params, lookup.args, strict=False))
    for rule in _fixtures(stem).get("lookups", {}).get(lookup.function, []):
        when = rule.get("when") or {}
        if all(k in args and str(args[k]) == str(v) for k, v in when.items()):
            if "error" in rule:
                return ev.LookupFailed(at, lookup.request, str(rule["error"]))
            return ev.LookupResult(at, lookup.request, rule.get("result"))
    return ev.LookupFailed(at, lookup.request, "no fixture")


def _timestamp(value: Any) -> float:
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        raise ScriptError(f"call.at needs a UTC offset: {value!r}")
    return when.timestamp()


def _one_event(item: Any) -> tuple[str, Any, dict[str, Any]]:
    if isinstance(item, str):
        name, value, extra = item, None, {}
    elif isinstance(item, dict):
        extra = {k: v for k, v in item.items() if k not in EVENT_KEYS}
        names = [k for k in item if k in EVENT_KEYS]
        if len(names) != 1:
            raise ScriptError(f"an event needs exactly one of {sorted(EVENT_KEYS)}: {item!r}")
        name, value = names[0], item[names[0]]
    else:
        raise ScriptError(f"not an event: {item!r}")
    if name not in EVENT_KEYS:
        raise ScriptError(f"unknown event {name!r}")
    unknown = set(extra) - {"after", "terminated"}
    if unknown:
        raise ScriptError(f"unknown keys {sorted(unknown)} in {item!r}")
    return name, value, extra


def run_script(path: Path) -> Run:
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    flow_path = REPO / script["flow"]
    flow = ivrflow.load(flow_path)
    call = dict(script.get("call") or {})
    t0 = _timestamp(call.pop("at"))
    session = Session(
        flow,
        call_id=str(call.pop("call_id", path.stem)),
        ani=call.pop("ani", None),
        dnis=call.pop("dnis", None),
        at=t0,
        variables=call.pop("variables", None),
        seed=int(call.pop("seed", 0)),
        emergency=frozenset(call.pop("emergency", ())),
        mask_ani=bool(call.pop("mask_ani", False)),
    )
    if call:
        raise ScriptError(f"unknown call settings {sorted(call)}")
    driver = _Driver(flow, flow_path.stem, session, t0)
    if script.get("description"):
        driver.out.append(f"# {' '.join(str(script['description']).split())}")
    try:
        driver.run(script.get("events") or [])
    except ScriptError as exc:
        raise ScriptError(
            f"{path.name}: {exc}\n--- transcript so far:\n{driver.run_.text}"
        ) from None
    return driver.run_


class _Driver:
    """Feeds a script's events into a session, answering what is pending, and writes lines."""

    def __init__(self, flow: Any, stem: str, session: Session, t0: float) -> None:
        self.flow, self.stem, self.session, self.t0 = flow, stem, session, t0
        self.run_ = Run(session=session)
        self.out = self.run_.lines
        self.pending_lookup: act.Lookup | None = None
        self.pending_queue: str | None = None
        self.pending_record: act.Record | None = None

    def emit(self, actions: list[act.Action], seen: int) -> None:
        states = [s for s, _ in self.session.path[seen:]]
        if states:
            self.out.append(f"  [{' → '.join(states)}]")
        for a in actions:
            self.out.extend(format_action(a))
            if isinstance(a, act.Lookup):
                self.pending_lookup = a
            elif isinstance(a, act.GetQueueStatus):
                self.pending_queue = a.queue
            elif isinstance(a, act.Record):
                self.pending_record = a

    def run(self, events: list[Any]) -> None:
        session, out = self.session, self.out
        out.append("@+0.0 start")
        self.emit(session.start(), 0)
        t = self.t0
        for index, item in enumerate(events):
            name, value, extra = _one_event(item)
            t += float(extra.get("after", DEFAULT_AFTER))
            try:
                event = self.event(name, value, extra, t)
            except ScriptError as exc:
                raise ScriptError(f"event {index + 1} ({name}): {exc}") from None
            if session.ended and self.run_.ended_early is None:
                self.run_.ended_early = index
            seen = len(session.path)
            out.append(f"@+{t - self.t0:.1f} > {format_event(event)}")
            self.emit(session.send(event), seen)
        out.append("")
        if session.ended:
            self.run_.record = session.record
            assert self.run_.record is not None
            record = dict(self.run_.record)
            if record.get("flow_hash") == self.flow.content_hash:
                record["flow_hash"] = "<flow hash>"
            out.append(f"ended: {record['outcome']['kind']}")
            text = json.dumps(record, ensure_ascii=False, sort_keys=True, indent=2)
            # messages name the flow file by the path it was loaded with: make it repo-relative
            out.extend(text.replace(f"{REPO}{os.sep}", "").splitlines())
        else:
            out.append(f"still in the IVR: state {session.state}, phase {session.phase}")

    def event(self, name: str, value: Any, extra: dict[str, Any], t: float) -> ev.Event:
        if name == "digits":
            return ev.Digits(t, str(value), bool(extra.get("terminated", False)))
        if name == "utterance":
            if isinstance(value, dict):
                return ev.Utterance(t, str(value["text"]), float(value.get("confidence", 1.0)))
            return ev.Utterance(t, str(value))
        if name == "no_input":
            return ev.NoInput(t)
        if name == "hangup":
            return ev.Hangup(t)
        if name in ("lookup_result", "lookup_failed", "lookup"):
            lookup, self.pending_lookup = self.pending_lookup, None
            if lookup is None:
                raise ScriptError("no Lookup is pending")
            if name == "lookup":
                if value != "fixture":
                    raise ScriptError("`lookup:` takes `fixture`")
                return _fixture_answer(self.flow, self.stem, lookup, t)
            if name == "lookup_result":
                return ev.LookupResult(t, lookup.request, value)
            if isinstance(value, dict):
                reason, timed_out = str(value["reason"]), bool(value.get("timed_out"))
                return ev.LookupFailed(t, lookup.request, reason, timed_out)
            return ev.LookupFailed(t, lookup.request, str(value))
        if name == "queue_status":
            queue, self.pending_queue = self.pending_queue, None
            if queue is None:
                raise ScriptError("no GetQueueStatus is pending")
            if value == "fixture":
                value = _fixtures(self.stem).get("queues", {}).get(queue, {})
            value = value or {}
            return ev.QueueStatus(t, queue, value.get("ewt"), value.get("position"))
        if name == "transfer_result":
            if isinstance(value, dict):
                wait, queued_at = value.get("wait"), value.get("queued_after")
                if queued_after := value.get("queued_after"):  # seconds after the call began
                    queued_at = self.session.started_at + float(queued_after)
                return ev.TransferResult(t, value["status"], value.get("detail"), wait, queued_at)
            return ev.TransferResult(t, str(value))  # type: ignore[arg-type]
        if name in ("recorded", "record_failed"):
            rec, self.pending_record = self.pending_record, None
            if rec is None:
                raise ScriptError("no Record is pending")
            if name == "record_failed":
                return ev.RecordFailed(t, rec.request, str(value))
            value = value or {}
            return ev.Recorded(t, rec.request, value.get("file"), float(value.get("duration", 0)),
                               value.get("ended_by", "key"), value.get("text"))  # fmt: skip
        if name == "callback_stored":
            return ev.CallbackStored(t, None if value is None else str(value))
        return ev.CallbackFailed(t, str(value or "store failed"))


# ------------------------------------------------------------------ the tests
def _scripts() -> list[Any]:
    params = []
    for path in sorted(HERE.glob("*/*.yaml")):
        reason = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("xfail")
        marks = [pytest.mark.xfail(reason=str(reason), strict=True)] if reason else []
        params.append(pytest.param(path, marks=marks, id=f"{path.parent.name}/{path.stem}"))
    return params


def _flows() -> list[Path]:
    return sorted((REPO / "flows").glob("*.ivr"))


@functools.cache
def _cached_run(path: Path) -> Run:
    return run_script(path)


@pytest.mark.parametrize("path", _scripts())
def test_transcript(path: Path) -> None:
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert Path(script["flow"]).stem == path.parent.name, "a script lives in its flow's folder"
    run = _cached_run(path)
    expected_path = path.with_suffix(".transcript")
    if UPDATE and not script.get("xfail"):  # a hand-written expectation is never overwritten
        expected_path.write_text(run.text, encoding="utf-8")
    assert expected_path.exists(), f"no {expected_path.name}: run with IVRFLOW_UPDATE_GOLDEN=1"
    assert run.text == expected_path.read_text(encoding="utf-8")
    assert run.ended_early is None, (
        f"event {run.ended_early + 1} comes after the call ended: trim the script"
    )
    session = run.session
    assert session is not None
    if script.get("expect_ended", True):
        assert session.ended, "the call did not end (say `expect_ended: false` if meant)"
        assert run.record is not None
        assert run.record["outcome"]["kind"] in OUTCOMES
    else:
        assert not session.ended


@pytest.mark.parametrize("flow", _flows(), ids=lambda p: p.stem)
def test_every_flow_has_transcripts(flow: Path) -> None:
    scripts = sorted((HERE / flow.stem).glob("*.yaml"))
    assert len(scripts) >= MIN_TRANSCRIPTS, (
        f"flows/{flow.name} needs at least {MIN_TRANSCRIPTS} call transcripts under "
        f"tests/transcripts/{flow.stem}/ (has {len(scripts)})"
    )
    kinds = {
        run.record["outcome"]["kind"] for run in map(_cached_run, scripts) if run.record is not None
    }
    assert len(kinds) >= MIN_OUTCOME_KINDS, (
        f"the transcripts of flows/{flow.name} reach only {sorted(kinds)}: "
        f"cover at least {MIN_OUTCOME_KINDS} outcome kinds"
    )


if __name__ == "__main__":  # print transcripts without comparing
    for arg in sys.argv[1:]:
        try:
            sys.stdout.write(run_script(Path(arg).resolve()).text)
        except ScriptError as exc:
            sys.stdout.write(f"SCRIPT ERROR {exc}")
