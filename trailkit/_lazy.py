"""Lazy public names for a package: ``__getattr__``/``__dir__`` that import on first use.

Keeps ``import trailkit`` (and ``trailkit.aws``, ``trailkit.scenarios``) light: a name's module
is imported only when the name is first looked up.

>>> getattr_, dir_ = lazy_exports("pkg", {"dumps": "json"}, {})
>>> getattr_("dumps").__name__
'dumps'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any


def lazy_exports(package: str, names: dict[str, str], namespace: MutableMapping[str, Any],
                 extra_dir: Iterable[str] = ()) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps a public name to its module.

    The value found is cached in ``namespace`` (the package's ``globals()``).
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*names, *extra_dir})

    return __getattr__, __dir__
