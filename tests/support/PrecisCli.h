#pragma once
// Runs the `precis` executable as scripts use it: exit code, stdout and stderr. Test targets that
// include this define PRECIS_EXE (the built executable's path).
#include "core/AtomicFile.h"
#include "support/TestSupport.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#ifndef PRECIS_EXE
#error "PRECIS_EXE must name the precis executable (target_compile_definitions)"
#endif

namespace precis::test {

struct CliRun {
    int exitCode = -1;
    std::string out; // stdout
    std::string err; // stderr
};

/// `precis ARGS` through the shell (quote paths yourself); `env` is prefixed ("VAR=1").
inline CliRun runPrecis(const std::string& args, const std::string& env = "") {
    const auto dir = makeTempDir("cli-run");
    const std::string cmd = env + " '" PRECIS_EXE "' " + args + " >'" + (dir / "out").string() +
                            "' 2>'" + (dir / "err").string() + "'";
    const int status = std::system(cmd.c_str());
    CliRun r;
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = readFile(dir / "out").value_or("");
    r.err = readFile(dir / "err").value_or("");
    std::filesystem::remove_all(dir);
    return r;
}

} // namespace precis::test
