"""pytest plugin: drive ivrflow flows from your own tests, like a caller.

Installed with ivrflow (entry point `pytest11`, name `ivrflow`), so the
fixtures are there in any project that has ivrflow installed; without the
entry point, enable it with `pytest -p ivrflow.tools.pytest_plugin`.

`ivrflow_call` — a factory of started `ivrflow.testing.Call`s. It takes the
flow's path and `Call`'s options (`ani`, `dnis`, `at`, `emergency`,
`variables`, `transfer_result`, `callback_store`, `seed`), plus `caller=`
(a named caller of the fixtures) and `fixtures=` (a file path or a
`Fixtures`). Flows compile once per test session::

    def test_balance(ivrflow_call):
        call = ivrflow_call("flows/billing.ivr", ani="+5511912345678",
                            at="2026-11-24T10:00:00-03:00")
        call.press("2")                     # or call.step("2"), the simulator's script words
        call.press("79927398713#")
        call.press("1")
        assert "R$ 152,30" in call.said()
        assert call.state == "balance_menu"
        call.hangup()
        assert call.outcome["kind"] == "abandoned"

    def test_closed_on_christmas(ivrflow_call):
        call = ivrflow_call("flows/billing.ivr", caller="vip", at="2026-12-25T10:00:00-03:00")
        for line in ("0", "1"):
            call.step(line)
        assert call.outcome["kind"] == "callback_scheduled"

`ivrflow_scenario` — runs a scenario YAML file (the `ivrflow test` format) as
part of a test; a failing expectation fails the test with the same report
`ivrflow test` prints (the step, expected vs actual, the transcript)::

    def test_balance_scenario(ivrflow_scenario):
        result = ivrflow_scenario("flows/tests/scenarios/billing-balance.yaml")
        assert result.call.record["noinput"] == 0

    @pytest.mark.parametrize("path", scenario_files("flows/tests/scenarios"))
    def test_every_scenario(path):
        run_scenario(path)                  # the same without the fixture

And scenario files can be collected as tests of their own: list glob patterns
(relative to the rootdir) in the ini option `ivrflow_scenarios`::

    [tool.pytest.ini_options]
    ivrflow_scenarios = ["flows/tests/scenarios/*.yaml"]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .scenarios import ScenarioError, ScenarioResult, find, load, run

_flows: dict[str, Any] = {}


def _flow(path: str | Path) -> Any:
    from ..compiler import load as load_flow

    key = str(Path(path).resolve())
    if key not in _flows:
        _flows[key] = load_flow(path)
    return _flows[key]


def start_call(flow_path: str | Path, **options: Any) -> Any:
    """A started `Call` on the flow at `flow_path` (see the module docstring)."""
    from ..host import fixtures as fx
    from .testing import Call

    flow = _flow(flow_path)
    fixtures = options.pop("fixtures", None)
    if isinstance(fixtures, str | Path):
        fixtures = fx.load(fixtures)
    if fixtures is None:
        fixtures = fx.for_flow(flow)
    caller = options.pop("caller", None)
    if caller is not None:
        if caller not in fixtures.calls:
            known = ", ".join(sorted(fixtures.calls)) or "none"
            raise KeyError(f"no caller '{caller}' in the fixtures (known: {known})")
        for key in ("ani", "dnis"):
            if key in fixtures.calls[caller]:
                options.setdefault(key, fixtures.calls[caller][key])
    call = Call(flow, fixtures=fixtures, **options)
    call.start()
    return call


def run_scenario(path: str | Path) -> ScenarioResult:
    """Run a scenario file; fail the current test with its report unless it passes."""
    try:
        scenario = load(path)
    except ScenarioError as exc:
        pytest.fail(str(exc), pytrace=False)
    result = run(scenario)
    if not result.passed:
        pytest.fail(f"{result.path}  {result.name}\n{result.details()}", pytrace=False)
    return result


def scenario_files(*paths: str | Path) -> list[Any]:
    """`pytest.param`s (id: the file's stem) for every scenario under `paths`."""
    out = []
    for p in paths:
        for f in find(p):
            out.append(pytest.param(f, id=Path(f).stem))
    return out


@pytest.fixture
def ivrflow_call() -> Callable[..., Any]:
    """`ivrflow_call(flow_path, **options) -> Call`, started."""
    return start_call


@pytest.fixture
def ivrflow_scenario() -> Callable[[str | Path], ScenarioResult]:
    """`ivrflow_scenario(path) -> ScenarioResult`; fails the test when the scenario fails."""
    return run_scenario


# ---------------------------------------------------------------- scenario files as tests


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "ivrflow_scenarios",
        "glob patterns (from the rootdir) of ivrflow scenario files to collect as tests",
        type="linelist",
        default=[],
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    patterns = parent.config.getini("ivrflow_scenarios")
    if not patterns:
        return None
    root = parent.config.rootpath
    try:
        rel = file_path.relative_to(root)
    except ValueError:
        return None
    import fnmatch

    if any(fnmatch.fnmatch(rel.as_posix(), p.strip()) for p in patterns):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield ScenarioItem.from_parent(self, name=self.path.stem)


class ScenarioItem(pytest.Item):
    def runtest(self) -> None:
        try:
            scenario = load(self._display())
        except ScenarioError as exc:
            raise ScenarioFailed(str(exc)) from None
        result = run(scenario)
        if not result.passed:
            raise ScenarioFailed(f"{result.name}\n{result.details()}")

    def _display(self) -> str:
        from ..lang.sources import display_path

        return display_path(self.path, absolute=True)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.name}"


class ScenarioFailed(Exception):
    """A scenario file that failed or could not load (reported without a traceback)."""


__all__ = [
    "ScenarioFailed",
    "ivrflow_call",
    "ivrflow_scenario",
    "run_scenario",
    "scenario_files",
    "start_call",
]
