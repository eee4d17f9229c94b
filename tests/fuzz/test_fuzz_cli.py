"""Property: the command either succeeds or fails with one line,
``recogym: error: ...``, and exit status 2, whatever its arguments."""
import contextlib
import io
import os
import tempfile

import pytest

pytest.importorskip("hypothesis", reason="the property-based tests need hypothesis (pip install recogym[test])")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from recogym.cli import main  # noqa: E402

_DIRECTORY = tempfile.mkdtemp(prefix="recogym-cli-fuzz-")

COUNT = st.sampled_from(["0", "3", "-1", "x", "2.5", ""])
OPTIONS = {
    "--offline-users": COUNT, "--online-users": COUNT, "--users": COUNT,
    "--seed": st.sampled_from(["0", "7", "-3", str(2**70), "seed"]),
    "--set": st.sampled_from(["num_products=3", "num_prods=3", "K=0", "rng=legacy", "random_seed=5",
                              "prob_leave_organic=0", "prob_leave_bandit=0", "num_products=100000000000",
                              "=1", "x", "sigma_omega=1e308"]),
    "--agents": st.sampled_from(["random", "popularity,random", "rando", "", ","]),
    "--env": st.sampled_from(["reco-gym-v1", "reco-gym-v0", "reco-gym-v2"]),
    "--out": st.sampled_from([os.path.join(_DIRECTORY, "logs.parquet"), "/no/such/dir/logs.parquet", _DIRECTORY]),
    "--json": st.none(), "--csv": st.none(), "--bogus": st.none(),
}
OPTION = st.sampled_from(sorted(OPTIONS)).flatmap(
    lambda name: st.tuples(st.just(name), OPTIONS[name]))
COMMAND = st.sampled_from(["run", "logs", "demo", "rn", "--version", "run --help"])


@given(command=COMMAND, options=st.lists(OPTION, max_size=5))
def test_the_command_succeeds_or_fails_in_one_line_with_status_2(command, options):
    argv = command.split()
    for name, value in options:
        argv += [name] if value is None else [name, value]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main(argv)
        except SystemExit as exit:
            status = exit.code
    if status in (0, None):
        return
    lines = stderr.getvalue().strip().splitlines()
    assert status == 2, (argv, status, stderr.getvalue())
    assert len(lines) == 1 and lines[0].startswith("recogym: error: "), (argv, stderr.getvalue())
