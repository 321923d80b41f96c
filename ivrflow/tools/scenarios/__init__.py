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
      - expect_play: "audio/jingle.wav"     # a part of an audio file it played since then
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

The package, by concern: `data` (the scenario and its result), `nodes` (YAML read with
positions, problems rendered), `loader` (the file's sections checked against the flow),
`runner` (playing it) and `discovery` (which files an argument names).
"""

from __future__ import annotations

from .data import (
    CALLER_STEPS,
    EXPECT_STEPS,
    STEP_NAMES,
    Expectation,
    Failure,
    Position,
    Scenario,
    ScenarioError,
    ScenarioResult,
    Step,
)
from .discovery import find
from .loader import compile_flow, known_variables, load
from .runner import Runner, run, run_file, say_diff

__all__ = [
    "CALLER_STEPS",
    "EXPECT_STEPS",
    "STEP_NAMES",
    "Expectation",
    "Failure",
    "Position",
    "Runner",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "Step",
    "compile_flow",
    "find",
    "known_variables",
    "load",
    "run",
    "run_file",
    "say_diff",
]
