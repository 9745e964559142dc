"""core/protocol."""
