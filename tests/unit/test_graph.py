"""`ivrflow graph` (issue 4, item 4): Mermaid and DOT text, SVG/PNG through Graphviz, coverage.

Golden files live in tests/graph_golden/: `desk.ivr` is a small flow with every kind of state
and edge; `desk.mmd`/`desk.dot` are its diagrams, `desk-coverage.*` the same coloured by
`desk.coverage.json`, and `billing.mmd` is the diagram of flows/billing.ivr. docs/billing-flow.md
embeds that diagram and must match it too. To rewrite them all from the current code (then
READ the diff):

    IVRFLOW_UPDATE_GOLDEN=1 pytest tests/unit/test_graph.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

import ivrflow
from ivrflow.cli import main
from ivrflow.host.fixtures import from_dict
from ivrflow.tools import graph
from ivrflow.tools.coverage import Coverage
from ivrflow.tools.flowgraph import edges
from ivrflow.tools.testing import Call

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "graph_golden"
DESK = GOLDEN / "desk.ivr"
DESK_REL = "tests/graph_golden/desk.ivr"
BILLING_REL = "flows/billing.ivr"
DOC = REPO / "docs" / "billing-flow.md"
UPDATE = os.environ.get("IVRFLOW_UPDATE_GOLDEN") == "1"
HAVE_DOT = shutil.which("dot") is not None
NO_DOT = "Graphviz's dot is not installed (apt-get install graphviz; `make test` does)"


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs (IVRFLOW_UPDATE_GOLDEN=1 rewrites it)"


def desk_coverage() -> graph.CoverageCounts:
    data = json.loads((GOLDEN / "desk.coverage.json").read_text(encoding="utf-8"))
    return graph.select_coverage(data, DESK_REL)


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    return REPO


@pytest.fixture(scope="module")
def desk() -> ivrflow.model.Flow:
    return ivrflow.load(DESK)


@pytest.fixture(scope="module")
def billing() -> ivrflow.model.Flow:
    return ivrflow.load(REPO / BILLING_REL)


# ---------------------------------------------------------------- golden text


def test_desk_mermaid_golden(desk: ivrflow.model.Flow) -> None:
    golden("desk.mmd", graph.mermaid(desk))


def test_desk_dot_golden(desk: ivrflow.model.Flow) -> None:
    golden("desk.dot", graph.dot(desk))


def test_desk_coverage_goldens(desk: ivrflow.model.Flow) -> None:
    cov = desk_coverage()
    golden("desk-coverage.mmd", graph.mermaid(desk, cov))
    golden("desk-coverage.dot", graph.dot(desk, cov))


def test_billing_mermaid_golden(billing: ivrflow.model.Flow) -> None:
    golden("billing.mmd", graph.mermaid(billing))


def test_docs_billing_diagram_is_current(billing: ivrflow.model.Flow) -> None:
    """docs/billing-flow.md shows exactly what `ivrflow graph flows/billing.ivr` prints."""
    text = DOC.read_text(encoding="utf-8")
    fence = re.compile(r"```mermaid\n(.*?)```\n", re.S)
    blocks = fence.findall(text)
    assert len(blocks) == 1, "docs/billing-flow.md must hold one ```mermaid block"
    current = graph.mermaid(billing)
    if UPDATE:
        DOC.write_text(fence.sub(lambda _: f"```mermaid\n{current}```\n", text), encoding="utf-8")
        return
    assert blocks[0] == current, (
        "docs/billing-flow.md is stale: run `ivrflow graph flows/billing.ivr` and paste it, "
        "or IVRFLOW_UPDATE_GOLDEN=1 pytest tests/unit/test_graph.py"
    )


def test_cli_prints_the_same_text(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", BILLING_REL]) == 0
    assert capsys.readouterr().out == (GOLDEN / "billing.mmd").read_text(encoding="utf-8")
    assert main(["graph", "--format", "dot", DESK_REL]) == 0
    assert capsys.readouterr().out == (GOLDEN / "desk.dot").read_text(encoding="utf-8")


# ---------------------------------------------------------------- what the diagram shows


def test_every_edge_is_drawn_once_for_every_flow() -> None:
    for path in sorted((REPO / "flows").glob("*.ivr")):
        flow = ivrflow.load(path)
        d = graph.build(flow)
        drawn = [key for link in d.links for key in link.keys]
        assert sorted(drawn) == sorted(e.key for e in edges(flow)), path.name
        ids = [n.id for n in d.nodes]
        assert len(ids) == len(set(ids)), path.name
        assert graph.mermaid(flow) == graph.mermaid(flow)  # deterministic
        assert graph.dot(flow) == graph.dot(flow)


def test_node_shapes_by_kind_and_terminals_by_outcome(desk: ivrflow.model.Flow) -> None:
    text = graph.mermaid(desk)
    assert 's_main{{"main"}}' in text  # menu: hexagon
    assert 's_ticket[/"ticket<br/>6 digits"/]' in text  # capture: parallelogram
    assert 's_find[("find<br/>find_ticket()")]' in text  # lookup: cylinder
    assert 's_agent[["agent<br/>queue support"]]' in text  # transfer: subroutine
    assert 's_offer[/"offer<br/>queue support"\\]' in text  # callback: trapezoid
    assert 's_bye["bye"]' in text  # step
    assert 't_agent_transfer(["transferred"])' in text
    assert 't_offer_callback(["callback scheduled"])' in text
    assert 't_bye_hangup(("hang up"))' in text
    assert 't_main_error>"error"]' in text
    assert 't_survey_return(("return"))' in text
    assert "class s_start entry" in text
    dot = graph.dot(desk)
    assert '"main" [shape=hexagon' in dot
    assert '"find (error)" [shape=octagon' in dot
    assert '"bye (hangup)" [shape=circle' in dot


def test_menu_edges_show_keys_and_phrases(billing: ivrflow.model.Flow) -> None:
    text = graph.mermaid(billing)
    assert 's_main_menu -->|"1 / #quot;segunda via#quot; / …"| s_identify' in text
    assert 's_main_menu -->|"* / #quot;repetir#quot; / …"| s_main_menu' in text
    dot = graph.dot(billing)
    assert '"main_menu" -> "identify" [label="1 / \\"segunda via\\" / …"' in dot


def test_special_edges_are_styled_apart(desk: ivrflow.model.Flow) -> None:
    text = graph.mermaid(desk)
    assert 's_main -.->|"noinput 1, 2"| s_main' in text  # parallel no-inputs drawn as one
    assert 's_main -.->|"nomatch"| s_main' in text
    assert 's_main -.->|"exhausted"| t_main_error' in text  # the documented default
    assert 's_agent -->|"busy / noanswer"| s_offer' in text
    assert 's_status ==>|"call"| s_survey' in text
    styles = re.findall(r"linkStyle ([\d,]+) (\S+)", text)
    colours = {re.search(r"stroke:(#\w+)", s).group(1) for _, s in styles}  # type: ignore[union-attr]
    assert len(styles) == len(colours) == 4  # noinput, nomatch, default, exhausted
    dot = graph.dot(desk)
    assert 'label="noinput 1, 2", style=dashed' in dot
    assert 'label="nomatch", style=dotted' in dot
    assert '"ticket" -> "agent" [label="exhausted", style=dashed, color="#8e44ad"' in dot


def test_labels_are_escaped_and_short(desk: ivrflow.model.Flow) -> None:
    text = graph.mermaid(desk)
    # 0, "a \"real\" person <now> & here": quotes, < and & never reach Mermaid raw
    assert '|"0 / #quot;a #quot;real#quot; person #lt;no…#quot;"|' in text
    assert '|"#35;"|' in text  # the pound key
    for line in text.splitlines():
        if "-->|" in line or "-.->|" in line:
            label = line.split('|"', 1)[1].rsplit('"|', 1)[0]
            assert '"' not in label and "<" not in label.replace("<br/>", "")
    dot = graph.dot(desk)
    assert 'label="0 / \\"a \\"real\\" person <no…\\""' in dot


@pytest.mark.parametrize(
    ("keys", "phrases", "expected"),
    [
        (("1",), ("segunda via", "fatura"), '1 / "segunda via" / …'),
        (("1",), ("segunda via",), '1 / "segunda via"'),
        (("*",), (), "*"),
        ((), ("goodbye", "that's all", "bye"), '"goodbye" / "that\'s all" / …'),
        (("2",), ("a very long phrase for one key",), '2 / "a very long phrase…"'),
    ],
)
def test_choice_text(keys: tuple[str, ...], phrases: tuple[str, ...], expected: str) -> None:
    assert graph.choice_text(keys, phrases) == expected


def test_escaping_helpers() -> None:
    assert graph.mermaid_escape('a "b" #1 <c> & d|e`') == (
        "a #quot;b#quot; #35;1 #lt;c#gt; #amp; d#124;e#96;"
    )
    assert graph.dot_quote('say "hi"\\n\nnext') == '"say \\"hi\\"\\\\n\\nnext"'


def test_state_names_that_are_mermaid_keywords_get_safe_ids(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "kw.ivr",
        """
        flow kw "Keywords"
        start:
          -> end
        step end:
          -> graph
        step graph:
          -> o
        step o:
          hangup
        """,
    )
    text = graph.mermaid(ivrflow.load(path))
    assert 's_end["end"]' in text and "s_start --> s_end" in text
    assert "s_graph --> s_o" in text
    assert not re.search(r"^\s+(end|graph|o)\b", text, re.M)


# ---------------------------------------------------------------- coverage


def test_coverage_colours_what_ran(desk: ivrflow.model.Flow) -> None:
    text = graph.mermaid(desk, desk_coverage())
    assert "%% coverage: 8/9 states, 12/29 edges" in text
    classes = dict(
        (name, ids.split(",")) for ids, name in re.findall(r"^    class (\S+) (\S+)$", text, re.M)
    )
    assert "s_offer" in classes["cov_miss"] and "t_offer_callback" in classes["cov_miss"]
    assert "s_main" in classes["cov_hit"] and "t_agent_transfer" in classes["cov_hit"]
    assert "t_agent_error" in classes["cov_miss"]  # `hangup … as error` ends as an error
    styles = {s: ids.split(",") for ids, s in re.findall(r"linkStyle (\S+) (\S+)", text)}
    index = {
        line.strip(): i
        for i, line in enumerate(ln for ln in text.splitlines() if re.search(r" [-=.]+>", ln))
    }
    partial = str(index['s_main -.->|"noinput 1, 2"| s_main'])  # noinput 1 ran, 2 did not
    assert any(partial in ids and "#ef6c00" in s for s, ids in styles.items())
    hit = str(index['s_main -->|"1 / #quot;ticket#quot; / …"| s_ticket'])
    assert any(hit in ids and "#2e7d32" in s for s, ids in styles.items())
    miss = str(index['s_offer -->|"declined"| s_bye'])
    assert any(miss in ids and "#c62828" in s for s, ids in styles.items())
    dot = graph.dot(desk, desk_coverage())
    assert "coverage: 8/9 states, 12/29 edges" in dot
    assert re.search(r'"offer" \[[^\n]*fillcolor="#ffcdd2"', dot)
    assert re.search(r'"main" \[[^\n]*fillcolor="#c8e6c9"', dot)
    assert '"main" -> "ticket" [label="1 / \\"ticket\\" / …", color="#2e7d32"' in dot


def test_coverage_from_a_test_run(
    desk: ivrflow.model.Flow, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Coverage counted by real calls (as `ivrflow test` does) colours the path they took."""
    cov = Coverage()
    fixtures = from_dict({"lookups": {"find_ticket": [{"result": {"status": "open"}}]}})
    call = Call(desk, fixtures=fixtures)
    call.session.listeners = (cov.listener(str(DESK), desk),)
    call.start()
    call.press("1")
    call.press("123456#")
    assert call.ended and call.outcome["kind"] == "self_served", call.transcript
    cov_file = tmp_path / "cov.json"
    cov.write(cov_file)
    assert main(["graph", str(DESK), "--coverage", str(cov_file)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    hit = next(ids for ids, name in re.findall(r"class (\S+) (\S+)", out) if name == "cov_hit")
    for state in ("s_start", "s_main", "s_ticket", "s_find", "s_status", "s_survey", "s_bye"):
        assert state in hit.split(",")
    assert "s_agent" not in hit.split(",")


def test_coverage_matches_the_flow_by_path(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cov = str(GOLDEN / "desk.coverage.json")
    expected = (GOLDEN / "desk-coverage.mmd").read_text(encoding="utf-8")
    for given in (DESK_REL, str(DESK), "./" + DESK_REL):
        assert main(["graph", given, "--coverage", cov]) == 0, given
        assert capsys.readouterr().out == expected


def test_coverage_file_errors(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    old = tmp_path / "old.json"
    old.write_text('{"version": 0, "flows": {}}', encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text('{"version": 1, "flows": {"flows/bank.ivr": {}}}', encoding="utf-8")
    for path, message in (
        (bad, "Expecting property name"),
        (old, "not an ivrflow coverage file"),
        (other, f"no coverage for {DESK_REL} (it has: flows/bank.ivr)"),
        (tmp_path / "missing.json", "No such file or directory"),
    ):
        assert main(["graph", DESK_REL, "--coverage", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"ivrflow graph: {path}: ") and message in err, err
        assert err.count("\n") == 1


def test_stale_coverage_warns(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    partial = tmp_path / "partial.json"
    data = {"version": 1, "flows": {DESK_REL: {"states": {"start": 1}, "edges": {}}}}
    partial.write_text(json.dumps(data), encoding="utf-8")
    assert main(["graph", DESK_REL, "--coverage", str(partial)]) == 0
    out, err = capsys.readouterr()
    assert "has no counts for 8 states and 29 edges" in err
    assert "cov_miss" in out


# ---------------------------------------------------------------- files, SVG, PNG, errors


def test_output_file_and_format_from_suffix(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mmd, gv = tmp_path / "desk.mmd", tmp_path / "desk.gv"
    assert main(["graph", DESK_REL, "-o", str(mmd)]) == 0
    assert main(["graph", DESK_REL, "-o", str(gv)]) == 0
    assert capsys.readouterr().out == ""
    assert mmd.read_text(encoding="utf-8") == (GOLDEN / "desk.mmd").read_text(encoding="utf-8")
    assert gv.read_text(encoding="utf-8") == (GOLDEN / "desk.dot").read_text(encoding="utf-8")
    forced = tmp_path / "desk.svg.txt"
    assert main(["graph", DESK_REL, "-f", "dot", "-o", str(forced)]) == 0
    assert forced.read_text(encoding="utf-8").startswith("// flow desk")


def test_png_needs_an_output_file(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", DESK_REL, "--format", "png"]) == 2
    assert "png is binary: write it to a file with -o FILE" in capsys.readouterr().err


@pytest.mark.skipif(not HAVE_DOT, reason=NO_DOT)
def test_svg_rendered_by_graphviz(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    billing = ivrflow.load(REPO / BILLING_REL)
    assert main(["graph", BILLING_REL, "--format", "svg"]) == 0
    svg = capsys.readouterr().out
    assert re.search(r"<svg\b", svg) and svg.rstrip().endswith("</svg>")
    texts = set(re.findall(r"<text\b[^>]*>([^<]*)</text>", svg))
    for name in billing.states:
        assert name in texts, name
    assert "1 / &quot;segunda via&quot; / …" in texts
    png = tmp_path / "billing.png"
    assert main(["graph", BILLING_REL, "-o", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    cov_svg = graph.render(graph.dot(ivrflow.load(DESK), desk_coverage()), "svg").decode()
    assert 'fill="#ffcdd2"' in cov_svg and 'fill="#c8e6c9"' in cov_svg


def test_missing_dot_gives_a_friendly_message(
    in_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "")
    for fmt in ("svg", "png"):
        assert main(["graph", DESK_REL, "--format", fmt, "-o", "never-written." + fmt]) == 2
        captured = capsys.readouterr()
        assert captured.err == graph.DOT_MISSING + "\n"
        assert captured.out == ""
        assert not Path("never-written." + fmt).exists()
    with pytest.raises(graph.GraphvizMissing, match="apt-get install graphviz"):
        graph.render("digraph {}", "svg")
    assert main(["graph", DESK_REL]) == 0  # Mermaid needs no Graphviz


def test_a_broken_flow_reports_its_errors(write, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "broken.ivr",
        """
        flow broken "x"
        start:
          -> main_meny
        """,
    )
    assert main(["graph", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error[E104]" in captured.err and "main_meny" in captured.err
    assert main(["graph", str(path.parent / "nope.ivr")]) == 1
    assert "file not found" in capsys.readouterr().err


def test_a_module_is_not_a_flow(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", "flows/common/hours.ivr"]) == 1
    err = capsys.readouterr().err
    assert "is not a flow: nothing to draw" in err


def test_unwritable_output(
    in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", DESK_REL, "-o", str(tmp_path / "no" / "such" / "dir.mmd")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_issue12_labels_say_where_a_transfer_goes_and_what_a_capture_hears() -> None:
    flow = ivrflow.load(REPO / "flows" / "service_desk.ivr")
    details = {n.key: n.detail for n in graph.build(flow).nodes}
    assert details["team"] == "queue it_support / it_network / it_accounts"
    assert details["outage_bridge"] == "sip sip:incident@bridge.example.com"
    assert details["front_desk"] == "extension 2000@desk"
    assert details["reason"] == "free speech, 2..30 words"
