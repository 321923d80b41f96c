"""States and statements: syntax → model, with the per-kind checks.

A state body mixes statements (say, set, if …), settings (`timeout 5s`) and
branches (`1 -> account`, `noinput 2: …`). This module sorts them out per
kind and reports what does not belong, with the words the kind does accept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from .. import model
from ..errors import did_you_mean
from ..lang import ast
from ..model import speech, templates, validators
from ..model.walk import ends
from . import prompt_checks
from .context import Context, Symbols
from .expressions import compile_expr, compile_regex, literal_value, number_value
from .settings import Settings

Lines = Sequence[ast.Line]

INPUT_SETTINGS = {
    "timeout": "how long to wait for the first key or word",
    "interdigit": "how long to wait between keys",
    "retries": "no-input and no-match attempts before exhausted",
    "confidence": "ASR confidence below which a spoken choice is confirmed",
}
CAPTURE_SETTINGS = INPUT_SETTINGS | {
    "digits": "how many digits: 4 or 6..10",
    "end": 'the terminator key, "#" by default, or none',
    "valid": '*a validation: luhn, cpf, cnpj, mod11, regex "…", range 1..31, date "DDMMYYYY"',
    "confirm": "a read-back prompt: 1 accepts, 2 re-enters",
    "secure": "mask the digits in records, traces, logs and snapshots",
    "into": "the variable that receives the digits (the state's name by default)",
}
LOOKUP_SETTINGS = {"timeout": "how long the host function may take"}
TRANSFER_SETTINGS = {
    "queue": "the ACD queue to transfer into",
    "number": "an external number to transfer to",
    "priority": "the call's priority in the queue",
    "skills": "skills an agent needs, e.g. [billing, spanish]",
    "announce": "tell the caller the wait: ewt, position or both",
}
CALLBACK_SETTINGS = INPUT_SETTINGS | {
    "queue": "the queue that will call back",
    "number": "the number to call back (the caller's by default)",
    "confirm": "a read-back of the number: 1 confirms, 2 enters another",
    "window": "when to call back: an hours name or 09:00 18:00",
    "accept": "keys and phrases that accept the offer (1 by default)",
    "decline": "keys and phrases that decline it (2 by default)",
}

ESCALATIONS = ("noinput", "nomatch")
MENU_WORDS = {"noinput", "nomatch", "exhausted", "hash", "pound", "star"}
CAPTURE_WORDS = {"ok", "noinput", "nomatch", "invalid", "exhausted"}
LOOKUP_WORDS = {"ok", "error"}
TRANSFER_WORDS = {"busy", "noanswer", "full", "failed"}
CALLBACK_WORDS = {"scheduled", "declined", "failed", "noinput", "nomatch", "exhausted"}
KEY_WORDS = {"hash": "#", "pound": "#", "star": "*"}
DTMF_KEYS = frozenset("0123456789*#")
HANGUP_OUTCOMES = ("self_served", "error")  # abandoned, transferred … are not the flow's to say
READ_ONLY = frozenset({"ani", "dnis", "call_id", "now", "ewt", "position"})


def secure_variables(sym: Symbols) -> set[str]:
    """Variables that `secure` captures fill, by name."""
    out = set()
    for d in sym.states.values():
        node = d.node
        if node.kind != "capture":
            continue
        settings = {x.name: x for x in node.body if isinstance(x, ast.Setting)}
        if "secure" in settings:
            into = settings.get("into")
            value = into.values[0] if into and into.values else None
            out.add(value.path[0] if isinstance(value, ast.Ref) else node.name)
    return out


def _escalation_lines(branches: Sequence[ast.Branch]) -> list[ast.Line]:
    return [
        line for b in branches if any(lb.text in ESCALATIONS for lb in b.labels) for line in b.body
    ]


def _name_span(span: ast.Span, name: str) -> ast.Span:
    """Just the name at the start of `span` (a call's function name)."""
    return ast.Span(span.line, span.column, span.line, span.column + len(name))


def _literal_text(lit: ast.Literal) -> str:
    return f'"{lit.text}"' if lit.kind == "string" else lit.text


class StateCompiler:
    def __init__(
        self, ctx: Context, defaults: model.FlowSettings, queues: Mapping[str, model.Queue]
    ):
        self.ctx = ctx
        self.defaults = defaults
        self.queues = queues
        self.state_names = ctx.symbols.states
        self.secure = secure_variables(ctx.symbols)
        self.current: ast.StateDecl | None = None

    # ------------------------------------------------------------ statements
    def body(self, lines: Lines) -> model.Body:
        out: list[model.Statement] = []
        for line in lines:
            if isinstance(line, ast.Setting | ast.Branch):
                what = "setting" if isinstance(line, ast.Setting) else "branch"
                self.ctx.error(
                    "E129",
                    f"a {what} cannot go inside if, switch or a branch",
                    line.span,
                    "settings and branches belong directly under the state",
                )
                continue
            stmt = self.statement(line)
            if stmt is not None:
                out.append(stmt)
        return tuple(out)

    def statement(self, s: ast.Statement) -> model.Statement | None:
        ctx = self.ctx
        where = ctx.where(s.span)
        if isinstance(s, ast.Say):
            return self.say(s)
        if isinstance(s, ast.Play):
            if not s.path.strip():
                ctx.error("E121", "play needs an audio file", s.path_span)
            return model.Play(where, s.path, self._barge_in(s.options))
        if isinstance(s, ast.Set):
            if s.name in READ_ONLY:
                ctx.error(
                    "E138",
                    f"'{s.name}' is read-only",
                    s.name_span,
                    "copy it into a variable of your own: set caller = ani",
                )
            return model.Assign(where, s.name, compile_expr(ctx, s.expr))
        if isinstance(s, ast.Goto):
            return model.Goto(where, self.target(s.target, s.target_span))
        if isinstance(s, ast.Hangup):
            outcome = s.outcome or "self_served"
            if outcome not in HANGUP_OUTCOMES:
                ctx.error(
                    "E121",
                    f"a hang-up ends as self_served or error, not '{outcome}'",
                    s.outcome_span,
                    did_you_mean(outcome, HANGUP_OUTCOMES)
                    or 'write: hangup "transfer failed" as error',
                )
                outcome = "self_served"
            return model.Hangup(where, s.reason, outcome)
        if isinstance(s, ast.CallSub):
            return model.CallSub(where, self.target(s.target, s.target_span, special=False))
        if isinstance(s, ast.Return):
            return model.Return(where)
        if isinstance(s, ast.If):
            return model.If(
                where,
                tuple(
                    (
                        compile_expr(ctx, b.condition) if b.condition is not None else None,
                        self.body(b.body),
                    )
                    for b in s.branches
                ),
            )
        if isinstance(s, ast.Switch):
            return self.switch(s)
        return self.split(s)

    def target(self, name: str, span: ast.Span, special: bool = True) -> str:
        if special and name in model.SPECIAL_TARGETS:
            if name == model.REPEAT and (
                self.current is None or self.current.kind not in ("menu", "capture", "callback")
            ):
                self.ctx.error(
                    "E139",
                    "'repeat' only works inside a menu, capture or callback",
                    span,
                    "name the state to go to instead",
                )
            return name
        if name not in self.state_names:
            self.ctx.unknown("E104", "state", name, span, self.state_names)
        return name

    def say(self, s: ast.Say) -> model.Say:
        ctx = self.ctx
        if s.prompt is not None:
            decl = ctx.symbols.prompts.get(s.prompt)
            if decl is None:
                ctx.unknown(
                    "E110",
                    "prompt",
                    s.prompt,
                    s.prompt_span,
                    ctx.symbols.prompts,
                    'declare it: prompt name: en-US "…"',
                )
                text: Mapping[str, str] = {}
            else:
                text = {t.language: t.text for t in decl.node.texts}
        else:
            assert s.text is not None
            self.check_template(s.text, s.prompt_span)
            text = {"": s.text}
        opts = {o.name: o.value for o in s.options}
        return model.Say(
            ctx.where(s.span),
            MappingProxyType(dict(text)),
            self._barge_in(s.options),
            opts.get("voice"),
            opts.get("language"),
        )

    def check_template(self, text: str, span: ast.Span, path: str | None = None) -> None:
        for p in templates.check(text, self.ctx.known_variables):
            col = span.column + 1 + p.offset if span.line == span.end_line else span.column
            hint = p.hint
            if p.code == "E151":
                hint = did_you_mean(p.message.split("'")[1], self.ctx.known_variables) or hint
            self.ctx.error(
                p.code,
                p.message,
                ast.Span(span.line, col, span.line, col + max(p.length, 1)),
                hint,
                path,
            )

    def _barge_in(self, options: Sequence[ast.SayOption]) -> bool | None:
        for o in options:
            if o.name == "barge-in":
                return o.value == "on"
        return None

    def switch(self, s: ast.Switch) -> model.Switch:
        seen: dict[object, ast.Span] = {}
        cases: list[tuple[tuple[object, ...], model.Body]] = []
        for n, case in enumerate(s.cases):
            if not case.values and n != len(s.cases) - 1:
                self.ctx.error("E138", "'else' must be the last case", case.span)
            values = []
            for lit in case.values:
                v = literal_value(self.ctx, lit)
                if v in seen:
                    self.ctx.error(
                        "E125",
                        f"case {_literal_text(lit)} appears twice",
                        lit.span,
                        f"first on line {seen[v].line}",
                    )
                seen[v] = lit.span
                values.append(v)
            cases.append((tuple(values), self.body(case.body)))
        return model.Switch(self.ctx.where(s.span), compile_expr(self.ctx, s.subject), tuple(cases))

    def split(self, s: ast.Split) -> model.Split:
        branches: list[tuple[float, model.Body]] = []
        for b in s.branches:
            label = b.labels[0]
            if len(b.labels) != 1 or label.kind != "percent":
                self.ctx.error(
                    "E123", "split branches are percentages, like: 30% -> new_menu", label.span
                )
                continue
            body = self.body(b.body)
            if not ends(body):
                self._dead_end(label.span, label.text)
            branches.append((float(label.text.rstrip("%")), body))
        total = sum(w for w, _ in branches)
        if branches and abs(total - 100) > 1e-9:
            self.ctx.error("E128", f"split percentages add up to {total:g}%, not 100%", s.span)
        return model.Split(self.ctx.where(s.span), tuple(branches))

    def _dead_end(self, span: ast.Span, what: str) -> None:
        self.ctx.error(
            "E130",
            f"after {what} the call has nowhere to go",
            span,
            "end it with '-> state', 'goto state', 'hangup' or 'return'",
        )

    # ------------------------------------------------------------ state bodies
    def state(self, decl: ast.StateDecl) -> model.State:
        self.current = decl
        confirms = [
            (v.text, v.span)
            for x in decl.body
            if isinstance(x, ast.Setting) and x.name == "confirm"
            for v in x.values
            if isinstance(v, ast.Literal) and v.kind == "string"
        ]
        prompt_checks.check_secure(self.ctx, decl.body, self.secure, confirms)
        statements = [x for x in decl.body if not isinstance(x, ast.Setting | ast.Branch)]
        settings = [x for x in decl.body if isinstance(x, ast.Setting)]
        branches = [x for x in decl.body if isinstance(x, ast.Branch)]
        kind = decl.kind
        if kind == "menu":
            return self.menu(decl, statements, settings, branches)
        if kind == "capture":
            return self.capture(decl, statements, settings, branches)
        if kind == "lookup":
            return self.lookup(decl, statements, settings, branches)
        if kind == "transfer":
            return self.transfer(decl, statements, settings, branches)
        if kind == "callback":
            return self.callback(decl, statements, settings, branches)
        Settings(self.ctx, "a step", {}, settings)
        for b in branches:
            self.ctx.error(
                "E123",
                "a step has no branches",
                b.labels[0].span,
                "use '-> state', goto or if inside a step",
            )
        body = self.body(statements)
        if not ends(body):
            self.ctx.error(
                "E130",
                f"state '{decl.name}' can end without moving on",
                decl.name_span,
                "end it with '-> state', 'goto state', 'hangup' or 'return'",
            )
        return model.Step(decl.name, self.ctx.where(decl.span), body)

    def _input(self, s: Settings) -> model.InputSettings:
        d = self.defaults.input
        return model.InputSettings(
            timeout=s.duration("timeout", d.timeout),
            interdigit=s.duration("interdigit", d.interdigit),
            retries=s.integer("retries", d.retries, 1, 20),
            confidence=s.fraction("confidence", d.confidence),
        )

    def _branches(
        self,
        branches: Sequence[ast.Branch],
        words: set[str],
        owner: str,
        retries: int,
        keys_ok: bool = False,
    ) -> tuple[
        dict[str, tuple[ast.Branch, model.Body]], dict[str, dict[int, model.Body]], list[ast.Branch]
    ]:
        """Sort branches into outcomes (`ok -> …`), escalations and choices."""
        outcomes: dict[str, tuple[ast.Branch, model.Body]] = {}
        escalations: dict[str, dict[int, model.Body]] = {"noinput": {}, "nomatch": {}}
        choices: list[ast.Branch] = []
        for b in branches:
            words_here = [
                lb for lb in b.labels if lb.kind in ("word", "counted") and lb.text not in KEY_WORDS
            ]
            if not words_here:
                if keys_ok and all(lb.kind in ("key", "phrase", "word") for lb in b.labels):
                    choices.append(b)
                else:
                    bad = next(
                        lb for lb in b.labels if not (keys_ok and lb.kind in ("key", "phrase"))
                    )
                    self.ctx.error(
                        "E123",
                        f"{owner} has no branch '{bad.text}'",
                        bad.span,
                        "branches here: " + ", ".join(sorted(words)),
                    )
                continue
            body = self.body(b.body)
            for lb in b.labels:
                name = "nomatch" if lb.text == "invalid" else lb.text
                if lb.kind in ("key", "phrase", "percent") or lb.text not in words:
                    self.ctx.error(
                        "E123",
                        f"{owner} has no branch '{lb.text}'",
                        lb.span,
                        did_you_mean(lb.text, words)
                        or "branches here: " + ", ".join(sorted(words)),
                    )
                    continue
                if name in ESCALATIONS:
                    count = lb.nth or 0
                    if lb.kind == "counted" and not 1 <= count <= retries:
                        self.ctx.error(
                            "E135",
                            f"{lb.text} {count} can never happen: retries is {retries}",
                            lb.span,
                            f"counts go from 1 to {retries}; raise 'retries' for more",
                        )
                    if count in escalations[name]:
                        self.ctx.error(
                            "E101",
                            f"'{lb.text} {count or ''}'".replace(" '", "'") + " is handled twice",
                            lb.span,
                        )
                    escalations[name][count] = body
                    continue
                if lb.kind == "counted":
                    self.ctx.error("E123", f"'{lb.text}' takes no count", lb.span)
                if name in outcomes:
                    self.ctx.error(
                        "E101",
                        f"'{name}' is handled twice",
                        lb.span,
                        f"first on line {outcomes[name][0].span.line}",
                    )
                    continue
                if not ends(body):
                    self._dead_end(lb.span, f"'{lb.text}'")
                outcomes[name] = (b, body)
        return outcomes, escalations, choices

    def _escalation(self, by_count: dict[int, model.Body]) -> model.Escalation:
        return model.Escalation(MappingProxyType(dict(sorted(by_count.items()))))

    def _warn_unhandled(
        self,
        decl: ast.StateDecl,
        escalations: dict[str, dict[int, model.Body]],
        outcomes: Mapping[str, object],
    ) -> None:
        for name, code in (("noinput", "W204"), ("nomatch", "W205")):
            if not escalations[name]:
                self.ctx.warning(
                    code,
                    f"{decl.kind} '{decl.name}' has no {name} handling",
                    decl.name_span,
                    f'the default prompt applies; add: {name}: say "…"',
                )
        if "exhausted" not in outcomes:
            self.ctx.warning(
                "W207",
                f"{decl.kind} '{decl.name}' has no exhausted branch",
                decl.name_span,
                "by default the caller hears an apology and the call ends; add: exhausted -> agent",
            )

    def menu(
        self,
        decl: ast.StateDecl,
        statements: Lines,
        settings: list[ast.Setting],
        branches: list[ast.Branch],
    ) -> model.Menu:
        s = Settings(self.ctx, "a menu", INPUT_SETTINGS, settings)
        inp = self._input(s)
        outcomes, esc, choice_branches = self._branches(
            branches, MENU_WORDS, "a menu", inp.retries, keys_ok=True
        )
        keys_seen: dict[str, ast.Span] = {}
        phrases_seen: dict[str, ast.Span] = {}
        choices = []
        for b in choice_branches:
            keys, phrases = [], []
            for lb in b.labels:
                if lb.kind == "phrase":
                    norm = speech.normalize(lb.text)
                    if not norm:
                        self.ctx.error("E125", "an empty phrase matches nothing", lb.span)
                    elif norm in phrases_seen:
                        self.ctx.error(
                            "E125",
                            f'phrase "{lb.text}" is already a choice',
                            lb.span,
                            f"first on line {phrases_seen[norm].line}",
                        )
                    phrases_seen.setdefault(norm, lb.span)
                    phrases.append(lb.text)
                    continue
                key = KEY_WORDS.get(lb.text, lb.text)
                if key not in DTMF_KEYS:
                    self.ctx.error(
                        "E126",
                        f"'{lb.text}' is not a phone key",
                        lb.span,
                        "keys are 0-9, * (or star) and hash",
                    )
                    continue
                if key in keys_seen:
                    self.ctx.error(
                        "E124",
                        f"key {key} is already a choice",
                        lb.span,
                        f"first on line {keys_seen[key].line}",
                    )
                keys_seen.setdefault(key, lb.span)
                keys.append(key)
            body = self.body(b.body)
            if not ends(body):
                self._dead_end(b.labels[0].span, f"choice '{b.labels[0].text}'")
            choices.append(model.Choice(self.ctx.where(b.span), tuple(keys), tuple(phrases), body))
        if not choices:
            self.ctx.error(
                "E122",
                f"menu '{decl.name}' offers no choices",
                decl.name_span,
                'add a line like: 1, "billing" -> billing_menu',
            )
        self._warn_unhandled(decl, esc, outcomes)
        prompt_checks.check_keys(
            self.ctx,
            f"menu '{decl.name}'",
            [*statements, *_escalation_lines(branches)],
            set(keys_seen),
        )
        exhausted = outcomes.get("exhausted")
        return model.Menu(
            decl.name,
            self.ctx.where(decl.span),
            self.body(statements),
            tuple(choices),
            self._escalation(esc["noinput"]),
            self._escalation(esc["nomatch"]),
            exhausted[1] if exhausted else None,
            inp,
        )

    def capture(
        self,
        decl: ast.StateDecl,
        statements: Lines,
        settings: list[ast.Setting],
        branches: list[ast.Branch],
    ) -> model.Capture:
        s = Settings(self.ctx, "a capture", CAPTURE_SETTINGS, settings)
        inp = self._input(s)
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
                self.ctx.error("E121", "'end' expects one key, like \"#\", or none", where)
        validators_ = tuple(v for v in (self.validator(x) for x in s.all("valid")) if v)
        confirm = self._confirm(s)
        into = s.name("into")
        outcomes, esc, _ = self._branches(branches, CAPTURE_WORDS, "a capture", inp.retries)
        if "ok" not in outcomes:
            self.ctx.error(
                "E122",
                f"capture '{decl.name}' has no 'ok' branch",
                decl.name_span,
                "add: ok -> next_state",
            )
        self._warn_unhandled(decl, esc, outcomes)
        ok = outcomes.get("ok")
        exhausted = outcomes.get("exhausted")
        return model.Capture(
            decl.name,
            self.ctx.where(decl.span),
            self.body(statements),
            into[0] if into else decl.name,
            low,
            high,
            terminator,
            validators_,
            confirm,
            s.flag("secure"),
            ok[1] if ok else (),
            self._escalation(esc["noinput"]),
            self._escalation(esc["nomatch"]),
            exhausted[1] if exhausted else None,
            inp,
        )

    def _confirm(self, s: Settings) -> model.Say | None:
        """`confirm "text"` or `confirm prompt_name` (every language of a named prompt)."""
        conf = s.get("confirm")
        if conf is None:
            return None
        v = conf.values[0] if len(conf.values) == 1 else None
        if isinstance(v, ast.Literal) and v.kind == "string":
            self.check_template(v.text, v.span)
            text: Mapping[str, str] = {"": v.text}
        elif isinstance(v, ast.Ref) and len(v.path) == 1 and v.path[0] in self.ctx.symbols.prompts:
            text = {t.language: t.text for t in self.ctx.symbols.prompts[v.path[0]].node.texts}
        else:
            self.ctx.error(
                "E121",
                "'confirm' expects a \"text\" or the name of a prompt",
                v.span if v is not None else conf.span,
            )
            return None
        return model.Say(self.ctx.where(conf.span), MappingProxyType(text), None, None, None)

    def validator(self, s: ast.Setting) -> model.Validator | None:
        if not s.values or not isinstance(s.values[0], ast.Ref):
            self.ctx.error(
                "E133",
                "'valid' expects a validation name",
                s.span,
                "validations: " + ", ".join(sorted(validators.BUILTIN)),
            )
            return None
        name = s.values[0].path[0]
        if name not in validators.BUILTIN:
            self.ctx.unknown(
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
                args.append(literal_value(self.ctx, v))
            else:
                args.append(None)
        bad_regex = name == "regex" and len(args) == 1 and isinstance(args[0], str)
        if bad_regex and compile_regex(self.ctx, str(args[0]), s.values[1].span) is None:
            return None
        problem = validators.check_args(name, tuple(args))
        if problem:
            span = s.values[1].span.to(s.values[-1].span) if len(s.values) > 1 else s.span
            self.ctx.error("E133", problem, span, validators.BUILTIN[name].description)
            return None
        return model.Validator(name, tuple(args), self.ctx.where(s.span))

    def lookup(
        self,
        decl: ast.StateDecl,
        statements: Lines,
        settings: list[ast.Setting],
        branches: list[ast.Branch],
    ) -> model.Lookup:
        ctx = self.ctx
        call = decl.call
        s = Settings(ctx, "a lookup", LOOKUP_SETTINGS, settings)
        fn_timeout: float | None = None
        args: tuple[model.Expression, ...] = ()
        if call is None:
            ctx.error(
                "E122",
                f"lookup '{decl.name}' calls no function",
                decl.name_span,
                f"write: lookup {decl.name} function_name(arguments) as result:",
            )
            function = ""
        else:
            function = call.function
            fn = ctx.symbols.functions.get(function)
            if fn is None:
                ctx.unknown(
                    "E108",
                    "function",
                    function,
                    _name_span(call.span, function),
                    ctx.symbols.functions,
                    f"declare the host function: function {function}(…)",
                )
            else:
                if len(fn.node.params) != len(call.args):
                    ctx.error(
                        "E111",
                        f"{function}() takes {len(fn.node.params)} argument"
                        f"{'s' if len(fn.node.params) != 1 else ''}, got {len(call.args)}",
                        call.span,
                        f"declared on line {fn.node.span.line} of {fn.path}",
                    )
                t = Settings(ctx, "a function", {"timeout": ""}, fn.node.settings)
                fn_timeout = t.duration("timeout", 5.0) if t.get("timeout") else None
            args = tuple(compile_expr(ctx, a) for a in call.args)
        outcomes, _, _ = self._branches(branches, LOOKUP_WORDS, "a lookup", 1)
        if "ok" not in outcomes:
            ctx.error(
                "E122",
                f"lookup '{decl.name}' has no 'ok' branch",
                decl.name_span,
                "add: ok -> next_state",
            )
        if "error" not in outcomes:
            ctx.warning(
                "W206",
                f"lookup '{decl.name}' has no error branch",
                decl.name_span,
                "by default the caller hears an apology and the call ends; add: error -> agent",
            )
        ok, error = outcomes.get("ok"), outcomes.get("error")
        return model.Lookup(
            decl.name,
            ctx.where(decl.span),
            self.body(statements),
            function,
            args,
            call.result if call else None,
            s.duration("timeout", fn_timeout or 5.0),
            ok[1] if ok else (),
            error[1] if error else None,
        )

    def transfer(
        self,
        decl: ast.StateDecl,
        statements: Lines,
        settings: list[ast.Setting],
        branches: list[ast.Branch],
    ) -> model.Transfer:
        ctx = self.ctx
        s = Settings(ctx, "a transfer", TRANSFER_SETTINGS, settings)
        queue = self._queue(s)
        number = s.expression("number")
        if queue is None and number is None and not s.get("queue"):
            ctx.error(
                "E122",
                f"transfer '{decl.name}' has no destination",
                decl.name_span,
                "add 'queue name' or 'number \"+15551234567\"'",
            )
        if queue is not None and number is not None:
            ctx.error(
                "E121",
                "a transfer goes to a queue or to a number, not both",
                s.by_name["number"].span,
            )
        skills = s.names("skills")
        if not skills and queue is not None:
            skills = self.queues[queue].skills
        announce = s.names("announce")
        for word in announce:
            if word not in ("ewt", "position"):
                setting = s.by_name["announce"]
                where = next(
                    (
                        v.span
                        for v in setting.values
                        if isinstance(v, ast.Ref) and v.path == (word,)
                    ),
                    setting.span,
                )
                ctx.error(
                    "E121",
                    f"cannot announce '{word}'",
                    where,
                    did_you_mean(word, ("ewt", "position")) or "announce ewt, position or both",
                )
        outcomes, _, _ = self._branches(branches, TRANSFER_WORDS, "a transfer", 1)
        return model.Transfer(
            decl.name,
            ctx.where(decl.span),
            self.body(statements),
            queue,
            number,
            s.expression("priority"),
            skills,
            announce,
            MappingProxyType({k: v[1] for k, v in outcomes.items()}),
        )

    def _queue(self, s: Settings) -> str | None:
        named = s.name("queue")
        if named is None:
            return None
        name, span = named
        if name not in self.ctx.symbols.queues:
            self.ctx.unknown(
                "E105", "queue", name, span, self.ctx.symbols.queues, f"declare it: queue {name}"
            )
            return None
        return name

    def callback(
        self,
        decl: ast.StateDecl,
        statements: Lines,
        settings: list[ast.Setting],
        branches: list[ast.Branch],
    ) -> model.CallbackOffer:
        ctx = self.ctx
        s = Settings(ctx, "a callback", CALLBACK_SETTINGS, settings)
        inp = self._input(s)
        queue = self._queue(s)
        if s.get("queue") is None:
            ctx.error(
                "E122",
                f"callback '{decl.name}' has no queue",
                decl.name_span,
                "add: queue name (the team that will call back)",
            )
        number = s.expression("number") or model.Var("ani")
        confirm = self._confirm(s)
        accept, decline = self._answers(s, "accept", ("1",)), self._answers(s, "decline", ("2",))
        prompt_checks.check_keys(
            self.ctx,
            f"callback '{decl.name}'",
            [*statements, *_escalation_lines(branches)],
            {k for k in accept + decline if k in DTMF_KEYS},
        )
        outcomes, esc, _ = self._branches(branches, CALLBACK_WORDS, "a callback", inp.retries)
        if "scheduled" not in outcomes:
            ctx.error(
                "E122",
                f"callback '{decl.name}' has no 'scheduled' branch",
                decl.name_span,
                "add: scheduled -> goodbye",
            )
        scheduled = outcomes.get("scheduled")
        declined, failed = outcomes.get("declined"), outcomes.get("failed")
        exhausted = outcomes.get("exhausted")
        return model.CallbackOffer(
            decl.name,
            ctx.where(decl.span),
            self.body(statements),
            queue or "",
            number,
            confirm,
            self._window(s),
            accept,
            decline,
            scheduled[1] if scheduled else (),
            declined[1] if declined else None,
            failed[1] if failed else None,
            self._escalation(esc["noinput"]),
            self._escalation(esc["nomatch"]),
            exhausted[1] if exhausted else None,
            inp,
        )

    def _window(self, s: Settings) -> str | tuple[dt.time, dt.time] | None:
        w = s.get("window")
        if w is None:
            return None
        v = w.values
        if len(v) == 1 and isinstance(v[0], ast.Ref) and len(v[0].path) == 1:
            if v[0].path[0] not in self.ctx.symbols.hours:
                self.ctx.unknown("E106", "hours", v[0].path[0], v[0].span, self.ctx.symbols.hours)
                return None
            return v[0].path[0]
        if len(v) == 2 and all(isinstance(x, ast.Literal) and x.kind == "time" for x in v):
            a, b = (literal_value(self.ctx, x) for x in v if isinstance(x, ast.Literal))
            if not (isinstance(a, dt.time) and isinstance(b, dt.time)):
                return None
            if b <= a:
                self.ctx.error("E148", "the window ends before it starts", w.span)
            return (a, b)
        self.ctx.error(
            "E121", "'window' expects an hours name or two times, like 09:00 18:00", w.span
        )
        return None

    def _answers(self, s: Settings, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
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
                self.ctx.error("E121", f"'{name}' expects keys and phrases, like 1 \"yes\"", v.span)
        return tuple(out)


__all__ = ["StateCompiler", "ends"]
