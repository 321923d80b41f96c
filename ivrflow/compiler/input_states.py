"""The states that wait for the caller: menu, capture and callback offer.

Each reads the input settings (timeout, interdigit, retries, confidence, defaulting to the
flow header's), escalates on no-input and no-match, and ends on `exhausted`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType

from .. import model
from ..lang import ast
from ..model import speech, validators
from ..model.escalation import exhausted_reachable
from ..model.walk import ends
from . import prompt_checks, recognition
from .branches import (
    escalation,
    escalation_lines,
    limit_exits,
    sort_branches,
    warn_unhandled,
)
from .context import Context
from .expressions import compile_regex, literal_value, number_value
from .kinds import StateEnv, StateParts
from .menu_keys import key_entry, option_of
from .settings import Settings
from .vocabulary import (
    CALLBACK_SETTINGS,
    CALLBACK_WORDS,
    CAPTURE_SETTINGS,
    CAPTURE_WORDS,
    DTMF_KEYS,
    KEY_WORDS,
    MENU_SETTINGS,
    MENU_WORDS,
)


def unheard_phrases(
    ctx: Context, owner: str, inp: model.InputSettings, spans: list[ast.Span]
) -> None:
    """W230: phrases in a state that hears keys only (`input dtmf`, the header's or its own)."""
    if spans and inp.modes == ("dtmf",):
        ctx.warning(
            "W230",
            f"{owner} hears keys only: its phrases can never be said",
            spans[0],
            "let it hear speech (input dtmf speech), or drop the phrases",
        )


def input_settings(env: StateEnv, s: Settings) -> model.InputSettings:
    return read_input_settings(s, env.defaults.input)


def read_input_settings(s: Settings, d: model.InputSettings) -> model.InputSettings:
    """The input settings given in a header or a state, over `d`."""
    retries, noinput, nomatch = s.retries(d)
    counts = s.get("counts")
    reset = d.reset if counts is None else s.word(counts, ("kept", "reset")) == "reset"
    return model.InputSettings(
        timeout=s.duration("timeout", d.timeout),
        interdigit=s.duration("interdigit", d.interdigit),
        retries=retries,
        confidence=s.fraction("confidence", d.confidence),
        noinput_limit=noinput,
        nomatch_limit=nomatch,
        reset=reset,
        modes=recognition.modes(s, d.modes),
        recognizer=recognition.recognizer(s, d.recognizer),
    )


# ---------------------------------------------------------------- menu
def menu(env: StateEnv, parts: StateParts) -> model.Menu:
    ctx, decl, branches = env.ctx, parts.decl, parts.branches
    s = Settings(ctx, "a menu", MENU_SETTINGS, parts.settings)
    inp = input_settings(env, s)
    into = s.name("into")
    outcomes, esc, choice_branches = sort_branches(
        env.statements, branches, MENU_WORDS, "a menu", inp, keys_ok=True
    )
    keys_seen: dict[str, ast.Span] = {}
    phrases_seen: dict[str, ast.Span] = {}
    choices: list[model.Choice] = []
    sequences_seen: dict[str, ast.Span] = {}
    options: list[tuple[int, model.KeyOption, ast.Label]] = []
    for b in choice_branches:
        keys, phrases, sequences = [], [], []
        for lb in b.labels:
            key = KEY_WORDS.get(lb.text, lb.text) if lb.kind != "regex" else ""
            if lb.kind == "regex" or (
                lb.kind != "word"
                and key not in DTMF_KEYS
                and (
                    lb.kind == "phrase"
                    and (key.startswith("_") or _all_keys(key))
                    or lb.kind == "key"
                    and key.isdigit()
                )
            ):
                option = option_of(ctx, lb, sequences_seen)
                if option is not None:
                    sequences.append(option)
                    options.append((len(choices), option, lb))
                continue
            if lb.kind == "phrase" and key not in DTMF_KEYS:
                norm = speech.normalize(lb.text)
                if not norm:
                    ctx.error("E125", "an empty phrase matches nothing", lb.span)
                elif norm in phrases_seen:
                    ctx.error(
                        "E125",
                        f'phrase "{lb.text}" is already a choice',
                        lb.span,
                        f"first on line {phrases_seen[norm].line}",
                    )
                phrases_seen.setdefault(norm, lb.span)
                phrases.append(lb.text)
                continue
            if key not in DTMF_KEYS:
                ctx.error(
                    "E126",
                    f"'{lb.text}' is not a phone key",
                    lb.span,
                    "keys are 0-9, * (or star) and hash",
                )
                continue
            if key in keys_seen:
                ctx.error(
                    "E124",
                    f"key {key} is already a choice",
                    lb.span,
                    f"first on line {keys_seen[key].line}",
                )
            keys_seen.setdefault(key, lb.span)
            keys.append(key)
            options.append((len(choices), model.key_option(key, "keys"), lb))
        body = env.statements.body(b.body)
        if not ends(body):
            env.statements.dead_end(b.labels[0].span, f"choice '{b.labels[0].text}'")
        choices.append(
            model.Choice(ctx.where(b.span), tuple(keys), tuple(phrases), body, tuple(sequences))
        )
    entry = key_entry(ctx, options) if sequences_seen else None
    if not choices:
        ctx.error(
            "E122",
            f"menu '{decl.name}' offers no choices",
            decl.name_span,
            'add a line like: 1, "billing" -> billing_menu',
        )
    exits = limit_exits(ctx, decl, inp, outcomes)
    warn_unhandled(ctx, decl, esc, outcomes, exhausted_reachable(inp, exits))
    phrase_spans = [span for span in phrases_seen.values()]
    unheard_phrases(ctx, f"menu '{decl.name}'", inp, phrase_spans)
    prompt_checks.check_keys(
        ctx,
        f"menu '{decl.name}'",
        [*parts.statements, *escalation_lines(branches)],
        set(keys_seen),
    )
    exhausted = outcomes.get("exhausted")
    return model.Menu(
        decl.name,
        ctx.where(decl.span),
        env.statements.body(parts.statements),
        tuple(choices),
        escalation(esc["noinput"]),
        escalation(esc["nomatch"]),
        exhausted[1] if exhausted else None,
        inp,
        exits,
        entry,
        into[0] if into else None,
    )


def _all_keys(text: str) -> bool:
    """A string label of keys only (`"100"`, `"*72"`) is a key sequence, not a phrase."""
    return bool(text) and all(c in DTMF_KEYS for c in text)


# ---------------------------------------------------------------- capture
def capture(env: StateEnv, parts: StateParts) -> model.Capture:
    ctx, decl = env.ctx, parts.decl
    s = Settings(ctx, "a capture", CAPTURE_SETTINGS, parts.settings)
    inp = input_settings(env, s)
    if s.get("input") is None and (s.get("words") is not None or s.get("secure") is not None):
        # Words are heard, never keyed; a secure entry is keyed, never heard (recognizers log).
        inp = dataclasses.replace(inp, modes=("speech",) if s.get("words") else ("dtmf",))
    low, high = s.digit_range("digits", (1, 20))
    terminator: str | None = "#"
    end = s.get("end")
    if end is not None:
        v = end.values[0] if len(end.values) == 1 else None
        if isinstance(v, ast.Ref) and v.path == ("none",):
            terminator = None
        elif isinstance(v, ast.Literal) and v.kind == "string" and v.text in DTMF_KEYS:
            terminator = v.text
        else:
            where = end.values[0].span if end.values else end.span
            ctx.error("E121", "'end' expects one key, like \"#\", or none", where)
    validators_ = tuple(v for v in (validator(env, x) for x in s.all("valid")) if v)
    words = recognition.words(s)
    if words is not None and s.get("input") is not None and "dtmf" in (inp.modes or ()):
        ctx.error(
            "E171",
            f"capture '{decl.name}' takes words: the caller cannot key them in",
            s.by_name["input"].span,
            "a capture of words hears speech only: remove 'input', or write input speech",
        )
    if words is None and s.get("digits") is None and not s.all("valid"):
        ctx.warning(
            "W221",
            f"capture '{decl.name}' takes any 1 to 20 keys: it has no validation and no length",
            decl.name_span,
            'say what a good entry is: `digits 6..10`, `valid luhn`, `valid regex "…"`',
        )
    confirm_ = confirm(env, s)
    into = s.name("into")
    outcomes, esc, _ = sort_branches(
        env.statements, parts.branches, CAPTURE_WORDS, "a capture", inp
    )
    if "ok" not in outcomes:
        ctx.error(
            "E122",
            f"capture '{decl.name}' has no 'ok' branch",
            decl.name_span,
            "add: ok -> next_state",
        )
    exits = limit_exits(ctx, decl, inp, outcomes)
    warn_unhandled(ctx, decl, esc, outcomes, exhausted_reachable(inp, exits))
    ok = outcomes.get("ok")
    exhausted = outcomes.get("exhausted")
    return model.Capture(
        decl.name,
        ctx.where(decl.span),
        env.statements.body(parts.statements),
        into[0] if into else decl.name,
        low,
        high,
        terminator,
        validators_,
        confirm_,
        s.flag("secure"),
        ok[1] if ok else (),
        escalation(esc["noinput"]),
        escalation(esc["nomatch"]),
        exhausted[1] if exhausted else None,
        inp,
        words,
        exits,
    )


def confirm(env: StateEnv, s: Settings) -> model.Say | None:
    """`confirm "text"` or `confirm prompt_name` (every language of a named prompt)."""
    return spoken_setting(env, s, "confirm")


def spoken_setting(env: StateEnv, s: Settings, name: str) -> model.Say | None:
    """A setting that says something: `name "text"` or `name prompt_name`."""
    ctx = env.ctx
    conf = s.get(name)
    if conf is None:
        return None
    v = conf.values[0] if len(conf.values) == 1 else None
    if isinstance(v, ast.Literal) and v.kind == "string":
        env.statements.check_template(v.text, v.span)
        text: Mapping[str, str] = {"": v.text}
    elif isinstance(v, ast.Ref) and len(v.path) == 1 and v.path[0] in ctx.symbols.prompts:
        text = {t.language: t.text for t in ctx.symbols.prompts[v.path[0]].node.texts}
    else:
        ctx.error(
            "E121",
            f"'{name}' expects a \"text\" or the name of a prompt",
            v.span if v is not None else conf.span,
        )
        return None
    return model.Say(ctx.where(conf.span), MappingProxyType(text), None, None, None)


def validator(env: StateEnv, s: ast.Setting) -> model.Validator | None:
    """One `valid name args…` setting of a capture."""
    ctx = env.ctx
    if not s.values or not isinstance(s.values[0], ast.Ref):
        ctx.error(
            "E133",
            "'valid' expects a validation name",
            s.span,
            "validations: " + ", ".join(sorted(validators.BUILTIN)),
        )
        return None
    name = s.values[0].path[0]
    if name not in validators.BUILTIN:
        ctx.unknown(
            "E133",
            "validation",
            name,
            s.values[0].span,
            validators.BUILTIN,
            "validations: " + ", ".join(sorted(validators.BUILTIN)),
        )
        return None
    args: list[object] = []
    for v in s.values[1:]:
        if isinstance(v, ast.RangeValue):
            args.extend([number_value(v.low.text), number_value(v.high.text)])
        elif isinstance(v, ast.Literal):
            args.append(literal_value(ctx, v))
        else:
            args.append(None)
    bad_regex = name == "regex" and len(args) == 1 and isinstance(args[0], str)
    if bad_regex and compile_regex(ctx, str(args[0]), s.values[1].span) is None:
        return None
    problem = validators.check_args(name, tuple(args))
    if problem:
        span = s.values[1].span.to(s.values[-1].span) if len(s.values) > 1 else s.span
        ctx.error("E133", problem, span, validators.BUILTIN[name].description)
        return None
    return model.Validator(name, tuple(args), ctx.where(s.span))


# ---------------------------------------------------------------- callback offer
def callback(env: StateEnv, parts: StateParts) -> model.CallbackOffer:
    ctx, decl, branches = env.ctx, parts.decl, parts.branches
    s = Settings(ctx, "a callback", CALLBACK_SETTINGS, parts.settings)
    inp = input_settings(env, s)
    queue = env.queue(s)
    if s.get("queue") is None:
        ctx.error(
            "E122",
            f"callback '{decl.name}' has no queue",
            decl.name_span,
            "add: queue name (the team that will call back)",
        )
    number = s.expression("number") or model.Var("ani")
    confirm_ = confirm(env, s)
    accept, decline = answers(env, s, "accept", ("1",)), answers(env, s, "decline", ("2",))
    prompt_checks.check_keys(
        ctx,
        f"callback '{decl.name}'",
        [*parts.statements, *escalation_lines(branches)],
        {k for k in accept + decline if k in DTMF_KEYS},
    )
    outcomes, esc, _ = sort_branches(env.statements, branches, CALLBACK_WORDS, "a callback", inp)
    if "scheduled" not in outcomes:
        ctx.error(
            "E122",
            f"callback '{decl.name}' has no 'scheduled' branch",
            decl.name_span,
            "add: scheduled -> goodbye",
        )
    exits = limit_exits(ctx, decl, inp, outcomes)
    scheduled = outcomes.get("scheduled")
    declined, failed = outcomes.get("declined"), outcomes.get("failed")
    exhausted = outcomes.get("exhausted")
    return model.CallbackOffer(
        decl.name,
        ctx.where(decl.span),
        env.statements.body(parts.statements),
        queue or "",
        number,
        confirm_,
        window(env, s),
        accept,
        decline,
        scheduled[1] if scheduled else (),
        declined[1] if declined else None,
        failed[1] if failed else None,
        escalation(esc["noinput"]),
        escalation(esc["nomatch"]),
        exhausted[1] if exhausted else None,
        inp,
        exits,
    )


def window(env: StateEnv, s: Settings) -> str | tuple[dt.time, dt.time] | None:
    """`window office` (an hours name) or `window 09:00 18:00`."""
    ctx = env.ctx
    w = s.get("window")
    if w is None:
        return None
    v = w.values
    if len(v) == 1 and isinstance(v[0], ast.Ref) and len(v[0].path) == 1:
        if v[0].path[0] not in ctx.symbols.hours:
            ctx.unknown("E106", "hours", v[0].path[0], v[0].span, ctx.symbols.hours)
            return None
        return v[0].path[0]
    if len(v) == 2 and all(isinstance(x, ast.Literal) and x.kind == "time" for x in v):
        a, b = (literal_value(ctx, x) for x in v if isinstance(x, ast.Literal))
        if not (isinstance(a, dt.time) and isinstance(b, dt.time)):
            return None
        if b <= a:
            ctx.error("E148", "the window ends before it starts", w.span)
        return (a, b)
    ctx.error("E121", "'window' expects an hours name or two times, like 09:00 18:00", w.span)
    return None


def answers(env: StateEnv, s: Settings, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """The keys and phrases of `accept` or `decline`."""
    setting = s.get(name)
    if setting is None:
        return default
    out = []
    for v in setting.values:
        if (
            isinstance(v, ast.Literal)
            and v.kind == "number"
            and v.text in DTMF_KEYS
            or isinstance(v, ast.Literal)
            and v.kind == "string"
        ):
            out.append(v.text)
        else:
            env.ctx.error("E121", f"'{name}' expects keys and phrases, like 1 \"yes\"", v.span)
    return tuple(out)


__all__ = ["callback", "capture", "confirm", "input_settings", "menu", "validator"]
