"""The runtime stage: one call through a compiled flow, sans-IO.

`session.Session` is the public face (events in, actions out; no clock, sleep, file or
socket of its own); `state` is the call as data (CallState, Phase, the rows a record is
made of). The interpreter is one module per concern, each returning typed `results` to the
trampoline in `interpreter`: `statements`, `collect` (input and its timing), `escalation`,
`services` (look-ups, transfers, callbacks), `endings`, `speaking`, `trace`. `events` and
`actions` are the vocabulary it speaks with drivers; `evaluate`, conditions and
assignments; `record`, the call record; `listener`, the tracing hooks; `snapshot`, a call
as JSON. Reads the model; never imports the compiler or anything above.
"""
