"""What a prompt costs the call that says it: rendered on the call's path, or from the cache.

Run from the project root:

    python bench/prompts.py               # 20 rounds over the constant prompts of a flow
    python bench/prompts.py --rounds 50 --flow flows/billing.ivr

Each round takes the constant prompts of the flow (`ivrflow prompts list`) and asks a fresh
`SpeechRenderer` for each one twice, as a gateway does when two calls say it: the first ask
renders it (espeak-ng + sox, on the call's path, as every prompt was before the cache was
filled ahead of the calls), the second finds it in the cache. The same run, the same texts:
it prints the median of each, and their ratio. A templated prompt costs the first figure on
every call (it is rendered per call and removed). Needs espeak-ng and sox; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivrflow.compiler import compile_file  # noqa: E402
from ivrflow.host.gateways.prompt_audio import SpeechRenderer  # noqa: E402
from ivrflow.model.inventory import inventory  # noqa: E402
from ivrflow.runtime import actions as act  # noqa: E402


async def one_round(texts: list[tuple[str, str]], folder: Path) -> tuple[list[float], list[float]]:
    renderer = SpeechRenderer(folder)
    first, cached = [], []
    for text, language in texts:
        say = act.Say(text, language)
        for out in (first, cached):
            started = time.perf_counter()
            sound = await renderer.sound_for(say)
            out.append(time.perf_counter() - started)
            assert sound is not None, "espeak-ng or sox failed"
            sound.release()
    return first, cached


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", default=str(ROOT / "flows" / "service_desk.ivr"))
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        print("bench/prompts.py needs espeak-ng and sox (apt-get install espeak-ng sox)")
        return 1
    flow = compile_file(args.flow).flow
    assert flow is not None, f"{args.flow} does not compile"
    texts = list(dict.fromkeys((p.text, p.language) for p in inventory(flow) if not p.templated))
    first: list[float] = []
    cached: list[float] = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            f, c = asyncio.run(one_round(texts, Path(tmp)))
        first += f
        cached += c
    mf, mc = statistics.median(first), statistics.median(cached)
    print(f"{Path(args.flow).name}: {len(texts)} constant prompts x {args.rounds} rounds")
    print(f"  first render (espeak-ng + sox, on the call's path)  median {mf * 1000:8.2f} ms")
    print(f"  from the cache                                     median {mc * 1000:8.3f} ms")
    print(f"  ratio first / cached (same run)                    {mf / mc:8.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
