"""A plugin module that fails while it is imported."""

raise RuntimeError("plugin exploded on import")
