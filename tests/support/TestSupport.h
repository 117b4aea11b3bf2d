#pragma once
// Helpers shared by every test executable.
#include <filesystem>
#include <string>

namespace precis::test {

/// ../shared (data, peers) as configured at build time.
std::filesystem::path sharedDir();
/// ../shared/data/<relative>. When it is missing: in CI (CI=true) the calling test FAILS; elsewhere
/// it is skipped with a clear message. Use with PRECIS_REQUIRE_SHARED.
std::filesystem::path sharedData(const std::string& relative);
bool inCi();
/// A fresh empty temporary directory, removed by the caller or left for inspection on failure.
std::filesystem::path makeTempDir(const std::string& prefix);
/// Runs `command` through /bin/sh and returns what it wrote on stdout (redirect stderr in the
/// command to see it); `exitCode` gets its exit status (-1 when it did not exit normally).
std::string runShell(const std::string& command, int* exitCode = nullptr);
/// Where tests write artefacts worth looking at (build/test-output/<name>).
std::filesystem::path outputDir(const std::string& name);

} // namespace precis::test

/// Resolves shared data or skips/fails the current test (see sharedData()).
#define PRECIS_REQUIRE_SHARED(var, relative)                                                       \
    const std::filesystem::path var = ::precis::test::sharedData(relative);                        \
    if (!std::filesystem::exists(var)) {                                                           \
        if (::precis::test::inCi()) {                                                              \
            FAIL() << "shared data missing in CI: " << var;                                        \
        } else {                                                                                   \
            GTEST_SKIP() << "shared data not found at " << var                                     \
                         << " (tests using ../shared/data run in CI; clone beside shared/)";       \
        }                                                                                          \
    }
