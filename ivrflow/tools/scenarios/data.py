"""What a scenario file holds once loaded, and what playing it gives back.

`Scenario` (its steps and expectations, each with the position it was written at) is what
the loader builds and the runner plays; `ScenarioResult` and its `Failure` are what the
runner hands to `ivrflow test`, the pytest plugin and the fuzzer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import IvrflowError
from ...runtime.record import Listener

if TYPE_CHECKING:
    from ...host.fixtures import Fixtures
    from ...model import Flow
    from ..testing import Call, Line

CALLER_STEPS = ("press", "say", "record", "wait", "hangup")
EXPECT_STEPS = ("expect_say", "expect_say_regex", "expect_play", "expect_state", "expect_var")
STEP_NAMES = CALLER_STEPS + EXPECT_STEPS
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
        from ..testing import Call

        call = Call(self.flow, fixtures=self.fixtures, **self.options)
        call.session.listeners = tuple(listeners)
        return call


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


__all__ = [
    "CALLER_STEPS",
    "EXPECT_STEPS",
    "STEP_NAMES",
    "Expectation",
    "Failure",
    "Position",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "Step",
]
