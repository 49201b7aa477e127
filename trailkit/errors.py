"""Exceptions and the load report.

Examples
--------
>>> from trailkit.errors import InputError
>>> issubclass(InputError, ValueError)
True
"""

from __future__ import annotations


class TrailkitError(Exception):
    """Base class of every error trailkit raises on purpose."""


class InputError(TrailkitError, ValueError):
    """Input that trailkit cannot use: the message names the file, the field and the fix."""


class LoadError(InputError):
    """Raised by loaders with ``on_error="raise"`` when a file or record has a problem."""

    def __init__(self, message: str, problems=None):
        super().__init__(message)
        self.problems = list(problems or [])


class MissingDependencyError(TrailkitError, ImportError):
    """An optional dependency is not installed; the message names the pip command."""


def require(module: str, extra: str):
    """Import an optional dependency, or raise with the exact install command.

    >>> require("json", "core").__name__
    'json'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{module} is needed for this feature but is not installed. "
            f"Install it with: pip install 'trailkit[{extra}]'"
        ) from exc
