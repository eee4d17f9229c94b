"""The notebook, translated, runs as the user wrote it."""
import re
import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_getting_started_notebook_runs(capsys):
    runpy.run_path(str(EXAMPLES / "getting_started.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert re.search(r"^Step: 0 - Action: None - Observation: \[\('pageview', \d+\)", out, re.M)
    assert re.search(r"^Step: 1 - Action: \d+ - Observation: ", out, re.M)
    assert re.search(r"^Click Through Rate: 0\.\d{4}$", out, re.M)
    random_result, popularity_result = [tuple(map(float, m)) for m in
                                        re.findall(r"^\(([\d.e-]+), ([\d.e-]+), ([\d.e-]+)\)$", out, re.M)]
    for median, low, high in (random_result, popularity_result):
        assert 0 < low < median < high < 0.1
    # Popularity beats random by far more than either interval's width.
    assert popularity_result[1] > random_result[2]
