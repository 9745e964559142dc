"""``python -m ketamine_ptsd.core.workflow``: print docs/workflow.md (generated)."""

from __future__ import annotations

from .diagram import workflow_markdown

print(workflow_markdown(), end="")
