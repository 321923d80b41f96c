"""Enumerate the paths through a flow without a phone: `explore(flow)`.

The explorer drives `ivrflow.testing.Call` and forks it at every point where
the call waits for something (a fork copies the session's containers; with
`snapshots=True` it goes through `Session.to_dict`/`from_dict` instead, with a
key so secure captures survive — same tree, slower):

- the caller: each menu choice (its first key, or its first phrase when it has
  no key), an invalid key, a no-input; for captures the fixtures' look-up
  arguments the capture feeds, a valid entry generated from the length and the
  validation rules and an invalid one (a broken check, else too short, else
  empty); 1, 2 and an invalid key for yes/no questions; accept, decline and an
  invalid key for callback offers; and a hang-up (once per state and setup);
- the host: a look-up succeeds (the fixtures' result when one matches, else
  another of their results, else a stand-in built from what the flow reads) or
  fails (with each reason the flow tells apart, and one more); a queue reports
  the fixtures' wait or none; a transfer is answered or busy (or fails another
  way the transfer handles apart); a callback is stored or the store fails.

Host answers are decided once per path and kept (the same look-up arguments
always get the same answer, every transfer of a path the same result, a queue
the same wait), so each path can be written as a scenario file that
`ivrflow test` replays (`write_scenarios`).

ANI, DNIS, hours and A/B splits are explored over call setups: the fixtures'
example callers (or generated ones: a caller, a withheld one, one per list the
flow tests `ani`/`dnis` against) at office hours, at night, on a holiday and
with each hours' emergency switch on, and one seed per split branch. Each setup
is a root of the tree.

Two paths that reach the same call state share one subtree: the later one is a
"joined" leaf pointing at the node where it was explored. The call state is the
state and phase, the retry counters, the variables the rest of the call may
still read (`Liveness`), the answers of the hours questions the flow asks, and
the sticky transfer, store and queue answers — the clock aside.

Bounds: the depth (caller inputs per path), loop unrolling (the same state with
the same counters — retry counts and whole-number variables still read — at
most `max_loops` times per path), and `max_paths` (complete paths, then stop).

The package: `tree` (the data: setups, decisions, nodes, the `Exploration`), `search`
(`ExploreCall`, `Explorer`, `explore`), `inputs` (what the caller and the host try),
`liveness` and `exprs` (what the flow reads, which decides when two call states are the
same), `report` (text, JSON and scenario files) and `fmt` (small text helpers).
"""

from __future__ import annotations

from .fmt import _ordinal as _ordinal
from .inputs import _entry_steps as _entry_steps
from .inputs import _generic_result as _generic_result
from .inputs import accepts, default_setups, invalid_entry, valid_entry
from .liveness import ALWAYS_LIVE, Liveness
from .report import (
    as_json,
    node_line,
    outcome_text,
    render_text,
    scenario,
    scenario_file_name,
    scenario_text,
    summary_lines,
    write_scenarios,
)
from .search import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_LOOPS,
    KEYS,
    SNAPSHOT_KEY,
    ExploreCall,
    Explorer,
    explore,
)
from .search import _preorder as _preorder
from .tree import (
    DEPTH,
    ENDED,
    JOINED,
    LEAF_KINDS,
    LOOP,
    STOPPED,
    STUCK,
    Decisions,
    Exploration,
    LookupAnswer,
    Node,
    Option,
    Setup,
    SetupTree,
)

__all__ = [
    "ALWAYS_LIVE",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_LOOPS",
    "DEPTH",
    "ENDED",
    "JOINED",
    "KEYS",
    "LEAF_KINDS",
    "LOOP",
    "SNAPSHOT_KEY",
    "STOPPED",
    "STUCK",
    "Decisions",
    "Exploration",
    "ExploreCall",
    "Explorer",
    "Liveness",
    "LookupAnswer",
    "Node",
    "Option",
    "Setup",
    "SetupTree",
    "accepts",
    "as_json",
    "default_setups",
    "explore",
    "invalid_entry",
    "node_line",
    "outcome_text",
    "render_text",
    "scenario",
    "scenario_file_name",
    "scenario_text",
    "summary_lines",
    "valid_entry",
    "write_scenarios",
]
