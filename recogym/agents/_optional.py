"""Imports of the optional extras, made only when an agent needs them, so that
``import recogym`` never loads scikit-learn or PyTorch."""
from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]

# threadpoolctl comes with scikit-learn.
_EXTRAS = {"sklearn": ("scikit-learn", "sklearn"), "threadpoolctl": ("scikit-learn", "sklearn"),
           "torch": ("PyTorch", "torch")}


def require(module: str, needed_by: str) -> ModuleType:
    """Import ``module`` (from the ``sklearn`` or ``torch`` extra), or raise an
    ImportError telling how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        package, extra = _EXTRAS[module.partition(".")[0]]
        raise ImportError(f"{needed_by} needs {package}: pip install recogym[{extra}]") from error
