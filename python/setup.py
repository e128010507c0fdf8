"""Builds the `persist` package: persist._persist, a C++ extension on the
persist C++ library (hamt/, contextvars/), and its Python modules.

    /usr/bin/python3 -m venv --system-site-packages build-venv
    build-venv/bin/pip install --no-build-isolation ./python

The C++ headers are taken from the repository this directory is in (pip 23
builds a local directory in place); PERSIST_SOURCE_DIR overrides that.
"""

import os

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("PERSIST_SOURCE_DIR", os.path.dirname(HERE))
if not os.path.isfile(os.path.join(SOURCE_DIR, "contextvars", "contextvars.h")):
    raise SystemExit(
        "persist: the C++ headers are not in %r; build from the repository "
        "checkout (pip install ./python) or set PERSIST_SOURCE_DIR" % SOURCE_DIR)

# The module's C++ files (python/module.h lists their init functions); keep
# in step with python/CMakeLists.txt.
SOURCES = [
    "persist/_persist.cc",
    "contextvars_type.cc",
    "map_type.cc",
    "internal/deferred_decref.cc",
    "internal/greenlet_local.cc",
]

setup(
    name="persist",
    version="0.1.0",
    description="Persistent data structures and greenlet-local contextvars "
                "on the persist C++ library",
    packages=["persist"],
    ext_modules=[
        Extension(
            "persist._persist",
            sources=SOURCES,
            # "python/..." and "contextvars/..." resolve from the repository
            # root, like every include of the project.
            include_dirs=[SOURCE_DIR],
            language="c++",
            extra_compile_args=["-std=c++17", "-O2", "-DNDEBUG", "-Wall",
                                "-Wextra", "-fvisibility=hidden"],
            # hamt/map.h includes absl/hash/hash.h (absl::Hash is its
            # default hasher).
            libraries=["absl_hash", "absl_city", "absl_low_level_hash"],
        ),
    ],
    zip_safe=False,
)
