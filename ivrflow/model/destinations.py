"""Where a transfer can send a call, as typed values: an E.164 number, a SIP URI, an extension
(with an optional dialplan context), plus keys to send once the far end answers.

The compiler checks literal destinations with these functions and the runtime checks dynamic
ones (a look-up's result, a variable) with the same ones, so both refuse the same text. A
destination is never rewritten into another kind: ``"sip:888@conference.example.org"`` is not
a phone number, and is not dialled as ``888``. The characters allowed are a strict subset of
what SIP and the Asterisk dialplan accept, so a dynamic value can never smuggle a second
destination or a dial option into a gateway's dial string (``&``, ``,``, ``|``, ``$``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

from . import phone

__all__ = [
    "DESTINATION_KINDS",
    "Destination",
    "DestinationKind",
    "parse",
    "postdial_problem",
]

DestinationKind: TypeAlias = Literal["number", "sip", "extension"]
#: The kinds, as the transfer settings that name them.
DESTINATION_KINDS: tuple[DestinationKind, ...] = ("number", "sip", "extension")

_NUMBER_TEXT = re.compile(r"(?:tel:)?\+?[\s\-.()/]*[0-9][0-9\s\-.()/]*", re.IGNORECASE)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SIP = re.compile(
    r"(?P<scheme>sips?):"
    r"(?:(?P<user>[A-Za-z0-9\-_.!~*'+%]+)@)?"
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<params>(?:;[A-Za-z0-9\-_.]+(?:=[A-Za-z0-9\-_.]+)?)*)",
    re.IGNORECASE,
)
_EXTENSION = re.compile(r"[0-9A-Za-z*#+][0-9A-Za-z*#+.\-]{0,31}")
_CONTEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,79}")
_POSTDIAL = re.compile(r"[0-9*#wW]{1,32}")


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked transfer destination.

    `address` is the E.164 number (``+15551230000``), the SIP URI as written
    (``sip:alice@example.com``) or the extension (``1234``); `context` is an extension's
    dialplan context (None: the gateway's default); `postdial` the keys sent after the answer
    (``w`` waits half a second), or None.
    """

    kind: DestinationKind
    address: str
    context: str | None = None
    postdial: str | None = None

    def text(self) -> str:
        """The destination as a flow writes it (what the call record shows)."""
        if self.kind == "extension" and self.context:
            return f"{self.address}@{self.context}"
        return self.address


def parse(kind: DestinationKind, value: object, country: str | None = None) -> Destination | str:
    """The destination `value` names as a `kind`, or why it is not one (a sentence).

    Numbers are normalized to E.164 with the flow's `country` (``(11) 4004-0000`` in BR); a
    number that cannot be placed in E.164 is refused rather than dialled as bare digits.
    """
    if not isinstance(value, str) or not value.strip():
        return f"no {_NAMES[kind]} to dial ({value!r})"
    text = value.strip()
    if kind == "number":
        return _number(text, country)
    if kind == "sip":
        return _sip(text)
    return _extension(text)


def postdial_problem(value: object) -> str | None:
    """Why `value` is not keys to send after the answer (``"ww256"``), or None."""
    if isinstance(value, str) and _POSTDIAL.fullmatch(value):
        return None
    return f"postdial {value!r} is not keys to send: 0-9, * and #, and w to wait half a second"


_NAMES = {"number": "phone number", "sip": "SIP URI", "extension": "extension"}


def _number(text: str, country: str | None) -> Destination | str:
    shown = repr(text)
    if text.lower().startswith(("sip:", "sips:")):
        return f"{shown} is a SIP URI, not a phone number: transfer to it with sip"
    if not _NUMBER_TEXT.fullmatch(text):
        if "@" in text or not any(c.isdigit() for c in text):
            return f"{shown} is not a phone number"
        return f"{shown} is not a phone number (only digits, + and separators)"
    number = phone.normalize(text[4:] if text.lower().startswith("tel:") else text, country)
    if number is None or not _E164.fullmatch(number):
        where = f"with country {country}" if country else "without a country in the header"
        return f"{shown} is not an E.164 number {where}: write it as +<country code><number>"
    return Destination("number", number)


def _sip(text: str) -> Destination | str:
    match = _SIP.fullmatch(text)
    if match is None:
        return f"{text!r} is not a SIP URI like sip:alice@example.com"
    port = match.group("port")
    if port is not None and not 0 < int(port) < 65536:
        return f"{text!r} has port {port}, outside 1..65535"
    return Destination("sip", text)


def _extension(text: str) -> Destination | str:
    address, at, context = text.partition("@")
    if not _EXTENSION.fullmatch(address):
        return f"{text!r} is not an extension: up to 32 digits, letters, *, #, + . -" + (
            ", then @context" if not at else ""
        )
    if at and not _CONTEXT.fullmatch(context):
        return f"{text!r} has no valid dialplan context after '@' (letters, digits, _ and -)"
    return Destination("extension", address, context or None)
