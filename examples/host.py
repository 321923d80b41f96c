"""Embed ivrflow: a look-up, a SQLite callback store, JSON-lines records, one scripted call."""

import asyncio
import tempfile
from pathlib import Path

from ivrflow.host.callbacks import SQLiteCallbackStore
from ivrflow.host.engine import Engine
from ivrflow.host.sinks import JsonLinesSink
from ivrflow.tools.scripted_caller import ScriptedChannel

work = Path(tempfile.mkdtemp(prefix="ivrflow-host-"))
engine = Engine(
    records=JsonLinesSink(work / "calls.jsonl"),
    callbacks=SQLiteCallbackStore(work / "callbacks.db"),
    queue_status=lambda queue: (420.0, 9),  # your ACD: EWT in seconds, position
)


@engine.register()
def fetch_account(contract: str) -> dict[str, object]:
    return {"balance": 152.30, "due": "2026-12-10", "status": "ok"}


flow = engine.load(Path(__file__).parent.parent / "flows" / "billing.ivr")
caller = ScriptedChannel.from_lines(["0", "1", "hangup"], at=1795525200.0)  # 10:00 in São Paulo
session = engine.session(flow, ani="+5511912345678", dnis="+551130030001", at=caller.now())
record = asyncio.run(engine.run(session, caller))

print("\n".join(caller.transcript))
print("outcome:", record["outcome"])
print("records in", work / "calls.jsonl")
