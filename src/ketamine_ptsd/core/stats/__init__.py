"""core/stats."""
