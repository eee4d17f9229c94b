"""Progress bars, with tqdm imported when the first bar is made.

``tqdm.auto`` imports asyncio (and with it ssl and email): about a third of
what ``import recogym`` would otherwise add to ``import numpy, pandas``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm.std import tqdm as Bar


def tqdm(*args: Any, **kwargs: Any) -> Bar[Any]:
    """``tqdm.auto.tqdm(*args, **kwargs)``: a notebook widget in Jupyter, a
    text bar elsewhere."""
    from tqdm.auto import tqdm as bar

    return bar(*args, **kwargs)
