"""Multi-key menu options: key sequences, Asterisk-style patterns and regexes, and the
VoiceXML timing rule that decides between them (docs/runtime.md, "Multi-key menus").

Every option compiles to a small automaton over the twelve phone keys:

- a key sequence, `"100"`: those keys;
- an Asterisk pattern, `"_1XX"`: X is 0-9, Z 1-9, N 2-9, `[1-4]` / `[135]` one of those,
  `.` one or more keys, `!` zero or more keys (and, as in Asterisk, it never makes the menu
  wait for them); `-` is ignored (`_1-800-NXX`);
- a regex, `regex "^(10[01][0-9])$"`: the whole entry must match (`^` and `$` are implied);
  keys, `\\d`, `.`, classes, groups, `|` and the quantifiers `? * + {m} {m,n}`.

`.`, `!` and a regex's `.` stand for 0-9 and `*`: `#` ends an entry unless an option itself
continues with it. `KeyEntry` is the menu's options in order, run together: the first option
(in the menu's order) that matches the whole entry wins; the menu decides at once when no
option can still match a longer entry, and waits for the inter-digit time-out (or `#`)
while one can. Pure values, shared by the compiler, the interpreter and the tools.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

KEYS = "0123456789*#"
_ENTRY_KEYS = frozenset("0123456789*")  # what `.`, `!`, X… never include: '#' ends an entry
DIGITS = frozenset("0123456789")
TERMINATOR = "#"
MAX_KEYS = 20  # longest entry a menu takes
_ASTERISK_CLASSES = {"X": DIGITS, "Z": frozenset("123456789"), "N": frozenset("23456789")}


class PatternError(ValueError):
    """A malformed option; `offset` is where in its text (0: the first character)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


