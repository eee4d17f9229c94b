#!/usr/bin/env bash
# Build the wheel and prove it is self-contained: it ships no .pyx/.c/.h and
# does ship _core.pyi and py.typed, and the test suite passes against it,
# installed into fresh venvs away from the source tree, under the newest numpy
# and under the oldest numpy that pyproject.toml allows (the wheel is built
# against numpy 2, whose ABI is meant to run on 1.25+).
set -eo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$root"
wheel=$(ls "$work"/dist/recogym-*.whl)

python3 - "$wheel" <<'PYTHON'
import sys
import zipfile

names = zipfile.ZipFile(sys.argv[1]).namelist()
sources = [name for name in names if name.endswith((".pyx", ".c", ".h"))]
assert not sources, f"the wheel ships sources: {sources}"
missing = [name for name in ("recogym/_core.pyi", "recogym/py.typed") if name not in names]
assert not missing, f"the wheel lacks {missing}"
print(f"wheel contents: {len(names)} files, no sources, stub and py.typed present")
PYTHON

oldest_numpy=$(python3 - "$root/pyproject.toml" <<'PYTHON'
import re
import sys
import tomllib

with open(sys.argv[1], "rb") as handle:
    dependencies = tomllib.load(handle)["project"]["dependencies"]
print(next(re.fullmatch(r"numpy>=([\d.]+)", d).group(1) for d in dependencies if d.startswith("numpy")))
PYTHON
)

# pyarrow 22 and later need numpy 2 at run time, so the numpy 1 environment
# takes the last pyarrow that supports it.
for requirements in "numpy" "numpy==${oldest_numpy}.* pyarrow<22"; do
    rm -rf "$work/venv"
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet "$wheel" $requirements pytest
    echo "testing the wheel with $("$work/venv/bin/python" -c 'import numpy; print("numpy", numpy.__version__)')"
    # importlib mode and a working directory outside the checkout keep the
    # source tree off sys.path: the tests import the installed wheel.
    (cd "$work" && "$work/venv/bin/python" -c "import recogym, sys; assert 'site-packages' in recogym.__file__, recogym.__file__" \
        && "$work/venv/bin/python" -m pytest "$root/tests" --import-mode=importlib -p no:cacheprovider -q)
done
