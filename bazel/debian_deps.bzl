"""WORKSPACE macro for offline Debian 12 machines: every dependency from apt.

Needs: apt-get install bazel-bootstrap bazel-rules-java libabsl-dev \
  libbenchmark-dev librapidcheck-dev googletest libboost-context-dev

    load("@persist//bazel:debian_deps.bzl", "persist_debian_deps")
    persist_debian_deps()
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load(
    "//bazel:system_repositories.bzl",
    "empty_coverage_tools",
    "rules_cc_forwarder",
    "system_cc_repository",
)

_ABSL_HASH = ["-labsl_hash", "-labsl_city", "-labsl_low_level_hash"]
_ABSL_RAW_HASH_SET = ["-labsl_raw_hash_set", "-labsl_hashtablez_sampler"] + _ABSL_HASH

def persist_debian_deps():
    """Declares every repository this project uses, bound to Debian packages."""
    maybe(
        native.local_repository,
        name = "rules_java",
        path = "/usr/share/bazel/rules/java",
    )
    maybe(rules_cc_forwarder, name = "rules_cc")
    maybe(empty_coverage_tools, name = "remote_coverage_tools")
    maybe(
        system_cc_repository,
        name = "com_google_absl",
        targets = {
            "absl/hash:hash": _ABSL_HASH,
            "absl/container:flat_hash_map": _ABSL_RAW_HASH_SET,
            "absl/container:flat_hash_set": _ABSL_RAW_HASH_SET,
            "absl/container:node_hash_map": _ABSL_RAW_HASH_SET,
        },
    )
    maybe(
        system_cc_repository,
        name = "com_google_googletest",
        targets = {
            ":gtest": ["-lgmock", "-lgtest", "-pthread"],
            ":gtest_main": ["-lgmock", "-lgtest_main", "-lgtest", "-pthread"],
        },
    )
    maybe(
        system_cc_repository,
        name = "com_github_google_benchmark",
        targets = {
            ":benchmark": ["-lbenchmark", "-pthread"],
            ":benchmark_main": ["-lbenchmark_main", "-lbenchmark", "-pthread"],
        },
    )
    maybe(
        system_cc_repository,
        name = "rapidcheck",
        targets = {":rapidcheck": ["-lrapidcheck"]},
    )
    maybe(
        system_cc_repository,
        name = "boost",
        targets = {":context": ["-lboost_context"]},
    )
