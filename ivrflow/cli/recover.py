"""`ivrflow recover --journal FILE --records FILE`: records for the calls a crash cut."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE, count

NAME = "recover"
HELP = "write the records of calls a crashed server left unfinished"
DESCRIPTION = (
    "After a crash of `ivrflow serve` (kill -9, power cut): trim a torn last line of the "
    "records file, move spooled records into it, and write an `error` record (reason "
    "server_stopped) for every call the journal says started and never ended. Idempotent: "
    "a call that already has a record is not written again. `ivrflow serve --journal` does "
    "the same when it starts; run this only while no server uses the journal. "
    "Exit 0 done, 1 a file could not be read or written, 2 bad usage."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--journal", required=True, metavar="FILE", help="the server's --journal")
    p.add_argument("--records", required=True, metavar="FILE", help="the server's --records")
    p.add_argument(
        "--dry-run", action="store_true", help="list the unfinished calls, write nothing"
    )
    p.add_argument(
        "--callbacks",
        metavar="DB",
        help="the server's --callbacks: a call whose request is stored is callback_scheduled",
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from ..errors import IvrflowRuntimeError
    from ..host.journal import CallJournal, recover_calls
    from ..host.sinks import JsonLinesSink, SpoolingSink, recover

    out = out or sys.stdout
    journal_path, records_path = Path(args.journal), Path(args.records)
    if journal_path.is_dir() or records_path.is_dir():
        print("ivrflow recover: --journal and --records name files", file=sys.stderr)
        return EXIT_USAGE
    try:
        journal = CallJournal(journal_path)
        if args.dry_run:
            calls = journal.open_calls()
            for entry in calls:
                print(f"{entry['call_id']}  {entry.get('flow')}  unfinished", file=out)
            print(f"{count(len(calls), 'unfinished call')} (dry run: nothing written)", file=out)
            journal.close()
            return EXIT_OK
        cut = recover(records_path)
        spool = Path(f"{records_path}.spool")
        sink = SpoolingSink(JsonLinesSink(records_path), spool)
        store = None
        if getattr(args, "callbacks", None):
            from ..host.callbacks import open_store

            store = open_store(args.callbacks)
        done = recover_calls(journal, sink, callbacks=store)
        if store is not None:
            store.close()
        journal.close()
    except (OSError, IvrflowRuntimeError) as exc:
        print(f"ivrflow recover: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if cut:
        print(f"{records_path}: cut a torn last line ({cut} bytes)", file=out)
    for call_id in done:
        print(f"{call_id}  error (server_stopped)", file=out)
    left = sink.spooled()
    print(f"{count(len(done), 'unfinished call')} recovered into {records_path}", file=out)
    if left:
        print(f"{count(len(left), 'record')} still spooled in {spool}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


__all__ = ["DESCRIPTION", "HELP", "NAME", "add_arguments", "run"]