# ---------------------------------------------------------------- the automaton
# A node: ("set", keys) one key of the set; ("cat", parts); ("alt", parts);
# ("rep", part, low, high or None, eager).
Node = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class Automaton:
    """A Thompson NFA: per state, its key moves (keys, target, eager) and empty moves;
    state 0 starts, `final` accepts; states that cannot reach `final` are pruned."""

    moves: tuple[tuple[tuple[frozenset[str], int, bool], ...], ...]
    empty: tuple[tuple[int, ...], ...]
    final: int
    start: frozenset[int]

    def closure(self, states: frozenset[int] | set[int]) -> frozenset[int]:
        seen, todo = set(states), list(states)
        while todo:
            for t in self.empty[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return frozenset(seen)

    def step(self, states: frozenset[int], key: str) -> frozenset[int]:
        nxt = {t for s in states for keys, t, _ in self.moves[s] if key in keys}
        return self.closure(nxt) if nxt else frozenset()

    def accepts(self, states: frozenset[int]) -> bool:
        return self.final in states

    def extends(self, states: frozenset[int], eager_too: bool = False) -> bool:
        """A longer entry can still match (`!` moves count only with `eager_too`)."""
        return any(eager_too or not eager for s in states for _, _, eager in self.moves[s])

    def continues_with(self, states: frozenset[int], key: str) -> bool:
        return any(key in keys for s in states for keys, _, _ in self.moves[s])


def _build(node: Node) -> Automaton:
    moves: list[list[tuple[frozenset[str], int, bool]]] = []
    empty: list[list[int]] = []

    def new() -> int:
        moves.append([])
        empty.append([])
        return len(moves) - 1

    def frag(n: Node, eager: bool = False) -> tuple[int, int]:
        kind = n[0]
        a, b = new(), new()
        if kind == "set":
            moves[a].append((n[1], b, eager))  # type: ignore[arg-type]
        elif kind == "cat":
            cur = a
            for part in n[1]:  # type: ignore[attr-defined]
                s, e = frag(part, eager)
                empty[cur].append(s)
                cur = e
            empty[cur].append(b)
        elif kind == "alt":
            for part in n[1]:  # type: ignore[attr-defined]
                s, e = frag(part, eager)
                empty[a].append(s)
                empty[e].append(b)
        else:  # rep
            part, low, high, eager_rep = n[1], int(n[2]), n[3], bool(n[4])  # type: ignore[call-overload]
            cur = a
            for _ in range(low):
                s, e = frag(part, eager or eager_rep)  # type: ignore[arg-type]
                empty[cur].append(s)
                cur = e
            if high is None:
                s, e = frag(part, eager or eager_rep)  # type: ignore[arg-type]
                empty[cur].append(s)
                empty[e].append(s)
                empty[e].append(b)
            else:
                for _ in range(int(high) - low):  # type: ignore[call-overload]
                    s, e = frag(part, eager or eager_rep)  # type: ignore[arg-type]
                    empty[cur].append(s)
                    empty[cur].append(b)
                    cur = e
            empty[cur].append(b)
        return a, b

    start, final = frag(node)
    # Prune: states that cannot reach the final one are dead.
    back: dict[int, set[int]] = {i: set() for i in range(len(moves))}
    for s in range(len(moves)):
        for _, t, _ in moves[s]:
            back[t].add(s)
        for t in empty[s]:
            back[t].add(s)
    live, todo = {final}, [final]
    while todo:
        for p in back[todo.pop()]:
            if p not in live:
                live.add(p)
                todo.append(p)
    pruned_moves = tuple(
        tuple(m for m in moves[s] if m[1] in live and m[0]) if s in live else ()
        for s in range(len(moves))
    )
    pruned_empty = tuple(
        tuple(t for t in empty[s] if t in live) if s in live else () for s in range(len(moves))
    )
    auto = Automaton(pruned_moves, pruned_empty, final, frozenset())
    begin = auto.closure({start}) if start in live else frozenset()
    return Automaton(pruned_moves, pruned_empty, final, begin)


# ---------------------------------------------------------------- reading options
def keys_node(keys: str) -> Node:
    return ("cat", tuple(("set", frozenset(k)) for k in keys))


def asterisk_node(text: str) -> Node:
    """`_1XX`, `_NXXX`, `_[1-4]X.`: Asterisk's extension patterns (the `_` included)."""
    if not text.startswith("_") or len(text) < 2:
        raise PatternError("an Asterisk pattern starts with _ and one key or class", 0)
    parts: list[Node] = []
    i = 1
    while i < len(text):
        c = text[i]
        up = c.upper()
        if c in ".!":
            if i != len(text) - 1:
                raise PatternError(f"'{c}' must end the pattern", i)
            if not parts and c == "!":
                raise PatternError("'!' needs at least one key before it", i)
            any_key = ("set", _ENTRY_KEYS)
            parts.append(("rep", any_key, 1 if c == "." else 0, None, c == "!"))
        elif up in _ASTERISK_CLASSES:
            parts.append(("set", _ASTERISK_CLASSES[up]))
        elif c in KEYS:
            parts.append(("set", frozenset(c)))
        elif c == "-":
            pass  # Asterisk ignores dashes: _1-800-NXX
        elif c == "[":
            end = text.find("]", i)
            if end < 0:
                raise PatternError("'[' has no closing ']'", i)
            parts.append(("set", _bracket(text, i + 1, end)))
            i = end
        else:
            raise PatternError(f"'{c}' is not a key or a pattern letter (X Z N [..] . !)", i)
        i += 1
    if not parts:
        raise PatternError("an Asterisk pattern needs a key or class after _", 0)
    return ("cat", tuple(parts))


def _bracket(text: str, start: int, end: int) -> frozenset[str]:
    """The keys of `[1-4]`, `[135]`, `[0-9*]` (text[start:end] is inside the brackets)."""
    keys: set[str] = set()
    i = start
    while i < end:
        c = text[i]
        if c not in KEYS:
            raise PatternError(f"'{c}' is not a key (inside [..] keys and ranges like 1-4)", i)
        if i + 2 < end and text[i + 1] == "-":
            hi = text[i + 2]
            if not (c.isdigit() and hi.isdigit()) or hi < c:
                raise PatternError(f"'{c}-{hi}' is not a range of digits", i)
            keys.update(str(d) for d in range(int(c), int(hi) + 1))
            i += 3
            continue
        keys.add(c)
        i += 1
    if not keys:
        raise PatternError("'[]' holds no keys", start - 1)
    return frozenset(keys)


class _Regex:
    """A regex over the phone keys, read by recursive descent (no private `re` API)."""

    def __init__(self, text: str) -> None:
        self.text, self.i = text, 0
        if text.startswith("^"):
            self.i = 1
        self.end = len(text) - 1 if text.endswith("$") and not text.endswith("\\$") else len(text)

    def parse(self) -> Node:
        node = self.alternation()
        if self.i < self.end:
            c = self.text[self.i]
            raise PatternError(f"unexpected '{c}'" if c != ")" else "')' opens nothing", self.i)
        return node

    def peek(self) -> str:
        return self.text[self.i] if self.i < self.end else ""

    def alternation(self) -> Node:
        parts = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            parts.append(self.sequence())
        return parts[0] if len(parts) == 1 else ("alt", tuple(parts))

    def sequence(self) -> Node:
        parts: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            parts.append(self.quantified(self.atom()))
        return ("cat", tuple(parts))

    def quantified(self, atom: Node) -> Node:
        c = self.peek()
        if c in ("?", "*", "+"):
            self.i += 1
            low, high = {"?": (0, 1), "*": (0, None), "+": (1, None)}[c]
        elif c == "{":
            close = self.text.find("}", self.i)
            body = self.text[self.i + 1 : close] if close > 0 else ""
            low_s, comma, high_s = body.partition(",")
            if close < 0 or not low_s.isdigit() or (high_s and not high_s.isdigit()):
                raise PatternError("a count is {m}, {m,} or {m,n}", self.i)
            low = int(low_s)
            high = None if comma and not high_s else int(high_s or low_s)
            if (high is not None and high < low) or low > MAX_KEYS:
                raise PatternError(f"'{{{body}}}' is not a count up to {MAX_KEYS}", self.i)
            self.i = close + 1
        else:
            return atom
        if self.peek() == "?":
            self.i += 1  # lazy or greedy: the same set of entries
        if self.peek() in ("?", "*", "+", "{"):
            raise PatternError("a quantifier on a quantifier", self.i)
        return ("rep", atom, low, high, False)

    def atom(self) -> Node:
        c, at = self.peek(), self.i
        if c == "(":
            self.i += 1
            if self.text.startswith("?:", self.i):
                self.i += 2
            elif self.text.startswith("?P<", self.i):
                close = self.text.find(">", self.i)
                if close < 0:
                    raise PatternError("a named group's name has no '>'", self.i)
                self.i = close + 1
            elif self.peek() == "?":
                raise PatternError("look-arounds and flags are not entry patterns", self.i)
            node = self.alternation()
            if self.peek() != ")":
                raise PatternError("'(' is not closed", at)
            self.i += 1
            return node
        if c == "[":
            return ("set", self.char_class())
        if c == ".":
            self.i += 1
            return ("set", _ENTRY_KEYS)
        if c == "\\":
            return ("set", self.escape())
        if c in ("?", "*", "+", "{"):
            raise PatternError(f"'{c}' repeats nothing", at)
        if c in KEYS:
            self.i += 1
            return ("set", frozenset(c))
        raise PatternError(f"'{c}' is not a phone key", at)

    def escape(self) -> frozenset[str]:
        at = self.i
        nxt = self.text[self.i + 1 : self.i + 2]
        self.i += 2
        if nxt == "d":
            return DIGITS
        if nxt and nxt in KEYS:
            return frozenset(nxt)
        raise PatternError(f"'\\{nxt}' is not a phone key (\\d, \\*, \\# and keys are)", at)

    def char_class(self) -> frozenset[str]:
        at = self.i
        self.i += 1
        negate = self.peek() == "^"
        if negate:
            self.i += 1
        keys: set[str] = set()
        while self.peek() not in ("", "]"):
            if self.peek() == "\\":
                keys |= self.escape()
                continue
            c = self.peek()
            if c not in KEYS:
                raise PatternError(f"'{c}' is not a phone key", self.i)
            if (
                self.text[self.i + 1 : self.i + 2] == "-"
                and self.text[self.i + 2 : self.i + 3] != "]"
            ):
                hi = self.text[self.i + 2 : self.i + 3]
                if not (c.isdigit() and hi.isdigit()) or hi < c:
                    raise PatternError(f"'{c}-{hi}' is not a range of digits", self.i)
                keys.update(str(d) for d in range(int(c), int(hi) + 1))
                self.i += 3
                continue
            keys.add(c)
            self.i += 1
        if self.peek() != "]":
            raise PatternError("'[' is not closed", at)
        self.i += 1
        found = (frozenset(KEYS) - keys) if negate else frozenset(keys)
        if not found:
            raise PatternError("the class holds no keys", at)
        return found


def regex_node(text: str) -> Node:
    return _Regex(text).parse()


OptionKind = Literal["keys", "asterisk", "regex"]


@dataclass(frozen=True, slots=True)
class KeyOption:
    """One option of a multi-key menu: as written, and its automaton."""

    text: str  # "100", "_1XX", "^(10[01][0-9])$"
    kind: OptionKind
    automaton: Automaton

    @property
    def label(self) -> str:
        """How graphs and traces show it: 100, _1XX, /^(10[01][0-9])$/."""
        return f"/{self.text}/" if self.kind == "regex" else self.text


def sample(option: KeyOption, pick: Callable[[Sequence[str]], str]) -> str:
    """A random entry the option matches (a fuzzed caller's extension): `pick` chooses among
    the keys that can come next (random.choice), and whether to stop where it could."""
    auto, states, keys = option.automaton, option.automaton.start, ""
    while len(keys) < MAX_KEYS:
        can_go = sorted({k for s in states for ks, _, _ in auto.moves[s] for k in ks})
        if auto.accepts(states) and (not can_go or pick(["stop", "go"]) == "stop"):
            break
        if not can_go:
            break
        key = pick(can_go)
        states, keys = auto.step(states, key), keys + key
    return keys


def key_option(text: str, kind: OptionKind) -> KeyOption:
    """Compile one option (PatternError when malformed or matching no entry)."""
    if kind == "keys":
        node = keys_node(text)
    elif kind == "asterisk":
        node = asterisk_node(text)
    else:
        node = regex_node(text)
    auto = _build(node)
    if not auto.start:
        raise PatternError("it matches no entry", 0)
    if auto.accepts(auto.start):
        raise PatternError("it matches an empty entry: a key must be pressed", 0)
    return KeyOption(text, kind, auto)


# ---------------------------------------------------------------- a menu's options together
Outcome = Literal["wait", "choose", "nomatch"]


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    option: int | None  # the index of the option chosen
    used: int  # keys of the entry taken (a '#' that ended it included); the rest is type-ahead
    keys: str  # the entry itself (no '#')


@dataclass(frozen=True, slots=True)
class Example:
    """The shortest entry that chooses an option, and how it ends: at once, or by waiting
    for the inter-digit time-out (`#` ends it too when `hash_ends`)."""

    keys: str
    at_once: bool
    hash_ends: bool


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """A menu's key options in order (single keys among them), run together."""

    options: tuple[KeyOption, ...]
    owners: tuple[int, ...]  # the choice index of each option

    def _start(self) -> tuple[frozenset[int], ...]:
        return tuple(o.automaton.start for o in self.options)

    def _step(self, sets: tuple[frozenset[int], ...], key: str) -> tuple[frozenset[int], ...]:
        return tuple(o.automaton.step(s, key) for o, s in zip(self.options, sets, strict=True))

    def _first_full(self, sets: tuple[frozenset[int], ...]) -> int | None:
        for i, (o, s) in enumerate(zip(self.options, sets, strict=True)):
            if o.automaton.accepts(s):
                return i
        return None

    def _extends(self, sets: tuple[frozenset[int], ...]) -> bool:
        return any(o.automaton.extends(s) for o, s in zip(self.options, sets, strict=True))

    def _alive(self, sets: tuple[frozenset[int], ...]) -> bool:
        return any(sets)

    def _continues(self, sets: tuple[frozenset[int], ...], key: str) -> bool:
        return any(
            o.automaton.continues_with(s, key) for o, s in zip(self.options, sets, strict=True)
        )

    def feed(self, keys: str) -> Decision:
        """The keys of an entry so far: chosen, no match, or wait for more."""
        sets = self._start()
        for n, key in enumerate(keys, 1):
            if key == TERMINATOR and n > 1 and not self._continues(sets, key):
                return self._end(sets, keys[: n - 1], n)  # '#' ends the entry
            sets = self._step(sets, key)
            if not self._alive(sets):
                return Decision("nomatch", None, n, keys[:n])
            full = self._first_full(sets)
            if full is not None and not self._extends(sets):
                return Decision("choose", full, n, keys[:n])
            if n >= MAX_KEYS:
                return self._end(sets, keys[:n], n)
        return Decision("wait", None, len(keys), keys)

    def finish(self, keys: str) -> Decision:
        """The entry ended (the inter-digit time-out, or a gateway's whole entry): keys the
        menu decides at once are taken first, the rest is type-ahead."""
        d = self.feed(keys)
        if d.outcome != "wait":
            return d
        sets = self._start()
        for key in keys:
            sets = self._step(sets, key)
        return self._end(sets, keys, len(keys))

    def _end(self, sets: tuple[frozenset[int], ...], keys: str, used: int) -> Decision:
        full = self._first_full(sets)
        if full is None:
            return Decision("nomatch", None, used, keys)
        return Decision("choose", full, used, keys)

    def remaining(self, keys: str) -> tuple[int, int]:
        """Fewest and most keys still to come for an entry that started with `keys` (the
        most capped at MAX_KEYS in all)."""
        sets = self._start()
        for key in keys:
            sets = self._step(sets, key)
        room = max(1, MAX_KEYS - len(keys))
        low: int | None = None
        high = 0
        frontier = {sets}
        for depth in range(1, room + 1):
            nxt = set()
            for f in frontier:
                for key in KEYS:
                    s = self._step(f, key)
                    if self._alive(s):
                        nxt.add(s)
                        if self._first_full(s) is not None:
                            low = depth if low is None else low
                            high = depth
            if not nxt:
                break
            frontier = nxt
        return (low or 1, max(high, low or 1))

    def is_hash_option(self) -> bool:
        """A key option continues with '#' somewhere, so '#' is not only the terminator."""
        return any(
            "#" in keys for o in self.options for ms in o.automaton.moves for keys, _, _ in ms
        )

    def examples(self) -> dict[int, Example]:
        """For each option that some entry chooses, the shortest such entry (breadth-first
        over the options run together); an option missing here can never be chosen."""
        found: dict[int, Example] = {}
        start = self._start()
        seen = {start}
        queue: deque[tuple[tuple[frozenset[int], ...], str]] = deque([(start, "")])
        while queue:
            sets, keys = queue.popleft()
            if len(keys) >= MAX_KEYS:
                continue
            for key in KEYS:
                if key == TERMINATOR and keys and not self._continues(sets, key):
                    continue  # it ends the entry: the wait below stands for it
                s = self._step(sets, key)
                if not self._alive(s):
                    continue
                entry = keys + key
                full = self._first_full(s)
                more = self._extends(s)
                if full is not None and full not in found:
                    found[full] = Example(entry, not more, not self._continues(s, TERMINATOR))
                if full is not None and not more:
                    continue  # decided at once: later keys are type-ahead
                if s not in seen:
                    seen.add(s)
                    queue.append((s, entry))
        return found


__all__ = [
    "Automaton",
    "DIGITS",
    "Decision",
    "Example",
    "KEYS",
    "KeyEntry",
    "KeyOption",
    "MAX_KEYS",
    "PatternError",
    "TERMINATOR",
    "key_option",
    "sample",
]
