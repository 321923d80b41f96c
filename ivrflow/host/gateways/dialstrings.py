"""Asterisk Dial() arguments for a checked transfer destination, one template per kind.

``serve agi --dial`` takes ``number=PJSIP/{number}@trunk``, ``sip=PJSIP/trunk/{uri}`` and
``extension=Local/{extension}@{context}`` (a bare template is the number one). A template
may carry Dial's own timeout and options after commas (``PJSIP/{number}@trunk,30,tT``);
postdial keys are added as Dial's ``D()`` option. The destination is already checked
(`model.destinations`), so it cannot add a channel (``&``) or an option (``,``) of its own.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ...model.destinations import DESTINATION_KINDS, Destination

#: The fields each kind's template may use.
FIELDS: Mapping[str, frozenset[str]] = {
    "number": frozenset({"number"}),
    "sip": frozenset({"uri", "user", "host"}),
    "extension": frozenset({"extension", "context"}),
}
DEFAULTS: Mapping[str, str] = {
    "number": "PJSIP/{number}",
    "extension": "Local/{extension}@{context}",
    # no SIP default: dialling a URI in PJSIP needs an endpoint (PJSIP/trunk/{uri})
}


class DialTemplateError(ValueError):
    """A `--dial` value that cannot be used (unknown kind or field)."""


@dataclass(frozen=True, slots=True)
class DialTemplates:
    by_kind: Mapping[str, str]

    @classmethod
    def parse(cls, values: Iterable[str]) -> DialTemplates:
        """`kind=template` values (a bare template is the number one) over the defaults."""
        out = dict(DEFAULTS)
        for value in values:
            kind, eq, template = value.partition("=")
            if not eq or kind not in DESTINATION_KINDS:
                kind, template = "number", value
            try:
                used = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            except ValueError:
                used = {"?"}  # an unbalanced brace
            unknown = used - FIELDS[kind]
            if unknown or not template.strip():
                allowed = ", ".join("{" + f + "}" for f in sorted(FIELDS[kind]))
                raise DialTemplateError(
                    f"bad --dial {value!r}: a {kind} template may use {allowed}"
                )
            out[kind] = template
        return cls(out)

    def arguments(self, destination: Destination, context: str | None) -> str:
        """Dial()'s arguments for `destination`; `context` is the call's dialplan context,
        for an extension that names none. DialTemplateError when no template fits."""
        template = self.by_kind.get(destination.kind)
        if template is None:
            raise DialTemplateError(
                f"no dial template for {destination.kind} destinations "
                f"(serve agi --dial {destination.kind}=…)"
            )
        address = destination.address
        user, _, host = address.partition(":")[2].rpartition("@")
        fields = {
            "number": address,
            "uri": address,
            "user": user,
            "host": host,
            "extension": address,
            "context": destination.context or context or "default",
        }
        dial = template.format(**fields)
        if destination.postdial:
            parts = (dial.split(",", 2) + ["", ""])[:3]
            parts[2] += f"D({destination.postdial})"
            dial = ",".join(parts)
        return dial


__all__ = ["DEFAULTS", "FIELDS", "DialTemplateError", "DialTemplates"]
