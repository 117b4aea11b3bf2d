#include "support/TestSupport.h"

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string_view>
#include <unistd.h>

namespace precis::test {

std::filesystem::path sharedDir() { return std::filesystem::path(PRECIS_SHARED_DIR); }

std::filesystem::path sharedData(const std::string& relative) {
    return sharedDir() / "data" / relative;
}

std::string runShell(const std::string& command, int* exitCode) {
    std::string out;
    std::FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) {
        if (exitCode) *exitCode = -1;
        return out;
    }
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    if (exitCode) *exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

bool inCi() {
    const char* ci = std::getenv("CI");
    return ci && (std::string_view(ci) == "true" || std::string_view(ci) == "1");
}

std::filesystem::path makeTempDir(const std::string& prefix) {
    static std::atomic<int> counter{0};
    auto dir = std::filesystem::temp_directory_path() /
               (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

std::filesystem::path outputDir(const std::string& name) {
    auto dir = std::filesystem::path(PRECIS_BINARY_DIR) / "test-output" / name;
    std::filesystem::create_directories(dir);
    return dir;
}

} // namespace precis::test
