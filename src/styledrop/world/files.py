"""Atomic writes for the dataset builder (shared with the rest of the package)."""

from ..files import atomic_path, atomic_write_bytes, atomic_write_text

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]
