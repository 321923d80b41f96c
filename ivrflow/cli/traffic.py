"""`ivrflow traffic FLOW --model MODEL.yaml`: predict what a flow does to a contact center."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from . import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, count

NAME = "traffic"
HELP = "predict what a flow does to the contact center: IVR time, queues, ASA, SL"
DESCRIPTION = (
    "Simulate callers (a caller model: arrivals by hour, choices, no-input/no-match, patience, "
    "callbacks) through the flow and its agent queues, and report containment, time in IVR, "
    "offered load, ASA, service level and abandonment with 95 %% confidence intervals. "
    "--sweep agents=15..25 finds the staffing for a service-level target; --fit RECORDS.jsonl "
    "builds the caller model from call records. On a terminal a progress bar counts the "
    "simulated runs (not with --quiet); Ctrl-C ends after the run in progress and reports "
    "the replications and staffings done (exit 130). Exit 0 ok, 1 the flow does not compile, "
    "2 bad usage or a bad model. See docs/traffic.md."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("flow", metavar="FLOW")
    p.add_argument("--model", metavar="MODEL.yaml", help="the caller and center model")
    p.add_argument("--days", type=int, help="days to simulate (default: the model's)")
    p.add_argument("--replications", type=int, default=5, help="independent runs (default 5)")
    p.add_argument("--seed", type=int, default=1, help="seed of the first replication")
    p.add_argument("--sweep", metavar="agents=A..B", help="staffings of one queue to compare")
    p.add_argument("--queue", help="the queue --sweep changes (default: the busiest)")
    p.add_argument("--target", metavar="80/20", help="service level target (default: the model's)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--html", metavar="FILE", help="also write an HTML report with charts")
    p.add_argument("--fit", metavar="RECORDS.jsonl", help="fit the caller model from records")
    p.add_argument("--write-model", metavar="OUT.yaml", help="with --fit: write the model, stop")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar on a terminal")


class _Usage(Exception):
    pass


def _sweep_range(text: str) -> range:
    name, _, span = text.partition("=")
    low, _, high = span.partition("..")
    if name.strip() != "agents" or not low.strip().isdigit() or not high.strip().isdigit():
        raise _Usage(f"--sweep: expected agents=A..B, like agents=15..25, got {text!r}")
    a, b = int(low), int(high)
    if a > b or b - a > 200:
        raise _Usage(f"--sweep: {a}..{b} is not a range of at most 200 staffings")
    return range(a, b + 1)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = sys.stderr
    try:
        return _run(args, out)
    except _Usage as exc:
        err.write(f"ivrflow traffic: error: {exc}\n")
        return EXIT_USAGE


def _run(args: argparse.Namespace, out: TextIO) -> int:
    import dataclasses
    import json
    from pathlib import Path

    import yaml

    from ..compiler import compile_file
    from ..errors import render
    from ..traffic.model import ModelError, check_against, load_model, parse_model, parse_target

    if args.model is None and args.fit is None:
        raise _Usage("give a caller model (--model MODEL.yaml) or records to fit one (--fit)")
    if args.write_model and not args.fit:
        raise _Usage("--write-model needs --fit RECORDS.jsonl")
    if args.replications < 1 or (args.days is not None and args.days < 1):
        raise _Usage("--replications and --days must be at least 1")
    sweep_range = _sweep_range(args.sweep) if args.sweep else None

    result = compile_file(args.flow)
    if result.flow is None or result.errors:
        for d in result.diagnostics:
            sys.stderr.write(render(d, result.sources.get(d.path)) + "\n")
        if result.flow is None and not result.errors:
            sys.stderr.write(f"{args.flow}: not a flow\n")
        return EXIT_FAILED
    flow = result.flow
    try:
        model = load_model(args.model) if args.model else None
        if args.fit:
            from ..host.sinks import read_records
            from ..traffic.fit import describe_fit, fit_model

            try:
                records = read_records(args.fit)
            except (OSError, ValueError) as exc:
                raise _Usage(f"--fit: cannot read {args.fit}: {exc}") from None
            data = fit_model(flow, records, model)
            text = describe_fit(data, len(records)) + yaml.safe_dump(
                data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
            )
            name = args.write_model or f"{args.fit} (fitted)"
            model = parse_model(text, name)
            if args.write_model:
                Path(args.write_model).write_text(text, encoding="utf-8")
                out.write(
                    f"wrote {args.write_model}: a caller model fitted from {len(records)} calls\n"
                )
                return EXIT_OK
        assert model is not None
        if args.target:
            share, threshold = parse_target(args.target)
            model = dataclasses.replace(model, sl_target=share, sl_threshold=threshold)
    except ModelError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_USAGE
    problems = check_against(model, flow)
    if problems:
        for p in problems:
            sys.stderr.write(p + "\n")
        return EXIT_USAGE

    from ..traffic.report import render_sweep, render_text, replaced_staffing, sweep_answer
    from ..traffic.results import run as replicate
    from ..traffic.results import summarize, sweep
    from ..traffic.walk import Walker
    from .terminal import Interrupt, Progress

    walker = Walker(flow, model)
    total = args.replications * (1 + (len(sweep_range) if sweep_range is not None else 0))
    with (
        Interrupt() as stop,
        Progress("traffic", total=total, unit=" runs", quiet=args.quiet) as bar,
    ):
        # One replication at a time (the same seeds as all at once): the bar moves, and
        # Ctrl-C keeps those done.
        runs = replicate(walker, model, replications=1, seed=args.seed, days=args.days)
        bar.advance()
        for k in range(1, args.replications):
            if stop():
                break
            runs += replicate(walker, model, replications=1, seed=args.seed + k, days=args.days)
            bar.advance()
        summary = summarize(walker, model, runs)
        rows = None
        queue = None
        if sweep_range is not None:
            queue = args.queue or max(summary.queues, key=lambda q: q.offered_per_day.mean).name
            if queue not in model.queues:
                raise _Usage(
                    f"--queue: the model has no queue '{queue}' ({', '.join(model.queues)})"
                )
            rows = []
            for n in sweep_range:
                if stop():
                    break
                bar.note(f"{queue}: {n} agents")
                rows += sweep(
                    walker, model, queue, range(n, n + 1),
                    replications=args.replications, seed=args.seed, days=args.days,
                )  # fmt: skip
                bar.advance(args.replications)
    interrupted = stop.requested
    replaced = replaced_staffing(model.queues[queue]) if queue is not None else None
    title = f"ivrflow traffic — {args.flow} with {model.path}"
    if args.format == "json":
        data = summary.as_json()
        if rows is not None:
            best = sweep_answer(rows, model.sl_target)
            data["sweep"] = {
                "queue": queue,
                "replaces": replaced,
                "rows": [
                    {
                        "agents": r.agents,
                        "unstable": r.figures.unstable,
                        "service_level": r.figures.service_level.as_json(),
                        "asa": r.figures.asa.as_json(1),
                        "abandonment": r.figures.abandonment.as_json(),
                        "occupancy": r.figures.occupancy.as_json(),
                    }
                    for r in rows
                ],
                "agents_needed": best.agents if best else None,
            }
        json.dump(data, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(render_text(summary, title))
        if rows and queue is not None:
            out.write(
                "\n" + render_sweep(rows, queue, model.sl_target, model.sl_threshold, replaced)
            )
    if args.html:
        from ..traffic.html import render_html

        Path(args.html).write_text(render_html(summary, title, rows, queue), encoding="utf-8")
        if args.format == "text":
            out.write(f"\nwrote {args.html}\n")
    if interrupted:
        done = f"{count(len(runs), 'replication')} of {args.replications}"
        if sweep_range is not None:
            done += f", {len(rows or [])} of {len(sweep_range)} staffings"
        sys.stderr.write(f"ivrflow traffic: interrupted: the figures above are of {done}\n")
        return EXIT_INTERRUPTED
    return EXIT_OK
