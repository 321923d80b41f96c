"""Stable numbers for every body of a flow, so a `call` stack can be a snapshot.

A return address is (body number, statement index); numbering walks the flow
in a fixed order, so the same flow (same content hash) gives the same numbers
in every process.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import model
from .walk import bodies


@dataclass(frozen=True, slots=True)
class BodyIndex:
    bodies: tuple[model.Body, ...]
    ids: dict[int, int]  # id(body) → number, valid in this process


def _walk(body: model.Body, out: list[model.Body]) -> None:
    out.append(body)
    for stmt in body:
        for nested in model.nested_bodies(stmt):
            _walk(nested, out)


_CACHE: dict[int, tuple[model.Flow, BodyIndex]] = {}


def _build(flow: model.Flow) -> BodyIndex:
    found: list[model.Body] = []
    for name in flow.states:
        for body in bodies(flow.states[name]):
            _walk(body, found)
    ids: dict[int, int] = {}
    for n, body in enumerate(found):
        ids.setdefault(id(body), n)
    return BodyIndex(tuple(found), ids)


def body_index(flow: model.Flow) -> BodyIndex:
    entry = _CACHE.get(id(flow))
    if entry is not None and entry[0] is flow:
        return entry[1]
    if len(_CACHE) > 64:
        _CACHE.clear()
    index = _build(flow)
    _CACHE[id(flow)] = (flow, index)
    return index


__all__ = ["BodyIndex", "body_index"]
