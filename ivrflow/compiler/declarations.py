"""Top-level declarations: the flow header, queues, lists, hours, functions, prompts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import model
from ..errors import did_you_mean
from ..lang import ast
from ..lang.sources import LIST_SUFFIXES, SourceError, check_reference, display_path, read_list
from ..model import calendars, locale_library, phone, phone_library, sayas
from ..model import prompts as builtin_prompts
from .context import Context, Declared
from .expressions import literal_value, parse_date, parse_time
from .input_states import read_input_settings
from .settings import Settings
from .vocabulary import INPUT_SETTINGS

HEADER_SETTINGS = INPUT_SETTINGS | {
    "description": "what the flow is for",
    "version": "the flow's version, as you number it",
    "language": "the default language tag, e.g. pt-BR",
    "voice": "the default text-to-speech voice",
    "timezone": "the time zone of `now` and of hours without their own",
    "country": "ISO country for reading national numbers as E.164, e.g. BR",
    "bargein": "whether callers may interrupt prompts by default (on/off)",
    "fuzzy": "how close a spoken phrase must be to a choice, 0 to 1",
}
QUEUE_SETTINGS = {"skills": "skills an agent needs", "priority": "default priority"}
DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
LANG_TAG = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")


def check_timezone(ctx: Context, zone: str, span: ast.Span) -> bool:
    try:
        ZoneInfo(zone)
        return True
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        from zoneinfo import available_timezones  # slow; only on this error path

        ctx.error(
            "E142",
            f"unknown time zone '{zone}'",
            span,
            did_you_mean(zone, available_timezones())
            or 'use an IANA name like "America/Sao_Paulo" or "America/New_York"',
        )
        return False


def check_language(ctx: Context, tag: str, span: ast.Span) -> None:
    if not LANG_TAG.match(tag):
        ctx.error("E145", f"bad language tag '{tag}'", span, "write it like en-US or pt-BR")
    elif sayas.resolve_locale(tag) != tag and (ctx.path, tag) not in ctx.warned_languages:
        ctx.warned_languages.add((ctx.path, tag))
        fallback = sayas.resolve_locale(tag)
        built_in = ", ".join(sayas.supported_locales())
        ctx.warning(
            "W209",
            f"no say-as rules for '{tag}'",
            span,
            f"numbers, dates and currency will be read the {fallback} way; "
            + (
                f"Babel has no locale '{tag}' (built in: {built_in})"
                if locale_library.available()
                else f"{locale_library.MISSING} (built in: {built_in})"
            ),
        )


def header_settings(ctx: Context, header: ast.Header | None) -> tuple[model.FlowSettings, Settings]:
    s = Settings(ctx, "the flow header", HEADER_SETTINGS, header.settings if header else ())
    d = model.FlowSettings()
    language = s.language("language")
    if language is not None:
        check_language(ctx, language, s.by_name["language"].values[0].span)
    timezone = s.string("timezone")
    if timezone is not None and not check_timezone(
        ctx, timezone, s.by_name["timezone"].values[0].span
    ):
        timezone = None
    country = None
    setting = s.get("country")
    if setting is not None:
        value = setting.values[0] if len(setting.values) == 1 else None
        if isinstance(value, ast.Ref) and len(value.path) == 1:
            country = value.path[0]
        elif isinstance(value, ast.Literal) and value.kind == "string":
            country = value.text
        if country is None or not phone.is_valid_country(country):
            ctx.error(
                "E121",
                f"unknown country '{country}'" if country else "'country' expects a country code",
                value.span if value is not None else setting.span,
                "an ISO 3166 code like BR, US or PT"
                + ("" if phone_library.available() else f"; {phone_library.MISSING}"),
            )
            country = None
    inp = d.input
    settings = model.FlowSettings(
        language=language or d.language,
        voice=s.string("voice"),
        timezone=timezone or d.timezone,
        country=country,
        input=read_input_settings(s, inp),
        barge_in=s.switch("bargein", d.barge_in),
        fuzzy=s.fraction("fuzzy", d.fuzzy),
    )
    return settings, s


def queue(ctx: Context, decl: Declared[ast.QueueDecl]) -> model.Queue:
    q = decl.node
    s = Settings(ctx, "a queue", QUEUE_SETTINGS, q.settings)
    return model.Queue(
        q.name, q.title, s.names("skills"), s.integer("priority", 0, 0, 1000), ctx.where(q.span)
    )


def number_list(ctx: Context, decl: Declared[ast.ListDecl], base: Path) -> model.NumberList:
    node = decl.node
    entries: list[tuple[str, ast.Span | None, str]] = []  # value, span, path for errors
    problem = check_reference(node.source, LIST_SUFFIXES) if node.source is not None else None
    if problem is not None:
        ctx.error("E024", problem[0], node.source_span, problem[1], decl.path)
    elif node.source is not None:
        assert node.source_span is not None
        file = base / node.source
        shown = display_path(file)
        try:
            text, found = read_list(file, shown, (decl.path, node.source_span))
            ctx.sources[shown] = text
            entries.extend((value, span, shown) for value, span in found)
        except SourceError as err:
            ctx.diagnostics.append(err.diagnostic)
    else:
        for lit in node.items:
            entries.append((str(literal_value(ctx, lit)), lit.span, decl.path))
    numbers = set()
    for value, span, path in entries:
        if _is_name(value):  # names (skills, regions) are kept as written
            numbers.add(value)
            continue
        normalized = phone.normalize(value, ctx.country)
        digits = sum(c.isdigit() for c in normalized or "")
        if normalized is None or (normalized.startswith("+") and not 8 <= digits <= 15):
            ctx.error(
                "E146",
                f"'{value}' is not a phone number",
                span,
                'write numbers as dialed or in E.164, like "+5511987654321"',
                path,
            )
        else:
            numbers.add(normalized)
    return model.NumberList(node.name, frozenset(numbers), node.source, ctx.where(node.span))


def _is_name(value: str) -> bool:
    """'north', 'sao_paulo' are names; '+55 11 9876O-0004' is a mistyped number."""
    letters = sum(c.isalpha() for c in value)
    digits = sum(c.isdigit() for c in value)
    return letters > 0 and digits <= letters and not value.lstrip().startswith("+")


def hours(ctx: Context, decl: Declared[ast.HoursDecl], default_zone: str) -> model.Hours:
    node = decl.node
    zone = default_zone
    weekly: dict[int, list[tuple[dt.time, dt.time]]] = {}
    closures: list[model.Closure] = []
    dated: list[tuple[dt.date, ast.ClosureLine]] = []
    found: list[model.Calendar] = []
    for line in node.lines:
        if isinstance(line, ast.CalendarLine):
            calendar = _calendar(ctx, line)
            if calendar is not None:
                found.append(calendar)
        elif isinstance(line, ast.TimezoneLine):
            if check_timezone(ctx, line.zone, line.zone_span):
                zone = line.zone
        elif isinstance(line, ast.WeeklyLine):
            spans = _time_spans(ctx, line.times)
            for day in _days(ctx, line.days):
                weekly.setdefault(day, []).extend(spans)
        else:
            first = parse_date(line.first)
            last = parse_date(line.last) if line.last else first
            if first is None or last is None:
                ds = line.date_span
                bad, col = (
                    (line.first, ds.column)
                    if first is None
                    else (str(line.last), ds.end_column - len(str(line.last)))
                )
                ctx.error(
                    "E143",
                    f"bad date '{bad}'",
                    ast.Span(ds.line, col, ds.line, col + len(bad)),
                    "dates are YYYY-MM-DD and must exist in the calendar",
                )
                continue
            if last < first:
                ctx.error("E148", "the closure ends before it starts", line.date_span)
            closures.append(
                model.Closure(first, last, tuple(_time_spans(ctx, line.times)), line.reason)
            )
            dated.append((last, line))
    _warn_if_all_past(ctx, node, dated, zone, bool(found))
    frozen = {d: tuple(sorted(v)) for d, v in sorted(weekly.items())}
    return model.Hours(
        node.name,
        zone,
        MappingProxyType(frozen),
        tuple(closures),
        ctx.where(node.span),
        tuple(found),
    )


# Years an `except` name is looked for in: a name the calendar never had is a typo.
_EXCEPT_YEARS = range(2020, 2041)


def _calendar(ctx: Context, line: ast.CalendarLine) -> model.Calendar | None:
    country, _, subdivision = line.code.partition("-")
    extra = [word for word, _ in line.categories]
    trouble = calendars.problem(country, subdivision or None, extra)
    if trouble is not None:
        message, hint = trouble
        bad = next(
            (span for word, span in line.categories if f"'{word}'" in message), line.code_span
        )
        ctx.error("E160", message, bad, hint)
        return None
    categories = (calendars.PUBLIC, *dict.fromkeys(c for c in extra if c != calendars.PUBLIC))
    calendar = model.Calendar(
        line.code,
        country,
        subdivision or None,
        categories,
        frozenset(name for name, _ in line.excepted),
    )
    if line.excepted:
        known = calendars.names(calendar, _EXCEPT_YEARS)
        for name, span in line.excepted:
            if name not in known:
                ctx.error(
                    "E160",
                    f"the {line.code} calendar has no holiday named '{name}'",
                    span,
                    did_you_mean(name, known)
                    or "names are in the country's language, as `ivrflow explore` lists them",
                )
    return calendar


def _warn_if_all_past(
    ctx: Context,
    node: ast.HoursDecl,
    dated: list[tuple[dt.date, ast.ClosureLine]],
    zone: str,
    has_calendar: bool,
) -> None:
    """W220: dated closures typed in for one year run out; say so once they all have."""
    if not dated:
        return
    today = dt.datetime.now(ZoneInfo(zone)).date()
    last, line = max(dated, key=lambda pair: pair[0])
    if last < today:
        ctx.warning(
            "W220",
            f"every dated closure of hours '{node.name}' lies in the past (the last: {last})",
            line.span,
            "add this year's local closures (the calendar keeps its own dates)"
            if has_calendar
            else "add this year's closures, or take the public holidays from a calendar: "
            "`holidays BR-SP`",
        )


def _days(ctx: Context, spans: tuple[ast.DaySpan, ...]) -> list[int]:
    out: list[int] = []
    for d in spans:
        first, last = DAYS.get(d.first[:3].lower()), DAYS.get((d.last or d.first)[:3].lower())
        for name, idx in ((d.first, first), (d.last, last)):
            if name is not None and (idx is None or len(name) < 3 or not _day_name_ok(name)):
                col = d.span.column if name is d.first else d.span.end_column - len(name)
                ctx.error(
                    "E147",
                    f"unknown day '{name}'",
                    ast.Span(d.span.line, col, d.span.line, col + len(name)),
                    did_you_mean(name.lower()[:3], DAYS) or "days: mon tue wed thu fri sat sun",
                )
                return out
        assert first is not None and last is not None
        day = first
        while True:  # mon-fri, and fri-mon wrapping over the weekend
            out.append(day)
            if day == last:
                break
            day = (day + 1) % 7
    return out


def _day_name_ok(name: str) -> bool:
    full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    low = name.lower()
    return any(f.startswith(low) for f in full) or low in ("tues", "thur", "thurs")


def _time_spans(ctx: Context, spans: tuple[ast.TimeSpan, ...]) -> list[tuple[dt.time, dt.time]]:
    out = []
    for t in spans:
        a, b = parse_time(t.start), parse_time(t.end)
        if a is None or b is None:
            ctx.error(
                "E141",
                f"bad time in '{t.start}-{t.end}'",
                t.span,
                "times are HH:MM on a 24-hour clock, 00:00 to 24:00",
            )
            continue
        if b <= a:
            ctx.error(
                "E148",
                f"'{t.start}-{t.end}' ends before it starts",
                t.span,
                "split a range over midnight in two: 22:00-24:00 and 00:00-06:00",
            )
            continue
        out.append((a, b))
    return out


def function(ctx: Context, decl: Declared[ast.FunctionDecl]) -> model.Function:
    f = decl.node
    s = Settings(ctx, "a function", {"timeout": "how long the host function may take"}, f.settings)
    seen: set[str] = set()
    for p in f.params:
        if p in seen:
            ctx.error("E101", f"parameter '{p}' appears twice", f.span)
        seen.add(p)
    timeout = s.duration("timeout", 0.0) if s.get("timeout") else None
    return model.Function(f.name, f.params, timeout, ctx.where(f.span))


def prompt(ctx: Context, decl: Declared[ast.PromptDecl], check_template: object) -> model.Prompt:
    p = decl.node
    texts: dict[str, str] = {}
    known = ctx.known_variables
    if (
        p.name in builtin_prompts.DEFAULTS
    ):  # overrides a built-in prompt: it sees the built-in's values
        ctx.known_variables = known | frozenset(builtin_prompts.VALUES.get(p.name, ()))
    for t in p.texts:
        check_language(
            ctx,
            t.language,
            ast.Span(t.span.line, t.span.column, t.span.line, t.span.column + len(t.language)),
        )
        if t.language in texts:
            ctx.error("E101", f"prompt '{p.name}' has two {t.language} texts", t.span)
        texts[t.language] = t.text
        if callable(check_template):
            check_template(t.text, t.text_span)
    ctx.known_variables = known
    return model.Prompt(p.name, MappingProxyType(texts), ctx.where(p.span))


__all__ = ["function", "header_settings", "hours", "number_list", "prompt", "queue"]
