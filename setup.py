"""Build the Cython engine. Compiler directives are set here and nowhere else.

``RECOGYM_CYTHON_DEBUG=1`` turns on bounds and initialisation checks, the way
scikit-learn's ``SKLEARN_ENABLE_DEBUG_CYTHON_DIRECTIVES`` does, so the test
suite can run against a kernel that refuses out-of-range indices.
"""
import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("RECOGYM_CYTHON_DEBUG", "0") not in ("", "0")

directives = {
    "language_level": 3,
    "wraparound": False,
    "cdivision": True,
    "embedsignature": True,
    "boundscheck": DEBUG,
    "initializedcheck": DEBUG,
}

numpy_root = os.path.dirname(np.__file__)
link_args = []
if sys.platform == "win32":
    compile_args = ["/fp:precise"]
else:
    # No fused multiply-add contraction: results must not depend on the CPU.
    # A release build carries no debug info: -g0 overrides the -g of Python's
    # CFLAGS, and the linker's -S drops what the static numpy libraries bring
    # (the .so goes from 1.77 MB to about 0.35 MB).
    compile_args = ["-O3", "-ffp-contract=off", "-g0"]
    link_args = ["-Wl,-S"]
if DEBUG and sys.platform != "win32":
    compile_args = ["-O1", "-g", "-ffp-contract=off"]
    link_args = []

core = Extension(
    "recogym._core",
    sources=["recogym/_core.pyx"],
    include_dirs=[np.get_include(), "recogym"],
    # numpy's ziggurat normal sampler, linked statically from numpy's own
    # libnpyrandom (numpy/random/lib), as numpy's extending examples do.
    library_dirs=[
        os.path.join(numpy_root, "random", "lib"),
        os.path.join(numpy_root, "_core", "lib"),
    ],
    # libdl: dlvsym, with which _kernels.h finds glibc's exp without its wrapper.
    libraries=["npyrandom", "npymath"] + (["dl"] if sys.platform.startswith("linux") else []),
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                   ("RECOGYM_DEBUG_BUILD", "1" if DEBUG else "0")],
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

# force: the directives change with RECOGYM_CYTHON_DEBUG, which cythonize's
# timestamp check cannot see.
setup(ext_modules=cythonize([core], compiler_directives=directives, force=True))
