"""How long ``import recogym`` takes, as a ratio to ``import numpy, pandas``.

numpy and pandas are recogym's floor: its logs are numpy arrays in pandas
frames, so no import of recogym can be cheaper. Each import runs in a fresh
interpreter (interpreter start-up is in both times), the reference and
recogym alternately in the same session, so the ratio survives a noisy,
shared machine where the seconds do not. The summary's ``x reference`` is the
ratio of rates: 0.8 means ``import recogym`` takes 1/0.8 = 1.25 times as long
as ``import numpy, pandas``.

Run with ``pytest bench/test_bench_import.py``.
"""
import json
import subprocess
import sys

import pytest

#: What ``import recogym`` must leave unimported: the extras, the parts of
#: scipy and pyarrow that only some functions need, gymnasium (registered when
#: it is imported) and tqdm (imported with the first bar). (pandas 3 imports pyarrow's
#: core itself when it is installed, so that is in the reference too.)
NOT_IMPORTED = ("torch", "sklearn", "matplotlib", "dask", "distributed", "scipy.stats", "scipy.sparse",
                "pyarrow.parquet", "obp", "gymnasium", "tqdm", "asyncio")


def _python(code):
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


@pytest.mark.parametrize("name, code, reference", [("import numpy, pandas", "import numpy, pandas", True),
                                                   ("import recogym", "import recogym", False)])
def test_import_time(throughput, name, code, reference):
    completed = throughput("import", name, lambda: _python(code), events_of=lambda completed: 1, rounds=9,
                           reference=reference)
    assert completed.returncode == 0
    loaded = json.loads(_python(f"{code}; import json, sys; print(json.dumps(sorted(sys.modules)))").stdout)
    assert "numpy" in loaded and not set(NOT_IMPORTED) & set(loaded)
