"""A queue transfer's `while waiting:` block — the in-queue flow: hold music, a periodic
message with the caller's position and EWT, and keys that leave the queue (for a callback
that keeps the caller's place). Checked like every other state's settings and branches.

    transfer agent:
      queue billing
      max_wait 15m
      while waiting:
        music default
        every 45s
        announce position, ewt
        say "Press 1 to be called back without losing your place."
        1 -> queue_callback
      noanswer -> queue_callback
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from .. import model
from ..errors import did_you_mean
from ..lang import ast
from ..model.walk import ends
from .kinds import StateEnv
from .settings import Settings
from .vocabulary import DTMF_KEYS, HOLD_SETTINGS, KEY_WORDS

WHILE_WAITING = "while waiting"
ANNOUNCEMENTS = ("position", "ewt")
EVERY_DEFAULT = 30.0  # seconds, as Amazon Connect's and Genesys' default in-queue loops
EVERY_MIN, EVERY_MAX = 10.0, 600.0  # Asterisk's and Twilio's loops are not made for less/more


def is_hold(branch: ast.Branch) -> bool:
    return len(branch.labels) == 1 and branch.labels[0].text == WHILE_WAITING


def hold(
    env: StateEnv, blocks: Sequence[ast.Branch], to_queue: bool, max_wait: float | None
) -> model.Hold | None:
    """The transfer's `while waiting:` block compiled, or None (E185–E188, W243)."""
    ctx = env.ctx
    if not blocks:
        return None
    block = blocks[0]
    for extra in blocks[1:]:
        ctx.error(
            "E185",
            "'while waiting' is given twice",
            extra.labels[0].span,
            f"first on line {block.span.line}: one in-queue flow per transfer",
        )
    if not to_queue:
        ctx.error(
            "E185",
            "'while waiting' is for a queue: a number, SIP URI or extension does not wait",
            block.labels[0].span,
            "remove it, or transfer to a queue",
        )
    settings = [x for x in block.body if isinstance(x, ast.Setting)]
    s = Settings(ctx, "'while waiting'", HOLD_SETTINGS, settings)
    message: list[ast.Statement] = []
    keys: dict[str, tuple[ast.Label, model.Body]] = {}
    for line in block.body:
        if isinstance(line, ast.Setting):
            continue
        if isinstance(line, ast.Branch):
            _key_branch(env, line, keys)
        elif isinstance(line, ast.Say | ast.Play):
            message.append(line)
        else:
            ctx.error(
                "E186",
                "'while waiting' holds only what the caller hears (say, play) and may press",
                line.span,
                "settings: music, every, announce; keys: 1 -> offer_callback",
            )
    announce = _announce(env, s)
    every = s.duration("every", EVERY_DEFAULT)
    setting = s.get("every")
    if setting is not None and not EVERY_MIN <= every <= EVERY_MAX:
        ctx.error(
            "E187",
            "'every' must be at least 10s and at most 10m",
            setting.span,
            "like every 45s: the time between announcements",
        )
    if max_wait is not None and (announce or message) and max_wait <= every:
        ctx.warning(
            "W243",
            f"the caller leaves at max_wait ({max_wait:g}s) before the first announcement "
            f"(every {every:g}s): it is never heard",
            (setting or block.labels[0]).span,
            "announce more often, or wait longer",
        )
    return model.Hold(
        ctx.where(block.span),
        _music(env, s),
        every,
        announce,
        env.statements.body(message),
        MappingProxyType({k: body for k, (_, body) in keys.items()}),
    )


def _key_branch(
    env: StateEnv, branch: ast.Branch, keys: dict[str, tuple[ast.Label, model.Body]]
) -> None:
    ctx = env.ctx
    body = env.statements.body(branch.body)
    for lb in branch.labels:
        key = KEY_WORDS.get(lb.text, lb.text)
        if lb.kind not in ("key", "word") or key not in DTMF_KEYS:
            ctx.error(
                "E188",
                f"'{lb.text}' is not a key the caller can press in the queue",
                lb.span,
                "one key: 0-9, * or # (like 1 -> offer_callback)",
            )
            continue
        if key in keys:
            first = keys[key][0].span.line
            ctx.error(
                "E188", f"key {key} leaves the queue twice", lb.span, f"first on line {first}"
            )
            continue
        if not ends(body):
            env.statements.dead_end(lb.span, f"key {key}")
        keys[key] = (lb, body)


def _music(env: StateEnv, s: Settings) -> str | None:
    """`music default` (a music-on-hold class) or `music "https://…/hold.mp3"`."""
    setting = s.get("music")
    if setting is None:
        return None
    v = setting.values[0] if len(setting.values) == 1 else None
    if isinstance(v, ast.Ref) and len(v.path) == 1:
        return v.path[0]
    if isinstance(v, ast.Literal) and v.kind == "string" and v.text.strip():
        return v.text
    env.ctx.error(
        "E121",
        "'music' expects a music-on-hold class or a URL",
        setting.span,
        'like music default, or music "https://example.com/hold.mp3"',
    )
    return None


def _announce(env: StateEnv, s: Settings) -> tuple[str, ...]:
    words = s.names("announce")
    setting = s.get("announce")
    out: list[str] = []
    for word in words:
        if word in ANNOUNCEMENTS:
            out.append(word)
            continue
        assert setting is not None
        where = next(
            (v.span for v in setting.values if isinstance(v, ast.Ref) and v.path == (word,)),
            setting.span,
        )
        env.ctx.error(
            "E121",
            f"cannot announce '{word}' while waiting",
            where,
            did_you_mean(word, ANNOUNCEMENTS) or "announce position, ewt or both",
        )
    return tuple(out)


__all__ = ["WHILE_WAITING", "hold", "is_hold"]
