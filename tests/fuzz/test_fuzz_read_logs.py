"""Property: read_logs on a damaged file either refuses it with an error
naming the file, or returns logs that satisfy the invariants: nothing
unchecked reaches an agent."""
import os
import tempfile

import pytest

pytest.importorskip("hypothesis", reason="the property-based tests need hypothesis (pip install recogym[test])")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from recogym.io.parquet import read_logs, write_logs  # noqa: E402
from support.invariants import assert_logs_valid  # noqa: E402

_DIRECTORY = tempfile.mkdtemp(prefix="recogym-fuzz-")
_ORIGINAL = os.path.join(_DIRECTORY, "logs.parquet")
write_logs(_ORIGINAL, {"random_seed": 4}, 30, num_organic_users=3)
with open(_ORIGINAL, "rb") as _file:
    _BYTES = _file.read()

FLIPS = st.lists(st.tuples(st.integers(0, len(_BYTES) - 1), st.integers(1, 255)), min_size=1, max_size=6)


@given(flips=FLIPS, cut=st.one_of(st.none(), st.integers(0, len(_BYTES))))
def test_a_damaged_file_is_refused_naming_it_or_read_in_domain(flips, cut):
    damaged = bytearray(_BYTES)
    for offset, mask in flips:
        damaged[offset] ^= mask
    damaged = damaged[:cut] if cut is not None else damaged
    path = os.path.join(_DIRECTORY, "damaged.parquet")
    with open(path, "wb") as file:
        file.write(bytes(damaged))
    try:
        logs, metadata = read_logs(path)
    except ValueError as error:
        assert "damaged.parquet" in str(error)
        return
    assert_logs_valid(logs, metadata["env_args"]["num_products"], 0,
                      metadata["num_users"] + metadata["num_organic_users"])
