"""adapters/interop."""
