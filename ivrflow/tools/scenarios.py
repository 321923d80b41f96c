"""Scenario tests: a call and its expectations in YAML, run with `ivrflow.testing.Call`.

The format (shared by `ivrflow test`, `ivrflow explore --emit-scenarios` and
the suites under flows/tests/scenarios/):

    flow: ../../billing.ivr                 # relative to the scenario file
    name: regular caller hears the balance  # optional; default: the file's stem
    call:                                   # all optional
      ani: "+5511912345678"                 # or `caller: vip` (from the fixtures' calls)
      dnis: "+551130030001"
      at: "2026-11-24T10:00:00-03:00"       # with a UTC offset
      emergency: [office]
      fixtures: ../../fixtures/billing.yaml # default: the flow's fixtures file, if any
      lookups: {fetch_account: [{result: {balance: 10, status: "ok"}}]}  # rules per function
      queues: {billing: {ewt: 300, position: 4}}
      transfer: answered                    # answered | queued | busy | noanswer | full | failed
      callback_store: memory                # memory | fail
      seed: 0
    steps:                                  # caller actions and expectations, in order
      - expect_say: "Para segunda via"      # a substring of what the IVR said since the
      - expect_say_regex: "saldo .* R\\$"   #   previous caller action
      - expect_state: main_menu
      - press: "2"
      - say: "segunda via"                  # or {text: "…", confidence: 0.4}
      - wait                                # the timeout passes (no-input)
      - expect_var: {account: "79927398713"}  # secure variables compare as "****"
      - hangup
    expect:                                 # checked when the steps are done
      outcome: self_served                  # self_served | transferred | callback_scheduled |
      reason: self_service                  #   abandoned | error; reason/queue/number: details
      queue: billing
      callback: true                        # a callback request was stored
      ended: true                           # default true
      record: {noinput: 1, nomatch: 0}      # top-level call record fields

`load(path)` reads and checks a file against its flow, raising `ScenarioError`
with every problem as `path:line:col: error: message`; `run(scenario)` plays it
and returns a `ScenarioResult` (the first failing expectation stops the call).
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IvrflowError, did_you_mean
from ..model.walk import bodies
from ..runtime.record import OUTCOMES, Listener

if TYPE_CHECKING:
    import yaml

    from ..compiler import Result
    from ..host.fixtures import Fixtures
    from ..model import Flow
    from .testing import Call, Line

CALLER_STEPS = ("press", "say", "wait", "hangup")
EXPECT_STEPS = ("expect_say", "expect_say_regex", "expect_state", "expect_var")
STEP_NAMES = CALLER_STEPS + EXPECT_STEPS
TOP_KEYS = ("flow", "name", "call", "steps", "expect")
CALL_KEYS = (
    "ani", "caller", "dnis", "at", "emergency", "fixtures", "lookups", "queues", "transfer",
    "callback_store", "seed",
)  # fmt: skip
EXPECT_KEYS = ("outcome", "reason", "queue", "number", "callback", "ended", "record")
TRANSFER_RESULTS = ("answered", "queued", "busy", "noanswer", "full", "failed")
CALLBACK_STORES = ("memory", "fail")
RECORD_FIELDS = (
    "call_id", "flow", "flow_version", "flow_hash", "ani", "dnis", "language", "started_at",
    "ended_at", "duration", "outcome", "path", "inputs", "lookups", "noinput", "nomatch", "errors",
)  # fmt: skip
TRANSCRIPT_LIMIT = 60  # transcript lines shown with a failure (the last ones)


class ScenarioError(IvrflowError):
    """A scenario file that cannot run; `messages` are `path:line:col: error: …` lines."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = tuple(messages)
        super().__init__("\n".join(self.messages))


