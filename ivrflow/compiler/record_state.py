"""The record state: the host records a message from the caller; the call keeps its reference."""

from __future__ import annotations

from .. import model
from ..lang import ast
from .branches import sort_branches
from .input_states import spoken_setting
from .kinds import StateEnv, StateParts
from .settings import Settings
from .vocabulary import DTMF_KEYS, RECORD_SETTINGS, RECORD_WORDS


def record(env: StateEnv, parts: StateParts) -> model.Record:
    """`record voicemail:` — the host records the caller; the call keeps the reference."""
    ctx, decl = env.ctx, parts.decl
    s = Settings(ctx, "a record", RECORD_SETTINGS, parts.settings)
    max_length = s.duration("max", 60.0)
    if not 1.0 <= max_length <= 3600.0:
        ctx.error(
            "E121",
            "'max' expects a length from 1s to 1h",
            s.by_name["max"].values[0].span if s.by_name["max"].values else s.by_name["max"].span,
            "a voicemail is usually 1m to 3m",
        )
    silence: float | None = 5.0
    setting = s.get("silence")
    if setting is not None and [getattr(v, "path", None) for v in setting.values] == [("off",)]:
        silence = None
    elif setting is None:
        silence = min(5.0, max_length)
    else:
        silence = s.duration("silence", 5.0)
        if not 0.5 <= silence <= max_length:
            ctx.error(
                "E121",
                "'silence' expects a length from 0.5s up to 'max'",
                setting.values[0].span if setting.values else setting.span,
                "or: silence off (only the finish keys and 'max' end it)",
            )
    finish = "#"
    setting = s.get("finish")
    if setting is not None:
        value = setting.values[0] if len(setting.values) == 1 else None
        if isinstance(value, ast.Ref) and value.path == ("none",):
            finish = ""
        elif (
            isinstance(value, ast.Literal)
            and value.kind in ("string", "number")
            and value.text
            and set(value.text) <= DTMF_KEYS
        ):
            finish = "".join(dict.fromkeys(value.text))
        else:
            ctx.error(
                "E121",
                '\'finish\' expects phone keys, like "#" or "#*", or none',
                value.span if value is not None else setting.span,
            )
    consent = spoken_setting(env, s, "consent")
    prompt = env.statements.body(parts.statements)
    into = s.name("into")
    outcomes, _, _ = sort_branches(env.statements, parts.branches, RECORD_WORDS, "a record", 1)
    if "ok" not in outcomes:
        ctx.error(
            "E122",
            f"record '{decl.name}' has no 'ok' branch",
            decl.name_span,
            "add: ok -> thanks",
        )
    if consent is None and not prompt:
        ctx.warning(
            "W222",
            f"record '{decl.name}' records the caller without telling them",
            decl.name_span,
            'say what is recorded and why first: consent "Sua mensagem será gravada." '
            "(many jurisdictions require it)",
        )
    ok, silent, error = outcomes.get("ok"), outcomes.get("silent"), outcomes.get("error")
    return model.Record(
        decl.name,
        ctx.where(decl.span),
        ((consent,) if consent is not None else ()) + prompt,
        into[0] if into else decl.name,
        max_length,
        silence,
        finish,
        s.switch("beep", True),
        s.switch("playback", False),
        ok[1] if ok else (),
        silent[1] if silent else None,
        error[1] if error else None,
    )


__all__ = ["record"]
