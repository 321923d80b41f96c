"""The host stage: where I/O happens around the sans-IO runtime.

`engine` (configuration, look-up functions, flow cache; runs calls with asyncio),
`perform` (the one table and loop that carry a session's actions out against a host),
`callbacks` (the callback store), `sinks` (where records go), `journal` (calls in flight,
for crash recovery), `fixtures` (look-up answers from YAML) and `gateways/` (FastAGI for
Asterisk, Twilio-style webhooks).
"""
