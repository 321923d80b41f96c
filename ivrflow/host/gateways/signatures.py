"""Twilio's request signatures, and the gateway's own replay stamp.

With an auth token, ``X-Twilio-Signature`` is checked (HMAC-SHA1 of the full URL followed by
the sorted POST parameters, base64); missing or wrong → refused. Twilio sends no timestamp
with voice webhooks, so the gateway puts its own (``t``) into the callback URLs it generates —
the signature covers the URL, so it cannot be forged — and refuses requests whose ``t`` is
older than the replay window. The very first request (the URL configured at Twilio) has no
``t``; it is only accepted once per CallSid anyway. The token is never logged nor returned.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def signature(token: str, url: str, params: Mapping[str, str] | list[tuple[str, str]]) -> str:
    """Twilio's X-Twilio-Signature: base64(HMAC-SHA1(token, url + sorted key+value pairs))."""
    items = sorted(params.items()) if isinstance(params, Mapping) else sorted(params)
    payload = url + "".join(k + v for k, v in items)
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def refusal(
    token: str | None,
    url: str,
    form: list[tuple[str, str]],
    given: str | None,
    stamp: str | None,
    now: float,
    replay_window: float,
) -> str | None:
    """None if a request may go on, else why it is refused (never the token).

    `url` is the full URL Twilio signed, `given` its X-Twilio-Signature header, `stamp`
    the URL's ``t`` (None on the first request of a call)."""
    if not token:
        return None
    if not given:
        return "missing signature"
    expected = signature(token, url, form)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        return "bad signature"
    if stamp is not None:
        try:
            age = now - float(stamp)
        except ValueError:
            return "bad timestamp"
        if age > replay_window:
            return "replayed (too old)"
    return None


__all__ = ["refusal", "signature"]
