"""The state diagram of ``docs/workflow.md``, drawn from the transition table (Mermaid)."""

from __future__ import annotations

from .states import PatientState
from .table import TRANSITIONS

__all__ = ["mermaid", "workflow_markdown"]


def mermaid() -> str:
    """A Mermaid ``stateDiagram-v2`` with one edge per (event, from, to) that changes state."""
    lines = ["stateDiagram-v2", f"    [*] --> {PatientState.REGISTERED.value}"]
    for event, t in TRANSITIONS.items():
        for source in sorted(t.sources):
            for target in sorted(t.targets):
                if target is not source:
                    lines.append(f"    {source.value} --> {target.value}: {event.value}")
    return "\n".join(lines) + "\n"


def workflow_markdown() -> str:
    """The whole of ``docs/workflow.md``: the diagram and the table, generated."""
    rows = [
        "| event | from | who (action) | guards | source |",
        "|---|---|---|---|---|",
    ]
    for event, t in TRANSITIONS.items():
        guards = ", ".join(g.__name__.lstrip("_").replace("_", " ") for g in t.guards) or "—"
        sources = ", ".join(s.value for s in sorted(t.sources))
        rows.append(f"| `{event.value}` | {sources} | `{t.action.value}` | {guards} | {t.source} |")
    return (
        "# The patient workflow\n\n"
        "Generated from `core/workflow/table.py` by `python -m ketamine_ptsd.core.workflow` "
        "(a test fails when this file is stale). Events that change no state (consent, an "
        "assessment, a stratum correction, a void) appear in the table only.\n\n"
        "```mermaid\n" + mermaid() + "```\n\n" + "\n".join(rows) + "\n"
    )
