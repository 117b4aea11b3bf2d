#pragma once
// A private X server for a test process: `Xvfb -displayfd` picks a free display. The constructor
// points DISPLAY (and a private XDG_RUNTIME_DIR) at it; the destructor stops it.
#include <string>
#include <sys/types.h>

namespace precis::test {

class PrivateXvfb {
public:
    PrivateXvfb();
    ~PrivateXvfb();
    PrivateXvfb(const PrivateXvfb&) = delete;
    PrivateXvfb& operator=(const PrivateXvfb&) = delete;

    [[nodiscard]] bool ok() const { return !display_.empty(); }
    [[nodiscard]] const std::string& display() const { return display_; } // ":N"

private:
    pid_t pid_ = -1;
    std::string display_;
};

} // namespace precis::test

/// Skips (or, in CI, fails) the current test when Xvfb could not be started.
#define PRECIS_REQUIRE_XVFB(xvfb)                                                                  \
    if (!(xvfb).ok()) {                                                                            \
        if (::precis::test::inCi()) FAIL() << "Xvfb missing (scripts/setup.sh installs xvfb)";     \
        GTEST_SKIP() << "Xvfb not installed";                                                      \
    }