@dataclass(frozen=True, slots=True)
class Position:
    path: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    @property
    def short(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Step:
    """One caller action or expectation, where it is written and its (checked) value."""

    kind: str  # one of STEP_NAMES
    value: Any  # press/say: str; say: (text, confidence); expect_var: dict; regex: Pattern
    where: Position
    source: str  # as written, for messages: `press: "2"`

    def __str__(self) -> str:
        return self.source


@dataclass(frozen=True, slots=True)
class Expectation:
    key: str  # one of EXPECT_KEYS, or "record.<field>"
    value: Any
    where: Position


@dataclass
class Scenario:
    path: str  # as given (relative to cwd when found under a directory argument)
    name: str
    flow: Flow
    flow_path: str  # the flow file, relative to cwd when below it
    fixtures: Fixtures
    options: dict[str, Any]  # keyword arguments of testing.Call
    steps: list[Step]
    expect: list[Expectation]
    ended: bool = True  # expect.ended

    def new_call(self, listeners: Iterable[Listener] = ()) -> Call:
        """A fresh, not yet started call with the scenario's settings."""
        from .testing import Call

        call = Call(self.flow, fixtures=self.fixtures, **self.options)
        call.session.listeners = tuple(listeners)
        return call


# ---------------------------------------------------------------- results


@dataclass
class Failure:
    """The first expectation that did not hold."""

    step: str  # `expect_say: "saldo"`, or `expect.outcome`
    where: Position | None
    message: str  # expected vs actual, one or more lines
    diff: list[str] = field(default_factory=list)
    transcript: list[Line] = field(default_factory=list)

    def lines(self) -> list[str]:
        at = f" ({self.where.short})" if self.where else ""
        out = [f"{self.step}{at}"]
        out += [f"  {m}" for m in self.message.splitlines()]
        out += [f"  {d}" for d in self.diff]
        if self.transcript:
            out.append("  transcript:")
            shown = self.transcript[-TRANSCRIPT_LIMIT:]
            if len(shown) < len(self.transcript):
                out.append(f"    … {len(self.transcript) - len(shown)} earlier lines")
            out += [f"    {line}" for line in shown]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass
class ScenarioResult:
    path: str
    name: str
    failure: Failure | None = None
    errors: tuple[str, ...] = ()  # the scenario file could not be loaded
    call: Call | None = None
    flow_path: str | None = None
    seconds: float = 0.0  # wall-clock time the run took (the call's own time is virtual)

    @property
    def passed(self) -> bool:
        return self.failure is None and not self.errors

    @property
    def transcript(self) -> list[Line]:
        return list(self.call.transcript) if self.call is not None else []

    def details(self) -> str:
        if self.errors:
            return "\n".join(self.errors)
        return str(self.failure) if self.failure else ""


# ---------------------------------------------------------------- loading


_flow_cache: dict[tuple[str, str, int], Result] = {}


def compile_flow(path: Path) -> Result:
    """Compile a flow once per run (cached by working directory, path and modification time:
    the flow keeps the path it was compiled with, relative to the working directory)."""
    from ..compiler import compile_file

    key = (os.getcwd(), str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _flow_cache:
        _flow_cache[key] = compile_file(display_path(path))
    return _flow_cache[key]


def display_path(path: str | Path) -> str:
    """`path` relative to the working directory when it is below it, else absolute."""
    p = Path(os.path.normpath(Path(path).absolute()))
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


class _Loader:
    """Reads one scenario file, collecting every problem with its position."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.errors: list[_Problem] = []
        self.flow: Flow | None = None

    # -- helpers
    def pos(self, node: yaml.Node) -> Position:
        return Position(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def error(self, node: yaml.Node | None, message: str, hint: str | None = None) -> None:
        if node is None:
            self.errors.append(_Problem(1, 1, 0, message, hint))
            return
        start, end = node.start_mark, node.end_mark
        width = end.column - start.column if end.line == start.line else 0
        self.errors.append(_Problem(start.line + 1, start.column + 1, width, message, hint))

    def value(self, node: yaml.Node) -> Any:
        """The plain Python value of a node (YAML's safe types)."""
        import yaml

        loader = yaml.SafeLoader("")
        try:
            return loader.construct_object(node, deep=True)
        finally:
            loader.dispose()

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping")
            return []
        out: list[tuple[yaml.ScalarNode, yaml.Node]] = []
        seen: set[str] = set()
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                self.error(k, f"{what}: keys must be plain names")
                continue
            if k.value in seen:
                self.error(k, f"{what}: '{k.value}' is given twice")
                continue
            seen.add(k.value)
            out.append((k, v))
        return out

    def unknown(self, key: yaml.Node, what: str, known: Iterable[str]) -> None:
        name = str(key.value)
        self.error(key, f"unknown {what} '{name}'", did_you_mean(name, known))

    def string(self, node: yaml.Node, what: str) -> str | None:
        """A scalar as written (so `press: 0123` stays "0123"), or an error."""
        import yaml

        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
            if node.value == "" and node.style is None:
                self.error(node, f"{what} needs a value")
                return None
            return str(node.value)
        self.error(node, f"{what} must be a text")
        return None

    def choice(self, node: yaml.Node, what: str, allowed: Sequence[str]) -> str | None:
        text = self.string(node, what)
        if text is not None and text not in allowed:
            hint = did_you_mean(text, allowed) or "one of: " + ", ".join(allowed)
            self.error(node, f"{what} '{text}' is not valid", hint)
            return None
        return text

    def relative(self, node: yaml.Node, what: str) -> Path | None:
        text = self.string(node, what)
        if text is None:
            return None
        p = Path(text)
        return p if p.is_absolute() else Path(self.path).parent / p

    # -- the document
    def load(self) -> Scenario | None:
        import yaml

        try:
            root = yaml.compose(self.text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
            if context and cmark is not None and cmark is not mark:
                if "end of stream" in problem:  # point at what was left open, not at the end
                    what = context.removeprefix("while scanning ").removeprefix("while parsing ")
                    mark, problem = cmark, f"{what} that is never closed"
                else:
                    problem += f", {context} at {cmark.line + 1}:{cmark.column + 1}"
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self.errors.append(_Problem(line, col, 1, f"not valid YAML: {problem}"))
            return None
        if root is None:
            self.errors.append(
                _Problem(1, 1, 0, "the scenario file is empty; it needs flow: and steps:")
            )
            return None
        top = dict((k.value, (k, v)) for k, v in self.mapping(root, "a scenario"))
        if not isinstance(root, yaml.MappingNode):
            return None
        for key, _ in top.values():
            if key.value not in TOP_KEYS:
                self.unknown(key, "key", TOP_KEYS)
        if "flow" not in top:
            self.error(root, "the scenario has no flow: (the .ivr file it tests)")
            return None
        flow_key, flow_node = top["flow"]
        flow_file = self.relative(flow_node, "flow")
        if flow_file is None:
            return None
        if not flow_file.is_file():
            self.error(
                flow_node,
                f"flow file '{flow_node.value}' not found (looked at {display_path(flow_file)})",
            )
            return None
        result = compile_flow(flow_file)
        if result.flow is None or result.errors:
            from ..errors import render

            where = f"{self.pos(flow_node)}: error: "
            if result.flow is None and not result.errors:
                self.error(flow_node, f"'{flow_node.value}' is a module, not a flow")
                return None
            rendered = [render(d, result.sources.get(d.path)) for d in result.errors]
            raise _FlowFailed(
                [where + f"flow '{flow_node.value}' does not compile:", *rendered],
            )
        flow = self.flow = result.flow
        name = Path(self.path).stem
        if "name" in top:
            name = self.string(top["name"][1], "name") or name
        fixtures, options = self.call(top.get("call", (None, None))[1], flow, flow_file)
        steps = self.steps(top["steps"][1]) if "steps" in top else []
        if "steps" not in top:
            self.error(root, "the scenario has no steps:")
        expect, ended = self.expect(top["expect"][1]) if "expect" in top else ([], True)
        if fixtures is None or self.errors:
            return None
        return Scenario(
            self.path,
            name,
            flow,
            display_path(flow_file),
            fixtures,
            options,
            steps,
            expect,
            ended,
        )

    def call(
        self, node: yaml.Node | None, flow: Flow, flow_file: Path
    ) -> tuple[Fixtures | None, dict[str, Any]]:
        from ..host import fixtures as fx
        from .testing import epoch

        options: dict[str, Any] = {}
        items = dict((k.value, (k, v)) for k, v in self.mapping(node, "call")) if node else {}
        for key, _ in items.values():
            if key.value not in CALL_KEYS:
                self.unknown(key, "call setting", CALL_KEYS)
        # fixtures first: `caller` reads them
        fixtures: Fixtures | None
        try:
            if "fixtures" in items:
                fnode = items["fixtures"][1]
                ffile = self.relative(fnode, "fixtures")
                if ffile is None:
                    fixtures = fx.Fixtures()
                elif not ffile.is_file():
                    self.error(
                        fnode,
                        f"fixtures file '{fnode.value}' not found (looked at {display_path(ffile)})",
                    )
                    fixtures = fx.Fixtures()
                else:
                    fixtures = fx.load(ffile)
            else:
                fixtures = fx.for_flow(flow)
        except fx.FixtureError as exc:
            self.error(items["fixtures"][1] if "fixtures" in items else node, str(exc))
            fixtures = fx.Fixtures()
        fixtures = fx.Fixtures(
            {k: list(v) for k, v in fixtures.lookups.items()},
            dict(fixtures.queues),
            {k: dict(v) for k, v in fixtures.calls.items()},
        )
        if "caller" in items:
            cnode = items["caller"][1]
            caller = self.string(cnode, "caller")
            if caller is not None:
                if caller in fixtures.calls:
                    known = fixtures.calls[caller]
                    if "ani" in known:
                        options["ani"] = known["ani"]
                    if "dnis" in known:
                        options["dnis"] = known["dnis"]
                else:
                    have = ", ".join(sorted(fixtures.calls)) or "none"
                    self.error(
                        cnode,
                        f"unknown caller '{caller}' (the fixtures' calls: {have})",
                        did_you_mean(caller, fixtures.calls),
                    )
        for number in ("ani", "dnis"):
            if number in items:
                v = items[number][1]
                value = self.value(v)
                if value is not None and not isinstance(value, str | int):
                    self.error(v, f"{number} must be a phone number in quotes")
                else:
                    options[number] = None if value is None else str(v.value)
        if "at" in items:
            anode = items["at"][1]
            text = self.string(anode, "at")
            if text is not None:
                try:
                    options["at"] = epoch(text)
                except ValueError as exc:
                    msg = str(exc)
                    if "offset" not in msg:
                        msg = f"'{text}' is not a time like 2026-12-25T10:00:00-03:00"
                    self.error(anode, msg)
        if "emergency" in items:
            enode = items["emergency"][1]
            value = self.value(enode)
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                self.error(enode, "emergency must be a list of hours names, like [office]")
            else:
                for n in names:
                    if n not in flow.hours:
                        self.error(
                            enode,
                            f"emergency: the flow has no hours '{n}'",
                            did_you_mean(n, flow.hours),
                        )
                options["emergency"] = list(names)
        if "lookups" in items:
            for fkey, rules in self.mapping(items["lookups"][1], "lookups"):
                if fkey.value not in flow.functions:
                    self.error(
                        fkey,
                        f"the flow declares no function '{fkey.value}'",
                        did_you_mean(fkey.value, flow.functions),
                    )
                    continue
                data = self.value(rules)
                if isinstance(data, dict):  # a single rule
                    data = [data]
                try:
                    parsed = fx.from_dict({"lookups": {fkey.value: data}}, "lookups")
                except fx.FixtureError as exc:
                    self.error(rules, str(exc).removeprefix("lookups: "))
                    continue
                fixtures.lookups[fkey.value] = parsed.lookups.get(fkey.value, [])
        if "queues" in items:
            for qkey, status in self.mapping(items["queues"][1], "queues"):
                if qkey.value not in flow.queues:
                    self.error(
                        qkey,
                        f"the flow declares no queue '{qkey.value}'",
                        did_you_mean(qkey.value, flow.queues),
                    )
                    continue
                try:
                    parsed = fx.from_dict({"queues": {qkey.value: self.value(status)}}, "queues")
                    fixtures.queues[qkey.value] = parsed.queues[qkey.value]
                except (fx.FixtureError, TypeError, ValueError) as exc:
                    msg = str(exc) if isinstance(exc, fx.FixtureError) else "not a number"
                    self.error(status, f"queue status: {msg.removeprefix('queues: ')}")
        if "transfer" in items:
            t = self.choice(items["transfer"][1], "transfer", TRANSFER_RESULTS)
            if t is not None:
                options["transfer_result"] = t
        if "callback_store" in items:
            c = self.choice(items["callback_store"][1], "callback_store", CALLBACK_STORES)
            if c is not None:
                options["callback_store"] = c
        if "seed" in items:
            snode = items["seed"][1]
            seed = self.value(snode)
            if not isinstance(seed, int) or isinstance(seed, bool):
                self.error(snode, "seed must be a whole number")
            else:
                options["seed"] = seed
        return fixtures, options

    def steps(self, node: yaml.Node) -> list[Step]:
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            self.error(node, "steps must be a list (each item starts with '- ')")
            return []
        out: list[Step] = []
        for item in node.value:
            step = self.step(item)
            if step is not None:
                out.append(step)
        return out

    def step(self, item: yaml.Node) -> Step | None:
        import yaml

        if isinstance(item, yaml.ScalarNode):
            name, knode, vnode = str(item.value), item, None
        elif isinstance(item, yaml.MappingNode) and len(item.value) == 1:
            knode, vnode = item.value[0]
            name = str(knode.value) if isinstance(knode, yaml.ScalarNode) else ""
        else:
            self.error(item, 'a step is one `name: value` pair, like `press: "1"`, or wait/hangup')
            return None
        where = self.pos(knode)
        if name not in STEP_NAMES:
            self.unknown(knode, "step", STEP_NAMES)
            return None
        source = name if vnode is None else f"{name}: {_excerpt(self.text, vnode)}"
        if name in ("wait", "hangup"):
            if vnode is not None and self.value(vnode) is not None:
                self.error(vnode, f"{name} takes no value: write `- {name}`")
                return None
            return Step(name, None, where, name)
        if vnode is None:
            self.error(item, f"{name} needs a value: `{name}: …`")
            return None
        assert self.flow is not None
        if name == "press":
            keys = self.string(vnode, "press")
            if keys is None:
                return None
            bad = sorted(set(keys) - set("0123456789*#"))
            if bad:
                self.error(
                    vnode, f"press: not phone keys: '{''.join(bad)}' (keys are 0-9, * and #)"
                )
                return None
            return Step(name, keys, where, source)
        if name == "say":
            return self.say_step(vnode, where, source)
        if name in ("expect_say", "expect_say_regex"):
            text = self.string(vnode, name)
            if text is None:
                return None
            if name == "expect_say":
                return Step(name, text, where, source)
            try:
                return Step(name, re.compile(text, re.MULTILINE), where, source)
            except re.error as exc:
                self.error(vnode, f"expect_say_regex: not a valid regular expression: {exc}")
                return None
        if name == "expect_state":
            state = self.string(vnode, "expect_state")
            if state is None:
                return None
            if state not in self.flow.states:
                self.error(
                    vnode,
                    f"the flow '{self.flow.name}' has no state '{state}'",
                    did_you_mean(state, self.flow.states),
                )
                return None
            return Step(name, state, where, source)
        # expect_var
        pairs = self.mapping(vnode, "expect_var")
        known = known_variables(self.flow)
        values: dict[str, Any] = {}
        for k, v in pairs:
            root = str(k.value).split(".")[0]
            if root not in known:
                self.error(
                    k,
                    f"the flow '{self.flow.name}' has no variable '{root}'",
                    did_you_mean(root, known),
                )
                continue
            values[str(k.value)] = self.value(v)
        if len(values) != len(pairs):
            return None
        if not values:
            self.error(vnode, "expect_var needs at least one `name: value`")
            return None
        return Step(name, values, where, source)

    def say_step(self, vnode: yaml.Node, where: Position, source: str) -> Step | None:
        import yaml

        if isinstance(vnode, yaml.MappingNode):
            text: str | None = None
            confidence = 1.0
            for k, v in self.mapping(vnode, "say"):
                if k.value == "text":
                    text = self.string(v, "say text")
                elif k.value == "confidence":
                    c = self.value(v)
                    if isinstance(c, bool) or not isinstance(c, int | float) or not 0 <= c <= 1:
                        self.error(v, "confidence must be a number from 0 to 1")
                        return None
                    confidence = float(c)
                else:
                    self.unknown(k, "say setting", ("text", "confidence"))
                    return None
            if text is None:
                self.error(vnode, 'say needs text: `say: {text: "segunda via", confidence: 0.4}`')
                return None
            return Step("say", (text, confidence), where, source)
        text = self.string(vnode, "say")
        return Step("say", (text, 1.0), where, source) if text is not None else None

    def expect(self, node: yaml.Node) -> tuple[list[Expectation], bool]:
        out: list[Expectation] = []
        ended = True
        for k, v in self.mapping(node, "expect"):
            key = str(k.value)
            if key not in EXPECT_KEYS:
                self.unknown(k, "expectation", EXPECT_KEYS)
                continue
            if key == "outcome":
                kind = self.choice(v, "outcome", OUTCOMES)
                if kind is not None:
                    out.append(Expectation(key, kind, self.pos(k)))
            elif key in ("callback", "ended"):
                flag = self.value(v)
                if not isinstance(flag, bool):
                    self.error(v, f"{key} must be true or false")
                    continue
                if key == "ended":
                    ended = flag
                out.append(Expectation(key, flag, self.pos(k)))
            elif key == "record":
                for rk, rv in self.mapping(v, "record"):
                    if rk.value not in RECORD_FIELDS:
                        self.unknown(rk, "record field", RECORD_FIELDS)
                        continue
                    out.append(Expectation(f"record.{rk.value}", self.value(rv), self.pos(rk)))
            else:  # reason, queue, number
                text = self.string(v, key)
                if text is not None:
                    if key == "queue" and self.flow and text not in self.flow.queues:
                        self.error(
                            v,
                            f"the flow declares no queue '{text}'",
                            did_you_mean(text, self.flow.queues),
                        )
                        continue
                    out.append(Expectation(key, text, self.pos(k)))
        return out, ended

    def messages(self) -> list[str]:
        lines = self.text.split("\n")
        return [p.render(self.path, lines) for p in sorted(self.errors)]


@dataclass(frozen=True, order=True, slots=True)
class _Problem:
    line: int
    column: int
    width: int  # characters to underline (0: one caret)
    message: str
    hint: str | None = None

    def render(self, path: str, lines: Sequence[str]) -> str:
        """`path:line:col: error: message`, the line, a caret under the column, a hint."""
        out = [f"{path}:{self.line}:{self.column}: error: {self.message}"]
        if 1 <= self.line <= len(lines):
            text = lines[self.line - 1].rstrip("\r").expandtabs(8)
            gutter = f"{self.line:>4} | "
            out.append(gutter + text)
            out.append(
                " " * (len(gutter) - 2) + "| " + " " * (self.column - 1) + "^" * max(1, self.width)
            )
        if self.hint:
            out.append(f"  = hint: {self.hint}")
        return "\n".join(out)


class _FlowFailed(Exception):
    def __init__(self, messages: list[str]) -> None:
        self.messages = messages


def _excerpt(text: str, node: yaml.Node) -> str:
    """The node's source text (first line, shortened)."""
    start, end = node.start_mark.index, node.end_mark.index
    raw = text[start:end].strip().splitlines()
    shown = raw[0] if raw else ""
    if len(raw) > 1:
        shown += " …"
    return shown if len(shown) <= 70 else shown[:69] + "…"


def known_variables(flow: Flow) -> set[str]:
    """Every variable a call of `flow` can have: built-ins, `var`s, set targets,
    capture variables and look-up results."""
    from .. import model
    from ..model.walk import walk

    names = set(model.BUILTIN_VARIABLES) | set(flow.variables)
    for state in flow.states.values():
        for body in bodies(state):
            for stmt in walk(body):
                if isinstance(stmt, model.Assign):
                    names.add(stmt.name)
        if isinstance(state, model.Capture):
            names.add(state.variable)
        elif isinstance(state, model.Lookup) and state.result:
            names.add(state.result)
    return names


def load(path: str | Path, text: str | None = None) -> Scenario:
    """Read and check a scenario file; `ScenarioError` lists every problem."""
    shown = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError([f"{shown}: error: cannot read: {exc.strerror or exc}"]) from None
        except UnicodeDecodeError:
            raise ScenarioError([f"{shown}: error: not UTF-8 text"]) from None
    loader = _Loader(shown, text)
    try:
        scenario = loader.load()
    except _FlowFailed as exc:
        raise ScenarioError(loader.messages() + exc.messages) from None
    if scenario is None or loader.errors:
        raise ScenarioError(loader.messages())
    return scenario


# ---------------------------------------------------------------- running


class _Stop(Exception):
    def __init__(self, failure: Failure) -> None:
        self.failure = failure


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else _yamlish(value)


def _yamlish(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return str(value).lower()
    return repr(value)


def _same(expected: Any, actual: Any) -> bool:
    """YAML values against call values: numbers by value, text as text, lists item by
    item, mappings by the keys the expectation names (others are ignored)."""
    if isinstance(expected, dict) and isinstance(actual, Mapping):  # the keys named must match
        return all(k in actual and _same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return abs(expected - actual) < 1e-9
    if isinstance(expected, dt.date | dt.time) and isinstance(actual, str):
        return expected.isoformat() == actual
    if isinstance(expected, str | int | float) and isinstance(actual, str | int | float):
        return str(expected) == str(actual)
    return bool(expected == actual)


_MISSING = object()


def _lookup_var(variables: Mapping[str, Any], dotted: str) -> Any:
    root, *attrs = dotted.split(".")
    value = variables.get(root, _MISSING)
    for a in attrs:
        if isinstance(value, Mapping) and a in value:
            value = value[a]
        else:
            return _MISSING
    return value


def say_diff(expected: str, said: str, regex: bool = False) -> list[str]:
    """A unified diff of the expected text against what the IVR said."""
    label = "expected (regex)" if regex else "expected"
    got = said.splitlines() or ["(nothing)"]
    return list(
        difflib.unified_diff(
            expected.splitlines() or [""], got, label, "said", lineterm="", n=len(got)
        )
    )


class Runner:
    """Plays one scenario on a `Call`, checking each expectation as it comes."""

    def __init__(self, scenario: Scenario, listeners: Iterable[Listener] = ()) -> None:
        self.scenario = scenario
        self.call = scenario.new_call(listeners)
        self.mark = 0  # transcript index of the last caller action

    def fail(self, step: Step | Expectation | None, label: str, message: str, **kw: Any) -> None:
        where = step.where if step is not None else None
        transcript = list(self.call.transcript)
        raise _Stop(Failure(label, where, message, transcript=transcript, **kw))

    def run(self) -> ScenarioResult:
        s = self.scenario
        result = ScenarioResult(s.path, s.name, call=self.call, flow_path=s.flow_path)
        try:
            self.call.start()
            for step in s.steps:
                self.step(step)
            self.finish()
        except _Stop as stop:
            result.failure = stop.failure
        except Exception as exc:  # a crash in the driver: report it, keep the run going
            import traceback

            tb = traceback.format_exc(limit=-3).rstrip().splitlines()
            result.failure = Failure(
                "(runner)",
                None,
                f"crashed: {type(exc).__name__}: {exc}",
                diff=tb,
                transcript=list(self.call.transcript),
            )
        return result

    def step(self, step: Step) -> None:
        call = self.call
        kind = step.kind
        if kind in CALLER_STEPS:
            if call.ended:
                self.fail(step, str(step), f"the call already ended ({_outcome(call)})")
            self.mark = len(call.transcript)
            if kind == "press":
                call.press(step.value)
            elif kind == "say":
                text, confidence = step.value
                call.say(text, confidence)
            elif kind == "wait":
                call.wait()
            else:
                call.hangup()
            return
        said = call.said(self.mark)
        if kind == "expect_say":
            if step.value not in said:
                self.fail(
                    step,
                    str(step),
                    "the IVR did not say it" + ("" if said else " (it said nothing)"),
                    diff=say_diff(step.value, said),
                )
        elif kind == "expect_say_regex":
            if not step.value.search(said):
                self.fail(
                    step,
                    str(step),
                    "nothing the IVR said matches" + ("" if said else " (it said nothing)"),
                    diff=say_diff(step.value.pattern, said, regex=True),
                )
        elif kind == "expect_state":
            if call.state != step.value:
                ended = f" (the call ended: {_outcome(call)})" if call.ended else ""
                self.fail(step, str(step), f"expected state {step.value}, got {call.state}{ended}")
        else:  # expect_var
            variables = call.variables()
            wrong = []
            for name, want in step.value.items():
                got = _lookup_var(variables, name)
                if got is _MISSING:
                    wrong.append(f"expected {name}: {_show(want)}, it has no value yet")
                elif not _same(want, got):
                    wrong.append(_expected_got(name, _show(want), _show(got)))
            if wrong:
                self.fail(step, str(step), "\n".join(wrong))

    def finish(self) -> None:
        call, s = self.call, self.scenario
        if s.ended and not call.ended:
            where = s.expect[0] if s.expect else None
            listening = " (it is waiting for input)" if call.listening else ""
            self.fail(
                where,
                "expect.ended",
                f"the call did not end: it is in state {call.state}{listening}; "
                "end the steps with hangup, or expect ended: false",
            )
        outcome = call.outcome or {}
        for e in s.expect:
            label = f"expect.{e.key}"
            if e.key == "ended":
                if call.ended != e.value:
                    self.fail(e, label, f"expected ended: {_yamlish(e.value)}, got {call.ended}")
            elif e.key == "outcome":
                if outcome.get("kind") != e.value:
                    self.fail(e, label, f"expected outcome {e.value}, got {_outcome(call)}")
            elif e.key in ("reason", "queue", "number"):
                got = outcome.get(e.key, _MISSING)
                if got is _MISSING or str(got) != e.value:
                    shown = "none" if got is _MISSING else _show(got)
                    self.fail(
                        e,
                        label,
                        f"expected {e.key} {e.value!r}, got {shown} ({_outcome(call)})",
                    )
            elif e.key == "callback":
                stored = bool(call.callbacks.pending())
                if stored != e.value:
                    what = "a callback to be stored" if e.value else "no callback stored"
                    self.fail(e, label, f"expected {what}, got {_callbacks(call)}")
            else:  # record.<field>
                name = e.key.split(".", 1)[1]
                record = call.record or {}
                got = record.get(name, _MISSING)
                if got is _MISSING or not _same(e.value, got):
                    shown = "nothing (the call has not ended)" if not record else _show(got)
                    self.fail(e, label, _expected_got(name, _show(e.value), shown))


def _expected_got(name: str, expected: str, got: str) -> str:
    if len(expected) + len(got) < 80:
        return f"expected {name}: {expected}, got {got}"
    return f"expected {name}:\n  {expected}\ngot:\n  {got}"


def _outcome(call: Call) -> str:
    o = call.outcome
    if not o:
        return "no outcome yet"
    details = " ".join(f"{k}={v}" for k, v in o.items() if k != "kind")
    return f"{o['kind']} {details}".strip()


def _callbacks(call: Call) -> str:
    n = len(call.callbacks.pending())
    return "none stored" if n == 0 else f"{n} stored"


def run(scenario: Scenario, listeners: Iterable[Listener] = ()) -> ScenarioResult:
    """Play a scenario; the result has the first failure, if any, and the call."""
    return Runner(scenario, listeners).run()


def run_file(
    path: str | Path,
    listeners: Iterable[Listener] = (),
    on_scenario: Callable[[Scenario], Iterable[Listener]] | None = None,
) -> ScenarioResult:
    """Load and play one file; load errors come back in `result.errors`."""
    import time

    began = time.perf_counter()
    try:
        scenario = load(path)
    except ScenarioError as exc:
        result = ScenarioResult(str(path), Path(path).stem, errors=exc.messages)
    else:
        extra = tuple(on_scenario(scenario)) if on_scenario else ()
        result = run(scenario, (*listeners, *extra))
    result.seconds = time.perf_counter() - began
    return result


# ---------------------------------------------------------------- finding files

_SKIP_DIRS = frozenset({"node_modules", "__pycache__"})


def find(path: str | Path) -> list[str]:
    """Scenario files for a command-line argument: the file itself, or, for a
    directory, every *.yaml below it — except that a directory holding .ivr
    files contributes its tests/scenarios/ only (not its fixtures or lists)."""
    p = Path(path)
    if not p.is_dir():
        return [str(p)]
    found: list[Path] = []

    def visit(d: Path) -> None:
        entries = sorted(d.iterdir())
        if any(e.suffix == ".ivr" and e.is_file() for e in entries):
            scen = d / "tests" / "scenarios"
            if scen.is_dir():
                found.extend(sorted(x for x in scen.rglob("*") if _is_yaml(x)))
            return
        for e in entries:
            if e.is_dir():
                if not e.name.startswith(".") and e.name not in _SKIP_DIRS:
                    visit(e)
            elif _is_yaml(e):
                found.append(e)

    visit(p)
    return [str(f) for f in found]


def _is_yaml(p: Path) -> bool:
    return p.suffix in (".yaml", ".yml") and p.is_file()


__all__ = [
    "Expectation",
    "Failure",
    "Position",
    "Runner",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "Step",
    "find",
    "known_variables",
    "load",
    "run",
    "run_file",
    "say_diff",
]
