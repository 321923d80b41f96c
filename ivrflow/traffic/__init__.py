"""`ivrflow traffic`: what a flow does to a contact center.

A caller model (`model`) drives a compiled walk of the flow (`walk`) that hands
calls to simulated agent queues (`queue`, Erlang-A with callbacks) in one event
loop (`center`); replications give means with confidence intervals (`results`).
`erlang` has the closed forms the simulation is checked against, `fit` builds a
caller model from call records, `html` draws the report. See docs/traffic.md.
"""

from __future__ import annotations

__all__: list[str] = []
