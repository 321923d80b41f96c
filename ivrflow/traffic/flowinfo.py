"""What the traffic walk reads from a flow without running it: which variables can change
where a call goes, and conditions written back as text (to name the ones it had to assume)."""

from __future__ import annotations

from .. import model as fm
from ..model.walk import bodies
from ..model.walk import walk as statements

__all__ = ["expr_text", "relevant_variables"]


def expr_text(e: fm.Expression) -> str:
    """An expression as the flow would write it, to name an assumed condition."""
    if isinstance(e, fm.Const):
        v = e.value
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, bool):
            return "true" if v else "false"
        return "none" if v is None else str(v)
    if isinstance(e, fm.Var):
        return ".".join((e.name, *e.attrs))
    if isinstance(e, fm.ListRef | fm.HoursRef):
        return e.name
    if isinstance(e, fm.Not):
        return f"not {expr_text(e.operand)}"
    if isinstance(e, fm.Neg):
        return f"-{expr_text(e.operand)}"
    if isinstance(e, fm.BinOp):
        return f"{expr_text(e.left)} {e.op} {expr_text(e.right)}"
    if isinstance(e, fm.Match):
        return f"{expr_text(e.operand)} matches /{e.pattern.pattern}/"
    if isinstance(e, fm.Call):
        shown = e.args[:1] if e.function == "line_type" else e.args  # not its country
        return f"{e.function}({', '.join(expr_text(a) for a in shown)})"
    if isinstance(e, fm.MakeList):
        return f"[{', '.join(expr_text(a) for a in e.items)}]"
    return f"{expr_text(e.operand)} is {'not ' if e.negated else ''}{e.name}"


def _reads(e: fm.Expression | None, out: set[str]) -> None:
    """The variable names an expression reads."""
    if e is None:
        return
    if isinstance(e, fm.Var):
        out.add(e.name)
    elif isinstance(e, fm.Not | fm.Neg | fm.Match | fm.Test):
        _reads(e.operand, out)
    elif isinstance(e, fm.BinOp):
        _reads(e.left, out)
        _reads(e.right, out)
    elif isinstance(e, fm.Call):
        for a in e.args:
            _reads(a, out)
    elif isinstance(e, fm.MakeList):
        for a in e.items:
            _reads(a, out)


def relevant_variables(flow: fm.Flow) -> frozenset[str]:
    """Variables whose value can change where a call goes: read by a condition, a `switch`,
    a callback number or a dialled number, or assigned from one that is (to a fixpoint).
    Templates do not count: the walk times prompts from their text, never their values."""
    relevant = {"language"}
    assigns: list[fm.Assign] = []
    for state in flow.states.values():
        if isinstance(state, fm.CallbackOffer):
            _reads(state.number, relevant)
        if isinstance(state, fm.Transfer):
            for expr in state.expressions:
                _reads(expr, relevant)
            if state.queue_expr is not None:
                relevant.add("queue")  # the queue it chose, carried to the ACD
        for body in bodies(state):
            for stmt in statements(body):
                if isinstance(stmt, fm.If):
                    for cond, _ in stmt.branches:
                        _reads(cond, relevant)
                elif isinstance(stmt, fm.Switch):
                    _reads(stmt.subject, relevant)
                elif isinstance(stmt, fm.Assign):
                    assigns.append(stmt)
    changed = True
    while changed:
        changed = False
        for a in assigns:
            if a.name in relevant:
                before = len(relevant)
                _reads(a.value, relevant)
                changed = changed or len(relevant) != before
    return frozenset(relevant)
