"""core/instruments."""
