"""Repository rules that bind the upstream labels to Debian's system libraries.

Offline Debian 12 machines have Abseil, GoogleTest, Google Benchmark,
rapidcheck and Boost.Context as -dev packages but no network to fetch them.
These rules write a tiny repository whose packages keep the upstream labels
(`@com_google_absl//absl/hash`, `@com_google_googletest//:gtest_main`, ...)
and link the system library; the headers come from /usr/include.
"""

def _system_cc_repository_impl(repository_ctx):
    repository_ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % repository_ctx.name)
    packages = {}
    for label, linkopts in repository_ctx.attr.targets.items():
        package, _, name = label.rpartition(":")
        packages.setdefault(package, []).append((name, linkopts))
    if "" not in packages:
        packages[""] = []
    for package, targets in packages.items():
        lines = ["package(default_visibility = [\"//visibility:public\"])", ""]
        for name, linkopts in targets:
            lines.append("cc_library(name = %r, linkopts = %r)" % (name, linkopts))
        path = package + "/BUILD.bazel" if package else "BUILD.bazel"
        repository_ctx.file(path, "\n".join(lines) + "\n")

system_cc_repository = repository_rule(
    implementation = _system_cc_repository_impl,
    attrs = {
        # "package:target" -> linker options of the system library.
        "targets": attr.string_list_dict(mandatory = True),
    },
    local = True,
)

# Every rule that @bazel_tools and user BUILD files load from @rules_cc//cc:defs.bzl.
_NATIVE_CC_RULES = [
    "cc_binary",
    "cc_import",
    "cc_library",
    "cc_proto_library",
    "cc_shared_library",
    "cc_test",
    "cc_toolchain",
    "cc_toolchain_suite",
    "fdo_prefetch_hints",
    "fdo_profile",
    "objc_import",
    "objc_library",
]

def _rules_cc_forwarder_impl(repository_ctx):
    repository_ctx.file("WORKSPACE", "workspace(name = \"rules_cc\")\n")
    repository_ctx.file("BUILD.bazel", "")
    repository_ctx.file("cc/BUILD.bazel", "")
    lines = ["\"\"\"Forwards rules_cc's macros to Bazel's native C++ rules.\"\"\""]
    for rule in _NATIVE_CC_RULES:
        lines += ["", "def %s(**kwargs):" % rule, "    native.%s(**kwargs)" % rule]
    repository_ctx.file("cc/defs.bzl", "\n".join(lines) + "\n")

rules_cc_forwarder = repository_rule(implementation = _rules_cc_forwarder_impl)

def _empty_coverage_tools_impl(repository_ctx):
    repository_ctx.file("WORKSPACE", "workspace(name = \"remote_coverage_tools\")\n")
    repository_ctx.file("BUILD.bazel", "\n".join([
        "package(default_visibility = [\"//visibility:public\"])",
        "filegroup(name = \"coverage_report_generator\")",
        "filegroup(name = \"lcov_merger\")",
        "",
    ]))

empty_coverage_tools = repository_rule(implementation = _empty_coverage_tools_impl)
