"""Builds the `persist` package: persist._persist, a C++ extension on the
persist C++ library (hamt/, contextvars/), and its Python modules.

    /usr/bin/python3 -m venv --system-site-packages build-venv
    build-venv/bin/pip install --no-build-isolation ./python

The C++ headers are taken from the repository this directory is in (pip 23
builds a local directory in place); PERSIST_SOURCE_DIR overrides that.
"""

import glob
import os
import platform
import shlex
import subprocess
import sysconfig
import tempfile

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
    "internal/thread_setup.cc",
]

# Rebuild when any C++ header of the library or the module changes.
DEPENDS = sorted(
    path for directory in ("base", "hamt", "contextvars", "python")
    for path in glob.glob(os.path.join(
        HERE if directory == "python" else os.path.join(SOURCE_DIR, directory),
        "**", "*.h"), recursive=True))

# TLS descriptors: the C++ layer's per-thread current context and get()
# cache are thread_locals of a dlopen()ed module, and a descriptor call costs
# ContextVar.get() less than __tls_get_addr (AArch64 uses them by default).
def compiler_accepts(flag):
    compiler = shlex.split(os.environ.get("CXX") or os.environ.get("CC") or
                           sysconfig.get_config_var("CC") or "cc")
    with tempfile.TemporaryDirectory() as directory:
        source = os.path.join(directory, "probe.cc")
        with open(source, "w") as f:
            f.write("thread_local int probe; int get() { return probe; }\n")
        return subprocess.call(
            compiler + ["-x", "c++", "-fPIC", flag, "-c", source, "-o",
                        os.path.join(directory, "probe.o")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


TLS_FLAGS = ["-mtls-dialect=gnu2"] if (
    platform.machine() == "x86_64" and
    compiler_accepts("-mtls-dialect=gnu2")) else []

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
            # "contextvars/..." resolves from the library's root, "python/..."
            # from this directory's parent, like every include of the project.
            include_dirs=[SOURCE_DIR, os.path.dirname(HERE)],
            depends=DEPENDS,
            language="c++",
            extra_compile_args=["-std=c++17", "-O2", "-DNDEBUG", "-Wall",
                                "-Wextra", "-fvisibility=hidden"] + TLS_FLAGS,
            # hamt/map.h includes absl/hash/hash.h (absl::Hash is its
            # default hasher).
            libraries=["absl_hash", "absl_city", "absl_low_level_hash"],
        ),
    ],
    zip_safe=False,
)
