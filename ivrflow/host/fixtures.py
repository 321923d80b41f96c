"""Fixtures: the answers a simulated host gives a flow (look-ups, queues, callers).

The simulator, scenario tests and the path explorer share this file format
(documented in docs/testing.md, "Fixtures"):

    calls:   {vip: {ani: "+5511987654321", dnis: "+551130030001"}}
    lookups: {fetch_account: [{when: {contract: "79927398713"}, result: {...}},
                              {error: "not found"}]}
    queues:  {billing: {ewt: 300, position: 4}}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import IvrflowError, LookupFailure, did_you_mean
from ..model import Flow


class FixtureError(IvrflowError):
    """A fixture file that cannot be used: unreadable, not YAML, wrong shape."""


@dataclass(frozen=True, slots=True)
class Rule:
    when: Mapping[str, str]
    result: Any = None
    error: str | None = None


@dataclass
class Fixtures:
    lookups: dict[str, list[Rule]] = field(default_factory=dict)
    queues: dict[str, tuple[float | None, int | None]] = field(default_factory=dict)
    calls: dict[str, dict[str, str]] = field(default_factory=dict)

    def answer(self, function: str, params: tuple[str, ...], args: tuple[Any, ...]) -> Any:
        """The result of a look-up, or raise `LookupFailure` (an `error:` rule, no rule)."""
        given = {p: "" if a is None else str(a) for p, a in zip(params, args, strict=False)}
        for rule in self.lookups.get(function, ()):
            if all(given.get(k) == v for k, v in rule.when.items()):
                if rule.error is not None:
                    raise LookupFailure(rule.error)
                return rule.result
        raise LookupFailure("no fixture")

    def function(self, flow: Flow, name: str) -> Callable[..., Any]:
        params = flow.functions[name].params if name in flow.functions else ()

        def call(*args: Any) -> Any:
            return self.answer(name, params, args)

        call.__name__ = name
        return call

    def queue_status(self, queue: str) -> tuple[float | None, int | None]:
        return self.queues.get(queue, (None, None))


def parse_queue_option(text: str) -> tuple[str, tuple[float | None, int | None]]:
    """`billing:ewt=300,position=4` → ("billing", (300.0, 4))."""
    name, _, rest = text.partition(":")
    values: dict[str, str] = {}
    for part in filter(None, rest.split(",")):
        key, _, value = part.partition("=")
        values[key.strip()] = value.strip()
    try:
        ewt = float(values["ewt"]) if "ewt" in values else None
        position = int(values["position"]) if "position" in values else None
    except ValueError:
        raise FixtureError(f"bad queue status '{text}': write billing:ewt=300,position=4") from None
    if not name.strip() or set(values) - {"ewt", "position"}:
        raise FixtureError(f"bad queue status '{text}': write billing:ewt=300,position=4")
    return name.strip(), (ewt, position)


SECTIONS = ("calls", "lookups", "queues")


def load(path: str | Path) -> Fixtures:
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        root = yaml.compose(text)
        data = yaml.safe_load(text) or {}
    except OSError as exc:
        raise FixtureError(f"cannot read fixtures '{p}': {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise FixtureError(f"{p}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return from_dict(data, str(p), _positions(root))


def _positions(root: Any) -> dict[str, tuple[int, int]]:
    """'section' and 'section.name' → (line, column) of that key, 1-based."""
    import yaml

    out: dict[str, tuple[int, int]] = {}
    if not isinstance(root, yaml.MappingNode):
        return out
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode):
            out[str(key.value)] = (key.start_mark.line + 1, key.start_mark.column + 1)
            if isinstance(value, yaml.MappingNode):
                for sub, _ in value.value:
                    if isinstance(sub, yaml.ScalarNode):
                        where = (sub.start_mark.line + 1, sub.start_mark.column + 1)
                        out[f"{key.value}.{sub.value}"] = where
    return out


def from_dict(
    data: Any, source: str = "fixtures", positions: Mapping[str, tuple[int, int]] | None = None
) -> Fixtures:
    """Fixtures from parsed YAML; `positions` (from `load`) put a line on each error."""
    where = positions or {}

    def at(key: str) -> str:
        line_col = where.get(key)
        return f"{source}:{line_col[0]}:{line_col[1]}" if line_col else source

    if not isinstance(data, dict):
        raise FixtureError(f"{source}: expected a mapping with {', '.join(SECTIONS)}")
    unknown = sorted(set(map(str, data)) - set(SECTIONS))
    if unknown:
        name = unknown[0]
        guess = did_you_mean(name, SECTIONS)
        raise FixtureError(
            f"{at(name)}: unknown section '{name}'"
            + (f" ({guess})" if guess else "")
            + f"; the sections are: {', '.join(SECTIONS)}"
        )
    fx = Fixtures()
    for function, rules in (data.get("lookups") or {}).items():
        if not isinstance(rules, list):
            raise FixtureError(
                f"{at(f'lookups.{function}')}: lookups.{function} must be a list of rules"
            )
        for n, rule in enumerate(rules):
            if not isinstance(rule, dict) or ("result" in rule) == ("error" in rule):
                raise FixtureError(
                    f"{at(f'lookups.{function}')}: lookups.{function}[{n}] needs either result: or error:"
                )
            when = {str(k): str(v) for k, v in (rule.get("when") or {}).items()}
            fx.lookups.setdefault(str(function), []).append(
                Rule(when, rule.get("result"), str(rule["error"]) if "error" in rule else None)
            )
    for queue, status in (data.get("queues") or {}).items():
        if not isinstance(status, dict):
            raise FixtureError(
                f"{at(f'queues.{queue}')}: queues.{queue} must be like {{ewt: 300, position: 4}}"
            )
        ewt, position = status.get("ewt"), status.get("position")
        fx.queues[str(queue)] = (
            float(ewt) if ewt is not None else None,
            int(position) if position is not None else None,
        )
    for name, call in (data.get("calls") or {}).items():
        if not isinstance(call, dict):
            raise FixtureError(
                f"{at(f'calls.{name}')}: calls.{name} must be like {{ani: …, dnis: …}}"
            )
        fx.calls[str(name)] = {str(k): str(v) for k, v in call.items()}
    return fx


def for_flow(flow: Flow) -> Fixtures:
    """The fixtures beside a flow (`flows/fixtures/<name>.yaml`), or none."""
    path = Path(flow.path).parent / "fixtures" / f"{Path(flow.path).stem}.yaml"
    return load(path) if path.is_file() else Fixtures()


def install(engine: Any, flow: Flow, fixtures: Fixtures) -> None:
    """Register every function the flow declares, answered from the fixtures."""
    for name in flow.functions:
        engine.functions[name] = _in_loop(fixtures.function(flow, name))
    engine.queue_status = _in_loop(fixtures.queue_status)


def _in_loop(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A coroutine function, so the engine answers it on the event loop: a fixture is a dict
    look-up, and a worker thread would only add a GIL hand-over (milliseconds under load)."""

    async def answer(*args: Any) -> Any:
        return fn(*args)

    answer.__name__ = fn.__name__
    return answer


__all__ = [
    "FixtureError",
    "Fixtures",
    "LookupFailure",
    "Rule",
    "SECTIONS",
    "for_flow",
    "from_dict",
    "install",
    "load",
    "parse_queue_option",
]
