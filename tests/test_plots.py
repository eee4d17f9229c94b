import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import recogym
from recogym.agents import PopularityAgent, RandomAgent
from recogym.agents.registry import AGENTS
from recogym.evaluation import ctr_interval
from recogym.plots import action_counts, plot_ab, plot_action_heatmap, plot_ctr_vs_training
from recogym.sweep import sweep

matplotlib = pytest.importorskip("matplotlib", reason="plots need matplotlib (recogym[plot])")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

FIVE = {"num_products": 5}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE


@pytest.fixture(scope="module")
def results():
    results = sweep({"num_products": [5]}, {"random": RandomAgent(FIVE), "popularity": PopularityAgent(FIVE)},
                    [10, 40, 160], 30, [1, 2])
    assert results["error"].isna().all()
    return results


def test_ctr_vs_training_pools_seeds_per_agent_and_size(results, tmp_path):
    figure = plot_ctr_vs_training(results, path=tmp_path / "ctr.png")
    assert isinstance(figure, Figure)
    assert_png(tmp_path / "ctr.png")
    (axes,) = figure.axes
    assert axes.get_xscale() == "log"
    assert [line.get_label() for line in axes.lines] == ["random", "popularity"]
    assert len(axes.collections) == 2  # one band per agent
    popularity = results[(results["agent"] == "popularity") & (results["n_offline"] == 40)]
    pooled = ctr_interval(int(popularity["clicks"].sum()), int(popularity["impressions"].sum()))
    x, y = axes.lines[1].get_data()
    assert list(x) == [10, 40, 160]
    assert y[1] == pytest.approx(pooled[0])


def test_ctr_vs_training_leaves_failed_cells_out(results):
    failed = results.copy()
    failed.loc[(failed["agent"] == "random") & (failed["n_offline"] == 160), ["clicks", "impressions"]] = pd.NA
    axes = plot_ctr_vs_training(failed).axes[0]
    assert list(axes.lines[0].get_data()[0]) == [10, 40]


def test_ctr_vs_training_refuses_to_pool_env_configs(results):
    mixed = pd.concat([results, results.assign(num_products=6)])
    with pytest.raises(ValueError, match="several env configs.*num_products"):
        plot_ctr_vs_training(mixed)
    with pytest.raises(ValueError, match="results lacks the columns \\['clicks'\\]"):
        plot_ctr_vs_training(results.drop(columns="clicks"))


def test_ab_bars_have_the_intervals_as_error_bars(tmp_path):
    agents = {"random": RandomAgent(FIVE), "popularity": PopularityAgent(FIVE)}
    comparison = recogym.compare(FIVE, agents, 200, seed=3, num_offline_users=20, num_bootstrap=10)
    for source in (comparison, comparison.table):
        figure = plot_ab(source, path=tmp_path / "ab.png")
        assert_png(tmp_path / "ab.png")
        (axes,) = figure.axes
        bars = axes.patches
        assert len(bars) == 2
        assert [bar.get_width() for bar in bars] == pytest.approx(comparison.table["median"].tolist())
        (bar_container,) = [c for c in axes.containers if isinstance(c, BarContainer)]
        (_, _, (error_lines,)) = bar_container.errorbar.lines
        segments = error_lines.get_segments()
        assert [segment[0][0] for segment in segments] == pytest.approx(comparison.table["q0.025"].tolist())
        assert [segment[1][0] for segment in segments] == pytest.approx(comparison.table["q0.975"].tolist())
        assert [label.get_text() for label in axes.get_yticklabels()] == ["random", "popularity"]
    with pytest.raises(TypeError, match="comparison_or_table"):
        plot_ab([1, 2])


def per_user_counts(logs, num_products):
    """The oracle: walk each user's events in order, remembering the last view."""
    counts = np.zeros((num_products, num_products), dtype=np.int64)
    last_view = {}
    for user, kind, viewed, action in zip(logs.u, logs.z, logs.v, logs.a):
        if kind == 0:
            last_view[user] = viewed
        elif user in last_view:
            counts[last_view[user], action] += 1
    return counts


def test_action_heatmap_counts_each_impression_under_its_last_view(tmp_path):
    env = recogym.make("reco-gym-v1")
    env.init_gym({"num_products": 4, "random_seed": 5})
    logs = env.simulate(60)
    expected = per_user_counts(logs, 4)
    assert expected.sum() > 100
    np.testing.assert_array_equal(action_counts(logs, 4), expected)
    figure = plot_action_heatmap(logs, 4, path=tmp_path / "heat.png")
    assert_png(tmp_path / "heat.png")
    image = figure.axes[0].images[0].get_array()
    assert image.shape == (4, 4)
    np.testing.assert_array_equal(image, expected)
    shares = plot_action_heatmap(logs, 4, normalize=True).axes[0].images[0].get_array()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)


