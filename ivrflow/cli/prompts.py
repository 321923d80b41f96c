"""`ivrflow prompts list|render FLOW...`: the prompt inventory, and the prompt audio ahead of calls.

`list` is what a voice talent records from: every prompt of the flows with its state, its
text per language, whether it is templated (caller data: rendered per call, never kept) and
the file name a recording must have to replace text-to-speech (docs/operations.md, "Prompt
audio"). `render` renders every constant prompt into `--sounds-dir`'s cache, as `serve agi`
does at start. The `serve agi` options for the cache and the start-up check live here too.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE, flow_files

if TYPE_CHECKING:
    from ..host.gateways.prompt_audio import SpeechRenderer
    from ..model.flow import Flow
    from ..model.inventory import PromptText

NAME = "prompts"
HELP = "list every prompt of a flow (for recording), pre-render the constant ones"
DESCRIPTION = (
    "`prompts list` prints every prompt of the flows with its state, text per language, "
    "whether it is templated and the file name a recording replaces it with; `prompts render` "
    "renders every constant prompt into --sounds-dir's cache (espeak-ng + sox)."
)
COLUMNS = ("flow", "state", "prompt", "language", "templated", "file", "text", "where")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$", re.IGNORECASE)
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)


def size(text: str) -> int:
    """'256M', '1G', '500k', '1048576' → bytes."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 256M, 1G)")
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def age(text: str) -> float:
    """'30d', '12h', '90m', '3600' (seconds) → seconds."""
    m = _AGE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not an age: {text!r} (e.g. 30d, 12h)")
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2).lower()]
    return float(m.group(1)) * scale


