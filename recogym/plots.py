"""Figures of sweeps, A/B comparisons and logged actions.

matplotlib is optional (``pip install recogym[plot]``): it is imported only
when a figure is drawn, and never through pyplot, so no global figure state
or GUI backend is involved. Each function returns a
``matplotlib.figure.Figure`` and, given ``path``, also saves it in the format
its extension names (:data:`IMAGE_FORMATS`). CTRs are drawn on percent axes,
as the command's tables print them, and a ``title`` should say the setup
(model, P, users, seed), so an image read alone says what it shows.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import numpy.typing as npt
import pandas as pd

from .agents.features import Impressions, impressions
from .evaluation.compare import Comparison
from .evaluation.online import ctr_interval
from .evaluation.sweep import RESULT_COLUMNS
from .logs import Logs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["IMAGE_FORMATS", "plot_ctr_vs_training", "plot_ab", "plot_action_heatmap", "action_counts"]

#: The file extensions ``path`` may have, and the matplotlib format of each.
IMAGE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg"}

Path = Union[str, "os.PathLike[str]", None]
ActionSource = Union[Logs, Impressions, tuple[npt.ArrayLike, npt.ArrayLike]]

_SWEEP_COLUMNS = ("agent", "n_offline", "clicks", "impressions")
_TABLE_COLUMNS = ("agent", "median", "q0.025", "q0.975")


def plot_ctr_vs_training(results: pd.DataFrame, *, title: str | None = None, path: Path = None) -> Figure:
    """CTR against the number of training users, one line per agent, with
    its 95% credible band: 0.1.3.0's ``plot_agent_stats``.

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`recogym.sweep.sweep`'s result for one env config (select one
        first if the sweep varied env args): columns ``agent``,
        ``n_offline``, ``clicks`` and ``impressions``; any other column not
        among sweep's is taken for an env arg. Failed cells (no clicks) are
        left out.
    title : str, optional
        The figure's title, best the setup, such as ``'reco-gym-v1, P=10,
        1000 online users, seeds 1-5'``.
    path : str or os.PathLike, optional
        Where to save the figure, in the format of its extension
        (:data:`IMAGE_FORMATS`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``results`` lacks a column, holds several env configs, or has no
        finished cell.
    ImportError
        Without matplotlib.

    Notes
    -----
    The seeds of each (agent, n_offline) are pooled: their clicks and
    impressions are summed and the median and 95% interval recomputed from
    Beta(clicks + 1, misses + 1), as for one longer run. Averaging the
    seeds' medians instead would keep each seed's interval width, too wide
    for their mean. The x axis is logarithmic, as training sizes usually are.
    """
    _require_columns("results", results, _SWEEP_COLUMNS)
    configs = [name for name in results.columns
               if name not in RESULT_COLUMNS and results[name].nunique(dropna=False) > 1]
    if configs:
        raise ValueError(f"results holds several env configs (columns {configs} vary): pooling them would mix "
                         f"different envs; select one, e.g. results[results[{configs[0]!r}] == value]")
    finished = results[results["clicks"].notna()]
    if finished.empty:
        raise ValueError("results has no finished cell to plot: every cell failed")
    pooled = finished.groupby(["agent", "n_offline"], sort=False)[["clicks", "impressions"]].sum()
    figure = _new_figure()
    axes = figure.add_subplot()
    for agent in pd.unique(finished["agent"]):
        counts = pooled.loc[agent].sort_index()
        intervals = np.array([ctr_interval(int(c), int(i)) for c, i in zip(counts["clicks"], counts["impressions"])])
        sizes = counts.index.to_numpy()
        (line,) = axes.plot(sizes, intervals[:, 0], marker="o", label=str(agent))
        axes.fill_between(sizes, intervals[:, 1], intervals[:, 2], color=line.get_color(), alpha=0.2)
    axes.set_xscale("log")
    axes.set_xlabel("training users (n_offline)")
    axes.set_ylabel("CTR (median, 95% band)")
    _percent(axes.yaxis)
    # Outside the axes, where no line or band can hide under it; the title
    # over the axes alone, clear of the legend.
    figure.legend(loc="outside right upper", title="agent")
    axes.set_title(_wrapped(title or "CTR against training users", width=50))
    return _saved(figure, path)


def plot_ab(comparison_or_table: Comparison | pd.DataFrame, *, title: str | None = None,
            path: Path = None) -> Figure:
    """Each agent's CTR as a horizontal bar, with its 95% interval as an
    error bar. The agents' names run down the side, one a line, so they never
    overlap however many agents there are or however long their names.

    Parameters
    ----------
    comparison_or_table : Comparison or pandas.DataFrame
        :func:`recogym.compare`'s result, or its ``.table`` (any DataFrame
        with ``agent``, ``median``, ``q0.025`` and ``q0.975``), listed top
        down in its order.
    title : str, optional
        The figure's title, best the setup, such as ``'reco-gym-v1, P=10,
        1000 offline and 1000 online users, seed 42'``.
    path : str or os.PathLike, optional
        Where to save the figure, in the format of its extension
        (:data:`IMAGE_FORMATS`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``comparison_or_table`` is neither.
    ValueError
        If the table lacks a column or has no row.
    ImportError
        Without matplotlib.
    """
    if isinstance(comparison_or_table, Comparison):
        table = comparison_or_table.table
    elif isinstance(comparison_or_table, pd.DataFrame):
        table = comparison_or_table
    else:
        raise TypeError(f"comparison_or_table must be a recogym Comparison or its .table DataFrame, "
                        f"got {type(comparison_or_table).__name__}")
    _require_columns("comparison_or_table", table, _TABLE_COLUMNS)
    if table.empty:
        raise ValueError("comparison_or_table has no agent to plot")
    median = table["median"].to_numpy(dtype=np.float64)
    below = median - table["q0.025"].to_numpy(dtype=np.float64)
    above = table["q0.975"].to_numpy(dtype=np.float64) - median
    figure = _new_figure(height=1.6 + 0.35 * len(table))
    axes = figure.add_subplot()
    positions = np.arange(len(table))
    axes.barh(positions, median, xerr=np.vstack([below, above]), capsize=3, height=0.6)
    axes.set_yticks(positions, [str(agent) for agent in table["agent"]])
    axes.invert_yaxis()  # the table's first agent on top
    axes.set_xlabel("CTR (median, 95% interval)")
    _percent(axes.xaxis)
    axes.grid(axis="x", alpha=0.3)
    figure.suptitle(_wrapped(title or "CTR by agent"))
    return _saved(figure, path)


def plot_action_heatmap(
    logs_or_actions: ActionSource,
    num_products: int,
    *,
    normalize: bool = False,
    title: str | None = None,
    path: Path = None,
) -> Figure:
    """How often each product was recommended after each last viewed
    product: rows are the user's last view, columns the recommendation.

    Parameters
    ----------
    logs_or_actions : Logs, Impressions or (last_view, actions)
        :class:`recogym.Logs` (each impression is paired with the user's
        last view before it by :func:`recogym.agents.features.impressions`,
        without a Python loop), their ``Impressions``, or two integer arrays
        of equal length. Impressions before any view (``last_view == -1``)
        have no row and are left out.
    num_products : int
        P: the map is P x P.
    normalize : bool
        Divide each row by its total, to show the policy's distribution of
        recommendations given the last view rather than raw counts (the
        colour bar then reads in percent).
    title : str, optional
        The figure's title, best the setup (model, P, users, seed).
    path : str or os.PathLike, optional
        Where to save the figure, in the format of its extension
        (:data:`IMAGE_FORMATS`).

    Returns
    -------
    matplotlib.figure.Figure
        Its image holds the P x P counts (or row frequencies).

    Raises
    ------
    ValueError
        If a product is outside ``[0, num_products)`` or the arrays differ in
        length.
    TypeError
        If ``num_products`` is not a positive integer or the source is none
        of the above.
    ImportError
        Without matplotlib.
    """
    counts = action_counts(logs_or_actions, num_products)
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    values = counts.astype(np.float64)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    figure = _new_figure()
    axes = figure.add_subplot()
    image = axes.imshow(values, origin="upper", aspect="auto", interpolation="nearest")
    colorbar = figure.colorbar(image, ax=axes, label="share of the row's impressions" if normalize
                               else "impressions")
    if normalize:
        _percent(colorbar.ax.yaxis)
    axes.set_xlabel("recommended product")
    axes.set_ylabel("last viewed product")
    if num_products <= 20:
        axes.set_xticks(range(num_products))
        axes.set_yticks(range(num_products))
    figure.suptitle(_wrapped(title or ("Recommendations per last viewed product"
                                       + (", as shares of each row" if normalize else ""))))
    return _saved(figure, path)


def action_counts(logs_or_actions: ActionSource, num_products: int) -> npt.NDArray[np.int64]:
    """The P x P counts behind :func:`plot_action_heatmap`: impressions per
    (last viewed product, recommended product)."""
    if isinstance(num_products, bool) or not isinstance(num_products, (int, np.integer)) or num_products < 1:
        raise TypeError(f"num_products must be a positive integer, got {num_products!r}")
    if isinstance(logs_or_actions, Logs):
        logs_or_actions = impressions(logs_or_actions)
    if isinstance(logs_or_actions, Impressions):
        last_view, actions = logs_or_actions.last_view, logs_or_actions.actions
    elif isinstance(logs_or_actions, Sequence) and len(logs_or_actions) == 2:
        last_view, actions = (np.asarray(column) for column in logs_or_actions)
    else:
        raise TypeError(f"logs_or_actions must be Logs, Impressions or a (last_view, actions) pair, "
                        f"got {type(logs_or_actions).__name__}")
    last_view = np.asarray(last_view, dtype=np.int64)
    actions = np.asarray(actions, dtype=np.int64)
    if last_view.shape != actions.shape or last_view.ndim != 1:
        raise ValueError(f"logs_or_actions: last_view and actions must be 1-d arrays of one length, got shapes "
                         f"{last_view.shape} and {actions.shape}")
    viewed = last_view >= 0
    last_view, actions = last_view[viewed], actions[viewed]
    for name, column in (("last_view", last_view), ("actions", actions)):
        if column.size and column.max() >= num_products:
            raise ValueError(f"logs_or_actions: {name} holds product {column.max()}, outside "
                             f"[0, num_products={num_products})")
    if actions.size and actions.min() < 0:
        raise ValueError(f"logs_or_actions: actions holds product {actions.min()}, below 0")
    flat = np.bincount(last_view * num_products + actions, minlength=num_products * num_products)
    return flat.reshape(num_products, num_products).astype(np.int64)


def _require_columns(name: str, frame: Any, columns: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing}")


def _new_figure(height: float = 4.8) -> Figure:
    """A figure with no pyplot state, or an ImportError saying how to get matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("recogym's plots need matplotlib: pip install recogym[plot]") from error
    return Figure(figsize=(7.2, max(height, 3.0)), layout="constrained")


def _wrapped(title: str, width: int = 72) -> str:
    """``title`` in lines of at most ``width`` characters, short enough for
    the figure: constrained layout makes room for a title's height, not its
    width."""
    import textwrap

    return textwrap.fill(title, width=width)


def _percent(axis: Any) -> None:
    """Fractions on ``axis`` shown as percents."""
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0))


def _saved(figure: Figure, path: Path) -> Figure:
    """``figure``, saved to ``path`` (if any) in the format of its extension."""
    if path is not None:
        suffix = os.path.splitext(os.fspath(path))[1].lower()
        if suffix not in IMAGE_FORMATS:
            raise ValueError(f"path {os.fspath(path)!r}: the extension must be one of "
                             f"{', '.join(IMAGE_FORMATS)}, got {suffix or 'none'!r}")
        figure.savefig(os.fspath(path), format=IMAGE_FORMATS[suffix], dpi=150)
    return figure
