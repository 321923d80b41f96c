"""Reading a scenario file: what its sections mean, checked against the flow it names.

Each key, call setting, step and expectation is checked against the format and against
the flow (its states, variables, functions, queues and hours); every problem is collected
with its position (`nodes.NodeReader`) and all are reported at once. A flow that does not
compile is reported with its own diagnostics.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import did_you_mean
from ...lang.sources import display_path
from ...model.walk import bodies
from ...runtime.events import RECORDING_ENDS, TRANSFER_STATUSES
from ...runtime.record import OUTCOMES, TRANSFER_TARGETS
from .data import STEP_NAMES, Expectation, Position, Scenario, ScenarioError, Step
from .nodes import NodeReader, Problem, excerpt

if TYPE_CHECKING:
    import yaml

    from ...compiler import Result
    from ...host.fixtures import Fixtures
    from ...model import Flow

TOP_KEYS = ("flow", "name", "call", "steps", "expect")
CALL_KEYS = (
    "ani", "caller", "dnis", "at", "emergency", "fixtures", "lookups", "queues", "transfer",
    "callback_store", "recorder", "seed", "queue_wait", "queue_key",
)  # fmt: skip
EXPECT_KEYS = ("outcome", "reason", *TRANSFER_TARGETS, "callback", "ended", "record")
TRANSFER_RESULTS = TRANSFER_STATUSES
CALLBACK_STORES = ("memory", "fail")
RECORD_FIELDS = (
    "call_id", "flow", "flow_version", "flow_hash", "ani", "dnis", "language", "started_at",
    "ended_at", "duration", "outcome", "path", "inputs", "lookups", "noinput", "nomatch", "errors",
    "recordings",
)  # fmt: skip

_flow_cache: dict[tuple[str, str, int], Result] = {}


def compile_flow(path: Path) -> Result:
    """Compile a flow once per run (cached by working directory, path and modification time:
    the flow keeps the path it was compiled with, relative to the working directory)."""
    from ...compiler import compile_file

    key = (os.getcwd(), str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _flow_cache:
        _flow_cache[key] = compile_file(display_path(path, absolute=True))
    return _flow_cache[key]


class _Loader(NodeReader):
    """Reads one scenario file against its flow, collecting every problem with its position."""

    def __init__(self, path: str, text: str) -> None:
        super().__init__(path, text)
        self.flow: Flow | None = None

    # -- the document
    def load(self) -> Scenario | None:
        import yaml

        root = self.compose()
        if self.errors:
            return None
        if root is None:
            self.errors.append(
                Problem(1, 1, 0, "the scenario file is empty; it needs flow: and steps:")
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
                f"flow file '{flow_node.value}' not found (looked at {display_path(flow_file, absolute=True)})",
            )
            return None
        result = compile_flow(flow_file)
        if result.flow is None or result.errors:
            from ...errors import render

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
            display_path(flow_file, absolute=True),
            fixtures,
            options,
            steps,
            expect,
            ended,
        )

    def call(
        self, node: yaml.Node | None, flow: Flow, flow_file: Path
    ) -> tuple[Fixtures | None, dict[str, Any]]:
        from ...host import fixtures as fx
        from ..testing import epoch

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
                        f"fixtures file '{fnode.value}' not found (looked at {display_path(ffile, absolute=True)})",
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
        if "queue_wait" in items:
            wnode = items["queue_wait"][1]
            wait = self.value(wnode)
            if isinstance(wait, bool) or not isinstance(wait, int | float) or wait < 0:
                self.error(wnode, "queue_wait is the seconds the caller waits in the queue")
            else:
                options["queue_wait"] = float(wait)
        if "queue_key" in items:
            knode = items["queue_key"][1]
            pressed = str(self.value(knode))
            if len(pressed) != 1 or pressed not in "0123456789*#":
                self.error(knode, "queue_key is one key the caller presses while waiting")
            else:
                options["queue_key"] = pressed
        if "callback_store" in items:
            c = self.choice(items["callback_store"][1], "callback_store", CALLBACK_STORES)
            if c is not None:
                options["callback_store"] = c
        if "recorder" in items:
            r = self.choice(items["recorder"][1], "recorder", CALLBACK_STORES)
            if r is not None:
                options["recorder"] = r
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
        source = name if vnode is None else f"{name}: {excerpt(self.text, vnode)}"
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
        if name == "record":
            return self.record_step(vnode, where, source)
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
        if name == "expect_play":
            audio = self.string(vnode, name)
            return None if audio is None else Step(name, audio, where, source)
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

    def record_step(self, vnode: yaml.Node, where: Position, source: str) -> Step | None:
        """`record: "text"` (the message, ended with a finish key) or
        `record: {text: "…", ended_by: hangup}`: the text stands for the audio."""
        import yaml

        ended_by = "key"
        if isinstance(vnode, yaml.MappingNode):
            text: str | None = None
            for k, v in self.mapping(vnode, "record"):
                if k.value == "text":
                    text = self.string(v, "record text")
                elif k.value == "ended_by":
                    ended_by = self.choice(v, "ended_by", RECORDING_ENDS) or "key"
                else:
                    self.unknown(k, "record setting", ("text", "ended_by"))
                    return None
            if text is None:
                self.error(vnode, 'record needs text: `record: {text: "Maria, sobre a fatura"}`')
                return None
            return Step("record", (text, ended_by), where, source)
        text = self.string(vnode, "record")
        return Step("record", (text, ended_by), where, source) if text is not None else None

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


class _FlowFailed(Exception):
    def __init__(self, messages: list[str]) -> None:
        self.messages = messages


def known_variables(flow: Flow) -> set[str]:
    """Every variable a call of `flow` can have: built-ins, `var`s, set targets,
    capture variables, menus' `into` and look-up results."""
    from ... import model
    from ...model.walk import walk

    names = set(model.BUILTIN_VARIABLES) | set(flow.variables)
    for state in flow.states.values():
        for body in bodies(state):
            for stmt in walk(body):
                if isinstance(stmt, model.Assign):
                    names.add(stmt.name)
        if isinstance(state, model.Capture):
            names.add(state.variable)
        elif isinstance(state, model.Menu) and state.into:  # `into ext`: the keys of the choice
            names.add(state.into)
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


__all__ = ["compile_flow", "known_variables", "load"]
