"""Modules imported on first use, so that loading the code location (which every queued run pays)
does not import pandas, numpy, pyarrow or requests for definitions that never touch them.

    from typing import TYPE_CHECKING
    if TYPE_CHECKING:
        import numpy as np
    else:
        np = deferred("numpy")

`np.array(...)` then imports numpy the first time an attribute is read. The real import goes
through `importlib.import_module`, so the import system's per-module locks keep it thread-safe
(unlike `importlib.util.LazyLoader` on Python 3.11), and nothing unusual is put in `sys.modules`:
`"numpy" in sys.modules` still tells whether numpy was really imported. The scientific Python
ecosystem defers imports the same way (SPEC 1, lazy loading of submodules and functions).
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class DeferredModule(types.ModuleType):
    """Stands for module `name` until an attribute is read, then for the real module."""

    def __getattr__(self, attribute: str) -> Any:
        # Only called for attributes not yet copied onto this object: each is read once from the
        # real module, then found directly.
        value = getattr(importlib.import_module(self.__name__), attribute)
        setattr(self, attribute, value)
        return value

    def __repr__(self) -> str:
        return f"<deferred module {self.__name__!r}>"


def deferred(name: str) -> Any:
    """Module `name`, imported when one of its attributes is first read."""
    return DeferredModule(name)
