"""A menu's multi-key options: reading them (E180, E181, E124) and checking them together
(W240 an option no entry can choose, W241 a one-key option that has to wait).

The options' meaning and the timing rule are `model.keypatterns`; this module only says
what is wrong with them, where.
"""

from __future__ import annotations

from .. import model
from ..lang import ast
from ..model import keypatterns as kp
from .context import Context


def _inside(label: ast.Label, offset: int) -> ast.Span:
    """The span of one character of a label (after the opening quote of a string)."""
    quoted = 0 if label.kind == "key" else 1
    col = label.span.column + quoted + offset
    if label.span.line != label.span.end_line or col >= label.span.end_column:
        return label.span
    return ast.Span(label.span.line, col, label.span.line, col + 1)


def option_of(ctx: Context, label: ast.Label, seen: dict[str, ast.Span]) -> model.KeyOption | None:
    """One multi-key option: `100` or `"100"` (keys), `"_1XX"` (Asterisk), `regex "…"`."""
    text = label.text
    kind: kp.OptionKind = (
        "regex" if label.kind == "regex" else "asterisk" if text.startswith("_") else "keys"
    )
    try:
        option = kp.key_option(text, kind)
    except kp.PatternError as exc:
        what = {"regex": "regex", "asterisk": "pattern", "keys": "key sequence"}[kind]
        hint = {
            "regex": "keys, \\d, ., [..], (..), |, ? * + {m,n}; ^ and $ are implied",
            "asterisk": "X is 0-9, Z 1-9, N 2-9, [1-4] a range, . one or more, ! zero or more",
            "keys": "keys are 0-9, * and #",
        }[kind]
        ctx.error("E180", f"{what} '{text}': {exc}", _inside(label, exc.offset), hint)
        return None
    if kind == "keys" and len(text) > kp.MAX_KEYS:
        ctx.error(
            "E181",
            f"key sequence '{text}' is {len(text)} keys long; a menu takes at most {kp.MAX_KEYS}",
            label.span,
            "collect longer entries with a capture",
        )
        return None
    name = f"{kind}:{text}"
    if name in seen:
        ctx.error(
            "E124",
            f"{option.label} is already a choice",
            label.span,
            f"first on line {seen[name].line}",
        )
        return None
    seen[name] = label.span
    return option


def key_entry(ctx: Context, options: list[tuple[int, model.KeyOption, ast.Label]]) -> kp.KeyEntry:
    """The menu's keyed options run together, in the menu's order; checked for options no
    entry can choose (W240) and for one-key options a longer one makes wait (W241)."""
    entry = kp.KeyEntry(tuple(o for _, o, _ in options), tuple(c for c, _, _ in options))
    examples = entry.examples()
    for i, (_, option, label) in enumerate(options):
        if i in examples:
            continue
        alone = kp.KeyEntry((option,), (0,)).examples().get(0)
        winner = entry.finish(alone.keys).option if alone is not None else None
        by = f": {options[winner][1].label} (line {options[winner][2].span.line}) takes " \
            f"{alone.keys}" if winner is not None and alone is not None else ""  # fmt: skip
        ctx.warning(
            "W240",
            f"option {option.label} can never be chosen: an earlier option always wins{by}",
            label.span,
            "the first option that matches the whole entry wins: put the narrower one first",
        )
    for i, (_, option, label) in enumerate(options):
        example = examples.get(i)
        if option.kind != "keys" or len(option.text) != 1 or example is None:
            continue
        if not example.at_once:
            longer = next(
                (o.label for j, (_, o, _) in enumerate(options) if j != i
                 and o.automaton.extends(o.automaton.step(o.automaton.start, option.text))),
                "a longer option",
            )  # fmt: skip
            ctx.warning(
                "W241",
                f"key {option.text} waits the inter-digit time-out: {longer} starts with it",
                label.span,
                "give the longer options a first key of their own, or the caller ends with #",
            )
    return entry


__all__ = ["key_entry", "option_of"]
