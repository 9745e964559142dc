"""The rules package re-exports every public name of its modules (STYLE.md: explicit __all__)."""

from __future__ import annotations

import importlib

import ketamine_ptsd.core.rules as rules

MODULES = (
    "discharge",
    "dose",
    "eligibility",
    "esketamine",
    "maintenance",
    "pre_infusion",
    "response",
    "schedule",
    "vitals",
)


def test_every_module_export_is_re_exported_by_the_package() -> None:
    exported = set(rules.__all__)
    for name in MODULES:
        module = importlib.import_module(f"ketamine_ptsd.core.rules.{name}")
        missing = set(module.__all__) - exported
        assert not missing, f"{name}: {sorted(missing)}"
        for symbol in module.__all__:
            assert getattr(rules, symbol) is getattr(module, symbol)


def test_every_module_cites_its_protocol_section() -> None:
    for name in MODULES:
        module = importlib.import_module(f"ketamine_ptsd.core.rules.{name}")
        assert module.__doc__ is not None and "PROTOCOL.md §" in module.__doc__, name
