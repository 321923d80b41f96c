"""The words each kind of state accepts: its settings (with the hint a wrong one gets) and
its branch words, plus the keys, outcomes and variables statements are checked against.

Plain tables, importing nothing, so the header's settings (declarations.py), every state
kind and the docs test read one list without importing each other.
"""

from __future__ import annotations

INPUT_SETTINGS = {
    "timeout": "how long to wait for the first key or word",
    "interdigit": "how long to wait between keys",
    "retries": "failed attempts before exhausted: 3, or 4, noinput 2, nomatch 3 (each kind's own)",
    "counts": "kept (per visit, the default) or reset (back to zero after a valid input)",
    "confidence": "ASR confidence below which a spoken choice is confirmed",
    "input": "what the caller may use: dtmf, speech, or dtmf speech",
    "speech_language": "the language speech is recognized in (the call's by default)",
    "speech_timeout": "the silence that ends an utterance: auto, or a duration like 1500ms",
    "hints": 'words and phrases the recognizer should expect, like "boleto"',
}
CAPTURE_SETTINGS = INPUT_SETTINGS | {
    "digits": "how many digits: 4 or 6..10",
    "end": 'the terminator key, "#" by default, or none',
    "valid": '*a validation: luhn, cpf, cnpj, mod11, regex "…", range 1..31, date "DDMMYYYY"',
    "confirm": "a read-back prompt: 1 accepts, 2 re-enters",
    "secure": "mask the digits in records, traces, logs and snapshots",
    "into": "the variable that receives the digits (the state's name by default)",
    "words": "free speech instead of digits: how many words, like 1..30",
}
MENU_SETTINGS = INPUT_SETTINGS | {
    "into": 'the variable that receives the keys of the choice (multi-key options: 100, "_1XX")',
}
LOOKUP_SETTINGS = {"timeout": "how long the host function may take"}
TRANSFER_SETTINGS = {
    "queue": "the ACD queue to transfer into: a name, or a variable with 'among [a, b]'",
    "number": "an E.164 phone number to transfer to",
    "sip": 'a SIP URI to transfer to, like "sip:alice@example.com"',
    "extension": 'a dialplan extension, like "1234" or "1234@sales"',
    "postdial": 'keys to send once the far end answers, like "ww256"',
    "priority": "the call's priority in the queue",
    "skills": "skills an agent needs, e.g. [billing, spanish]",
    "announce": "tell the caller the wait: ewt, position or both",
    "max_wait": "the longest a caller waits in the queue; then the noanswer branch (overflow)",
}
HOLD_SETTINGS = {  # a transfer's `while waiting:` block
    "music": "the music on hold: a class (Asterisk's musiconhold.conf) or a URL",
    "every": "how often the periodic message and announcements play, like 45s",
    "announce": "what each announcement tells: position, ewt or both",
}
CALLBACK_SETTINGS = INPUT_SETTINGS | {
    "queue": "the queue that will call back",
    "number": "the number to call back (the caller's by default)",
    "confirm": "a read-back of the number: 1 confirms, 2 enters another",
    "window": "when to call back: an hours name or 09:00 18:00",
    "accept": "keys and phrases that accept the offer (1 by default)",
    "decline": "keys and phrases that decline it (2 by default)",
}

ESCALATIONS = ("noinput", "nomatch")
# The exits of each kind's own limit (`retries noinput 2`): `noinput exhausted -> agent`.
LIMIT_EXITS = {"noinput exhausted": "noinput", "nomatch exhausted": "nomatch"}
MENU_WORDS = {"noinput", "nomatch", "exhausted", "hash", "pound", "star", *LIMIT_EXITS}
CAPTURE_WORDS = {"ok", "noinput", "nomatch", "invalid", "exhausted", *LIMIT_EXITS}
LOOKUP_WORDS = {"ok", "error"}
RECORD_SETTINGS = {
    "max": "the longest message, like 2m",
    "silence": "end the message after this long without sound, like 5s (or off)",
    "finish": 'keys that end the message, like "#" (or none)',
    "beep": "a beep before recording (on/off, default on)",
    "playback": "play the message back to the caller before ok (on/off)",
    "consent": "a notice said first, before any prompt: the caller is told it is recorded",
    "into": "the variable that holds the message (default: the state's name)",
}
RECORD_WORDS = {"ok", "silent", "error"}
TRANSFER_WORDS = {"busy", "noanswer", "full", "failed"}
CALLBACK_WORDS = {
    "scheduled",
    "declined",
    "failed",
    "noinput",
    "nomatch",
    "exhausted",
    *LIMIT_EXITS,
}
KEY_WORDS = {"hash": "#", "pound": "#", "star": "*"}
DTMF_KEYS = frozenset("0123456789*#")
HANGUP_OUTCOMES = ("self_served", "error")  # abandoned, transferred … are not the flow's to say
READ_ONLY = frozenset({"ani", "dnis", "call_id", "now", "ewt", "position"})

__all__ = [
    "CALLBACK_SETTINGS",
    "CALLBACK_WORDS",
    "CAPTURE_SETTINGS",
    "CAPTURE_WORDS",
    "DTMF_KEYS",
    "ESCALATIONS",
    "HANGUP_OUTCOMES",
    "INPUT_SETTINGS",
    "KEY_WORDS",
    "LIMIT_EXITS",
    "LOOKUP_SETTINGS",
    "LOOKUP_WORDS",
    "MENU_WORDS",
    "READ_ONLY",
    "RECORD_SETTINGS",
    "RECORD_WORDS",
    "HOLD_SETTINGS",
    "TRANSFER_SETTINGS",
    "TRANSFER_WORDS",
]
