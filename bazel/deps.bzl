"""WORKSPACE macros for online users: fetch persist's dependencies.

    load("@persist//bazel:deps.bzl", "persist_deps")
    persist_deps()

Every repository is wrapped in `maybe`, so a workspace that already declares
one (say a newer Abseil) keeps its own. Offline Debian machines use
`persist_debian_deps()` from debian_deps.bzl instead; that is the path CI
tests. These archives are fetched by tag: pin `sha256` (Bazel prints it on the
first fetch) for reproducible builds.
"""

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")
load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")

def persist_deps():
    """What the libraries //hamt, //contextvars and //fibers need: Abseil."""
    maybe(
        http_archive,
        name = "com_google_absl",
        strip_prefix = "abseil-cpp-20230802.1",
        urls = ["https://github.com/abseil/abseil-cpp/archive/refs/tags/20230802.1.tar.gz"],
    )

def persist_test_deps():
    """What persist's own tests and benchmarks need, besides Boost.Context.

    The fiber benchmark's @boost//:context comes from rules_boost or from
    persist_debian_deps().
    """
    maybe(
        http_archive,
        name = "com_google_googletest",
        strip_prefix = "googletest-1.14.0",
        urls = ["https://github.com/google/googletest/archive/refs/tags/v1.14.0.tar.gz"],
    )
    maybe(
        http_archive,
        name = "com_github_google_benchmark",
        strip_prefix = "benchmark-1.8.3",
        urls = ["https://github.com/google/benchmark/archive/refs/tags/v1.8.3.tar.gz"],
    )
    maybe(
        http_archive,
        name = "rapidcheck",
        build_file = Label("//bazel:rapidcheck.BUILD"),
        strip_prefix = "rapidcheck-ff6af6fc683159deb51c543b065eba14dfcf329b",
        urls = ["https://github.com/emil-e/rapidcheck/archive/ff6af6fc683159deb51c543b065eba14dfcf329b.tar.gz"],
    )
