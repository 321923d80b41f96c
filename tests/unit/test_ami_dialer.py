"""The AMI dialer's pure parts (issue 14): how a failed ring maps to an attempt outcome, the
channel id an adopter looks up, and one-line fields. The dialer itself is proven against the
lab Asterisk in tests/e2e/test_callback_asterisk.py."""

from __future__ import annotations

import pytest

from ivrflow.host.callback_lifecycle import Claim
from ivrflow.host.callbacks import CallbackRequest
from ivrflow.host.gateways.ami_dialer import channel_id, encode, outcome_of_ring


@pytest.mark.parametrize(
    ("reason", "cause", "outcome"),
    [
        ("0", "17", "busy"),  # Asterisk 22: a 486 Busy Here is Reason 0, Cause 17
        ("5", None, "busy"),
        ("3", "19", "no_answer"),  # rang out
        ("3", None, "no_answer"),
        ("1", "21", "no_answer"),  # declined
        ("8", "34", "failed"),  # congestion
        ("0", None, "failed"),  # no route at all
        ("0", "", "failed"),
        ("weird", None, "failed"),
    ],
)
def test_a_failed_ring(reason: str, cause: str | None, outcome: str) -> None:
    assert outcome_of_ring(reason, cause) == outcome


def test_the_channel_id_comes_from_the_attempt() -> None:
    request = CallbackRequest("c/1 x", "+5511", "billing", None, None, 0.0, "billing")
    claim = Claim(request, 2, "d", 0.0)
    assert channel_id(claim) == "ivrflow-cb-c_1_x_2"


def test_a_field_is_one_line() -> None:
    assert encode([("Action", "Ping")]) == b"Action: Ping\r\n\r\n"
    with pytest.raises(ValueError, match="one line"):
        encode([("Channel", "PJSIP/1\r\nAction: Logoff")])  # no injected actions