def add_cache_options(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    p.add_argument(
        "--prompt-cache-size",
        type=size,
        default="256M",
        metavar="SIZE",
        help="at most this much rendered constant prompts under --sounds-dir/cache (default "
        "256M); the least recently used go first",
    )
    p.add_argument(
        "--prompt-cache-age",
        type=age,
        default="30d",
        metavar="AGE",
        help="a cached prompt unused this long is removed (default 30d; s, m, h, d)",
    )
    p.add_argument(
        "--prompt-language",
        action="append",
        default=[],
        metavar="LANG",
        help="also pre-render the constant prompts in LANG (a language a flow sets at run "
        "time; repeatable)",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    ls = sub.add_parser("list", help="every prompt of the flows, for a voice talent")
    ls.add_argument("flows", nargs="+", metavar="FLOW", help="flow files, or directories")
    ls.add_argument("--format", choices=("text", "csv", "json"), default="text")
    ls.add_argument("--language", action="append", default=[], metavar="LANG",
                    help="also list the prompts in LANG (repeatable)")  # fmt: skip
    ls.add_argument(
        "--sounds-dir",
        metavar="DIR",
        help="add a `recorded` column: whether DIR/recorded holds the prompt's file",
    )
    r = sub.add_parser("render", help="render every constant prompt into --sounds-dir")
    r.add_argument("flows", nargs="+", metavar="FLOW", help="flow files, or directories")
    r.add_argument("--sounds-dir", required=True, metavar="DIR")
    r.add_argument("--language", action="append", default=[], metavar="LANG",
                   help="also render the prompts in LANG (repeatable)")  # fmt: skip
    r.add_argument("--prompt-cache-size", type=size, default="256M", metavar="SIZE")
    r.add_argument("--prompt-cache-age", type=age, default="30d", metavar="AGE")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    flows = _compile(args.flows)
    if flows is None:
        return EXIT_FAILED if flow_files(args.flows) else EXIT_USAGE
    if args.action == "list":
        return _list(flows, args, out)
    return _render(flows, args, out)


def _compile(paths: Sequence[str]) -> list[Flow] | None:
    from ..compiler import compile_file
    from ..errors import render

    files = flow_files(paths)
    if not files:
        print(f"ivrflow prompts: no .ivr files in {', '.join(paths)}", file=sys.stderr)
        return None
    flows, failed = [], False
    for file in files:
        result = compile_file(file)
        for d in result.errors:
            print(render(d, result.sources.get(d.path)), file=sys.stderr)
        if result.flow is None:
            failed = True
        else:
            flows.append(result.flow)
    return None if failed else flows


def rows(
    flow: Flow, prompts: list[PromptText], renderer: SpeechRenderer | None
) -> list[dict[str, Any]]:
    from ..lang.sources import display_path

    out = []
    for p in prompts:
        row: dict[str, Any] = {
            "flow": flow.name,
            "state": p.state,
            "prompt": p.name,
            "language": p.language,
            "templated": p.templated,
            "file": "" if p.templated else p.file,  # new words each call: not recordable
            "text": p.text,
            "where": f"{display_path(p.path)}:{p.line}" if p.line else "",
        }
        if renderer is not None:
            row["recorded"] = renderer.recorded(p.text, p.language) is not None
        out.append(row)
    return out


def _list(flows: list[Flow], args: argparse.Namespace, out: TextIO) -> int:
    from ..host.gateways.prompt_audio import SpeechRenderer
    from ..model.inventory import inventory

    renderer = SpeechRenderer(Path(args.sounds_dir), render=False) if args.sounds_dir else None
    table = [r for f in flows for r in rows(f, inventory(f, args.language), renderer)]
    columns = [*COLUMNS, "recorded"] if renderer is not None else list(COLUMNS)
    if args.format == "json":
        import json

        json.dump(table, out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif args.format == "csv":
        import csv

        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(
            {k: ("yes" if v is True else "no" if v is False else v) for k, v in r.items()}
            for r in table
        )
    else:
        for r in table:
            mark = "templated" if r["templated"] else "constant "
            seen = (" recorded" if r["recorded"] else " to record") if renderer else ""
            file = r["file"] or "(rendered per call)"
            out.write(f"{r['flow']}  {r['state']}  {r['language']}  {mark}{seen}  {file}\n")
            out.write(f"    {r['text']}\n")
        templated = sum(r["templated"] for r in table)
        out.write(f"{len(table)} prompts, {templated} templated (rendered per call)\n")
    return EXIT_OK


def renderer_problem(
    renderer: SpeechRenderer, flows: Sequence[Flow], languages: Sequence[str] = ()
) -> tuple[str | None, str | None]:
    """(error, warning) when espeak-ng or sox is missing: an error when a constant prompt has
    no recorded file, a warning when only templated ones would fall back to the beep."""
    from ..host.gateways.prompt_audio import PACKAGES, missing_tools
    from ..model.inventory import inventory

    missing = missing_tools()
    if not missing:
        return None, None
    tools = " and ".join(missing)
    install = f"apt-get install {' '.join(PACKAGES[t] for t in missing)}"
    prompts = {(p.language, p.text): p for f in flows for p in inventory(f, languages)}
    bare = [p for p in prompts.values() if renderer.recorded(p.text, p.language) is None]
    constant = [p for p in bare if not p.templated]
    if constant:
        return (
            f"--sounds-dir needs {tools}, not on PATH ({install}): "
            f"{len(constant)} constant prompts have no recorded file",
            None,
        )
    if bare:
        return None, (
            f"{tools} not on PATH ({install}): every constant prompt is recorded, but "
            f"{len(bare)} templated prompts will play the fallback sound"
        )
    return None, None


def _render(flows: list[Flow], args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from ..host.gateways.prompt_audio import SpeechRenderer

    sounds = Path(args.sounds_dir)
    renderer = SpeechRenderer(
        sounds, max_bytes=args.prompt_cache_size, max_age=args.prompt_cache_age
    )
    error, warning = renderer_problem(renderer, flows, args.language)
    if error:
        print(f"ivrflow prompts render: {error}", file=sys.stderr)
        return EXIT_FAILED
    if warning:
        print(f"ivrflow prompts render: warning: {warning}", file=sys.stderr)
    done = asyncio.run(renderer.prerender(flows, args.language))
    out.write(done.summary(sounds) + "\n")
    return EXIT_FAILED if done.failed else EXIT_OK


# ---------------------------------------------------------------- serve agi


def served_flows(engine: Any, flows_dir: Path) -> list[Flow]:
    """The flows `serve agi` answers with (FLOWS_DIR/NAME.ivr) that compile."""
    flows = []
    for path in sorted(flows_dir.glob("*.ivr")):
        try:
            flows.append(engine.load(path))
        except Exception:  # a broken flow: its calls say so, the others are served
            continue
    return flows


def check_agi(renderer: SpeechRenderer, flows: Sequence[Flow], languages: Sequence[str]) -> bool:
    """Before `serve agi` listens: False (after one line on stderr) when it cannot speak."""
    error, warning = renderer_problem(renderer, flows, languages)
    if error:
        print(f"ivrflow serve agi: {error}", file=sys.stderr, flush=True)
        return False
    if warning:
        print(f"ivrflow serve agi: warning: {warning}", file=sys.stderr, flush=True)
    return True


async def prerender_agi(
    renderer: SpeechRenderer, flows: Sequence[Flow], languages: Sequence[str]
) -> None:
    """Every constant prompt into the cache while the first calls come in; one summary."""
    assert renderer.sounds_dir is not None
    try:
        done = await renderer.prerender(flows, languages)
    except Exception as exc:  # the calls render on demand instead
        print(f"ivrflow: prompts: pre-rendering stopped: {exc}", file=sys.stderr, flush=True)
        return
    print(f"ivrflow: {done.summary(renderer.sounds_dir)}", file=sys.stderr, flush=True)
