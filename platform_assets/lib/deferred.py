"""Modules imported on first use, so that loading the code location (which every queued run pays)
does not import pandas, numpy, pyarrow or requests for definitions that never touch them.

    from platform_assets.lib.deferred import np, pd

`np.array(...)` then imports numpy the first time an attribute is read. The real import goes
through `importlib.import_module`, so the import system's per-module locks keep it thread-safe
(unlike `importlib.util.LazyLoader` on Python 3.11), and nothing unusual is put in `sys.modules`:
`"numpy" in sys.modules` still tells whether numpy was really imported. The scientific Python
ecosystem defers imports the same way (SPEC 1, lazy loading of submodules and functions). Type
checkers see the real modules.
"""

from __future__ import annotations

import importlib
import types
from typing import TYPE_CHECKING, Any

__all__ = ["deferred", "ijson", "np", "pa", "pacsv", "pc", "pd", "requests", "urllib3"]


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


# The heavy libraries the platform's modules use, shared: one handle each, whoever reads it first
# imports it.
if TYPE_CHECKING:
    import ijson
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import requests
    import urllib3
else:
    ijson = deferred("ijson")
    np = deferred("numpy")
    pd = deferred("pandas")
    pa = deferred("pyarrow")
    pc = deferred("pyarrow.compute")
    pacsv = deferred("pyarrow.csv")
    requests = deferred("requests")
    urllib3 = deferred("urllib3")
