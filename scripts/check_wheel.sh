#!/usr/bin/env bash
# Build the sdist and, from it, the wheel (`python -m build`), and prove both
# complete: twine's metadata check and check-wheel-contents pass; the sdist
# holds LICENSE and every file README.md names; the wheel holds LICENSE,
# _core.pyi and py.typed, no .pyx/.c/.h, and an engine without debug info.
# Then the test suite passes against the wheel, installed into fresh venvs
# away from the source tree, under the newest numpy and under the oldest
# numpy that pyproject.toml allows (the wheel is built against numpy 2, whose
# ABI is meant to run on 1.25+). Needs build, twine and check-wheel-contents.
set -eo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m build --outdir "$work/dist" "$root"
wheel=$(ls "$work"/dist/recogym-*.whl)
sdist=$(ls "$work"/dist/recogym-*.tar.gz)
python3 -m twine check --strict "$wheel" "$sdist"
check-wheel-contents "$wheel"

python3 - "$wheel" "$sdist" "$root/README.md" <<'PYTHON'
import re
import sys
import tarfile
import zipfile

wheel, sdist, readme = sys.argv[1:]
names = zipfile.ZipFile(wheel).namelist()
sources = [name for name in names if name.endswith((".pyx", ".c", ".h"))]
assert not sources, f"the wheel ships sources: {sources}"
missing = [name for name in ("recogym/_core.pyi", "recogym/py.typed") if name not in names]
assert not missing, f"the wheel lacks {missing}"
assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), "the wheel lacks LICENSE"
with zipfile.ZipFile(wheel) as archive:
    for name in names:
        if name.startswith("recogym/_core.") and name.endswith((".so", ".pyd")):
            engine = archive.read(name)
            # An ELF or Mach-O file with debug info names its .debug_info (__debug_info) section.
            assert b"debug_info" not in engine, f"{name} carries debug info ({len(engine):,} bytes)"
            print(f"{name}: {len(engine):,} bytes, no debug info")
print(f"wheel contents: {len(names)} files, no sources, stub, py.typed and LICENSE present")

with tarfile.open(sdist) as archive:
    held = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
named = set(re.findall(r"(?:\.ci|bench|docs|examples|scripts|tests)/[\w./-]*\w", open(readme).read()))
absent = sorted(path for path in named | {"LICENSE"} if path not in held)
assert not absent, f"the sdist lacks what README.md names: {absent}"
print(f"sdist: {len(held)} files, LICENSE and the {len(named)} files README.md names present")
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
