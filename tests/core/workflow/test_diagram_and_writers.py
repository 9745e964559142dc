"""docs/workflow.md is drawn from the table; only the workflow service writes a status."""

from __future__ import annotations

import ast
from pathlib import Path

from ketamine_ptsd.core.workflow.diagram import mermaid, workflow_markdown

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src" / "ketamine_ptsd"


def test_the_checked_in_diagram_is_the_table() -> None:
    checked_in = (ROOT / "docs" / "workflow.md").read_text(encoding="utf-8")
    assert checked_in == workflow_markdown(), (
        "docs/workflow.md is stale: python -m ketamine_ptsd.core.workflow > docs/workflow.md"
    )


def test_the_diagram_has_an_edge_for_every_state_change() -> None:
    diagram = mermaid()
    assert "registered --> eligible: decide_eligibility" in diagram
    assert "registered --> eligible: override_eligibility" in diagram
    assert "eligible --> randomized: allocate" in diagram
    assert "responder --> lost_response: lose_response" in diagram
    assert "registered --> screening: consent" in diagram
    assert "in_treatment --> completed_series: complete_series" in diagram
    assert ": renew_consent" not in diagram  # a renewed consent changes no state


def _status_writes(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", "") == "setattr"
            and len(node.args) >= 2
            and getattr(node.args[1], "value", None) == "status"
        ):
            lines.append(node.lineno)
        lines += [t.lineno for t in targets if isinstance(t, ast.Attribute) and t.attr == "status"]
    return lines


def test_only_the_workflow_service_writes_a_patient_status() -> None:
    writers = {
        str(path.relative_to(SRC)): lines
        for path in SRC.rglob("*.py")
        if (lines := _status_writes(path))
    }
    assert writers == {"services/workflow.py": writers.get("services/workflow.py", [])}
    assert writers["services/workflow.py"], "the workflow service writes the status"
