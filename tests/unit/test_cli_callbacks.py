"""`ivrflow callbacks list|show|cancel|retry` (issue 14): filters, JSON, masked numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivrflow.cli import main
from ivrflow.host.callback_rules import RetryPolicy
from ivrflow.host.callbacks import CallbackRequest, SQLiteCallbackStore

T0 = 1796650000.0


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "callbacks.db"
    store = SQLiteCallbackStore(path, policy=RetryPolicy(max_attempts=1, expire_after=1e12))
    for n, queue in enumerate(["billing", "billing", "support"]):
        store.store(
            CallbackRequest(f"c{n}", f"+551198765432{n}", queue, None, None, T0 + n, "billing")
        )
    (claim,) = store.claim("d", T0 + 10, limit=1)
    store.finish_attempt(claim.request.call_id, 1, "busy", detail="486", now=T0 + 20)
    store.close()
    return str(path)


def test_list_filters_and_json_masks_numbers(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["callbacks", "list", "--store", db, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["call_id"] for r in rows] == ["c2", "c1", "c0"]
    assert all(r["number"].startswith("*********") for r in rows)
    assert main(["callbacks", "list", "--store", db, "--queue", "support"]) == 0
    text = capsys.readouterr().out
    assert "c2" in text and "c1" not in text and "98765432" not in text
    assert main(["callbacks", "list", "--store", db, "--state", "exhausted", "--format",
                 "json", "--show-numbers"]) == 0  # fmt: skip
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["call_id"], row["number"], row["last_outcome"]) == ("c0", "+5511987654320", "busy")
    assert main(["callbacks", "list", "--store", db, "--state", "lost"]) == 2
    assert "unknown state" in capsys.readouterr().err


def test_show_cancel_retry(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["callbacks", "show", "--store", db, "c0"]) == 0
    out = capsys.readouterr().out
    assert "exhausted" in out and "attempt 1: busy (486) by d" in out
    assert main(["callbacks", "show", "--store", db, "c0", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["history"][0]["outcome"] == "busy"
    assert main(["callbacks", "cancel", "--store", db, "c1"]) == 0
    assert main(["callbacks", "cancel", "--store", db, "c1", "nope"]) == 1
    err = capsys.readouterr().err
    assert "already final" in err and "no callback request for call id 'nope'" in err
    assert main(["callbacks", "retry", "--store", db, "c0", "--max-attempts", "1"]) == 0
    assert "c0: due now" in capsys.readouterr().out
    store = SQLiteCallbackStore(db, policy=RetryPolicy(max_attempts=1, expire_after=1e12))
    entry = store.entry("c0")
    assert entry is not None and entry.state == "pending"
    store.close()


def test_a_store_that_cannot_be_opened_is_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "x.db"
    assert main(["callbacks", "list", "--store", str(missing)]) == 1
    assert "cannot be opened" in capsys.readouterr().err


def test_run_without_the_dialers_settings_is_a_usage_error(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    assert main(["callbacks", "run", "--store", db, "--from", "+551140040000"]) == 2
    err = capsys.readouterr().err
    assert "$TWILIO_ACCOUNT_SID" in err and "--webhook-url" in err and "--outbound-flow" in err


def test_the_asterisk_dialer_says_what_it_is_missing(
    db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IVRFLOW_AMI_SECRET", raising=False)
    argv = ["callbacks", "run", "--store", db, "--dialer", "asterisk", "--ami-channel", "PJSIP/x"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "the Asterisk dialer needs $IVRFLOW_AMI_SECRET" in err, err
    assert "--ami-channel with {number}" in err and "--outbound-flow" in err, err


ASTERISK = ["--dialer", "asterisk", "--ami", "10.0.0.5:5039", "--ami-secret-env", "AMI_PW",
            "--ami-channel", "PJSIP/{number}@trunk", "--outbound-flow", "callback_invoice"]  # fmt: skip


def test_the_asterisk_dialer_from_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from ivrflow.cli.callbacks import add_dialer_arguments, dialer_from

    parser = argparse.ArgumentParser()
    add_dialer_arguments(parser)
    monkeypatch.setenv("AMI_PW", "s3")
    dialer = dialer_from(parser.parse_args(ASTERISK))
    assert (dialer.host, dialer.port, dialer.secret, dialer.flow) == (
        "10.0.0.5", 5039, "s3", "callback_invoice",
    )  # fmt: skip
    assert "s3" not in repr(dialer)  # the secret stays out of logs
    assert (dialer.machine_detection, dialer.machine_message) == (True, None)
    quiet = dialer_from(
        parser.parse_args([*ASTERISK, "--no-machine-detection", "--machine-message", "m"])
    )
    assert (quiet.machine_detection, quiet.machine_message) == (False, "m")
    assert dialer.agent_first is None
    first = dialer_from(parser.parse_args([*ASTERISK, "--agent-first", "billing",
                                           "--agent-wait", "60", "--whisper", "beep"]))  # fmt: skip
    assert (first.agent_first, first.agent_wait, first.whisper) == ("billing", 60, "beep")
