"""The runtime stage: one call through a compiled flow, sans-IO.

`Session` (events in, actions out; no clock, sleep, file or socket of its own) and what it
delegates to; `events` and `actions`, the vocabulary it speaks with drivers; `evaluate`,
conditions and assignments; `record`, the call record and tracing listeners; `snapshot`,
a session as JSON. Reads the model; never imports the compiler or anything above.
"""