def test_action_heatmap_from_arrays_skips_impressions_before_any_view():
    counts = action_counts(([-1, 0, 0, 2], [1, 1, 1, 0]), 3)
    np.testing.assert_array_equal(counts, [[0, 2, 0], [0, 0, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match="actions holds product 3"):
        action_counts(([0], [3]), 3)
    with pytest.raises(ValueError, match="one length"):
        action_counts(([0, 1], [1]), 3)
    with pytest.raises(TypeError, match="num_products"):
        action_counts(([0], [1]), 0)


def test_missing_matplotlib_says_how_to_install(monkeypatch, results):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install recogym\[plot\]"):
        plot_ctr_vs_training(results)


def test_importing_recogym_does_not_import_matplotlib():
    code = "import sys, recogym, recogym.plots, recogym.sweep; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_importing_recogym_leaves_scipy_stats_sparse_parquet_gymnasium_tqdm_and_extras_for_later():
    heavy = ("matplotlib", "torch", "sklearn", "dask", "scipy.stats", "scipy.sparse", "pyarrow.parquet", "gymnasium",
             "tqdm", "asyncio")
    code = f"import sys, recogym; print([m for m in {heavy!r} if m in sys.modules])"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
    # ... and each lazy name still resolves, to what its module holds.
    code = ("import recogym, recogym.io.parquet as parquet, recogym.agents as agents; "
            "assert recogym.read_logs is parquet.read_logs and recogym.agents is agents; "
            "assert set(recogym.__all__) <= set(dir(recogym)); [getattr(recogym, n) for n in recogym.__all__]")
    subprocess.run([sys.executable, "-c", code], check=True)


ELEVEN = pd.DataFrame({"agent": [entry.title for entry in AGENTS.values()],
                       "median": np.linspace(0.008, 0.02, 11)})
ELEVEN["q0.025"], ELEVEN["q0.975"] = ELEVEN["median"] - 0.002, ELEVEN["median"] + 0.002


def _boxes(figure, texts):
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    return [text.get_window_extent(renderer) for text in texts if text.get_text()]


def test_ab_labels_of_eleven_agents_do_not_overlap_and_fit():
    title = "reco-gym-v1, P=10, 1000 offline and 1000 online users, seed 42, and more words to wrap"
    figure = plot_ab(ELEVEN, title=title)
    (axes,) = figure.axes
    labels = _boxes(figure, axes.get_yticklabels())
    assert len(labels) == 11
    for upper, lower in zip(labels, labels[1:]):
        assert not upper.overlaps(lower)
    width, height = figure.canvas.get_width_height()
    for box in labels + _boxes(figure, [figure._suptitle]):
        assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height
    assert " ".join(figure.get_suptitle().split()) == title
    assert isinstance(axes.xaxis.get_major_formatter(), PercentFormatter)


def test_ctr_vs_training_has_percent_axis_title_and_legend_outside(results):
    figure = plot_ctr_vs_training(results, title="reco-gym-v1, P=5, seeds 1, 2")
    (axes,) = figure.axes
    assert isinstance(axes.yaxis.get_major_formatter(), PercentFormatter)
    assert axes.get_legend() is None
    (legend,) = figure.legends
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    assert not legend.get_window_extent(renderer).overlaps(axes.get_window_extent(renderer))
    assert axes.get_title() == "reco-gym-v1, P=5, seeds 1, 2"
    assert not legend.get_window_extent(renderer).overlaps(axes.title.get_window_extent(renderer))


def test_normalized_heatmap_reads_in_percent():
    figure = plot_action_heatmap(([0, 0, 1], [1, 0, 1]), 2, normalize=True)
    colorbar_axes = figure.axes[1]
    assert isinstance(colorbar_axes.yaxis.get_major_formatter(), PercentFormatter)
    assert "shares" in figure.get_suptitle()


@pytest.mark.parametrize("suffix, signature", [(".png", PNG_SIGNATURE), (".svg", b"<?xml"), (".pdf", b"%PDF"),
                                               (".jpg", b"\xff\xd8\xff"), (".JPEG", b"\xff\xd8\xff")])
def test_the_format_follows_the_extension(tmp_path, suffix, signature):
    path = tmp_path / f"ab{suffix}"
    plot_ab(ELEVEN, path=path)
    assert path.read_bytes().startswith(signature)


def test_an_unknown_extension_is_refused(tmp_path):
    with pytest.raises(ValueError, match="extension must be one of"):
        plot_ab(ELEVEN, path=tmp_path / "ab.gif")
    assert not (tmp_path / "ab.gif").exists()
