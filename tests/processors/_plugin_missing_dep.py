"""A plugin module whose own dependency is not installed."""

import autoissue_dependency_that_is_not_installed  # noqa: F401
