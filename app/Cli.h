#pragma once
// The `precis` command line: headless subcommands, and the GUI when run without one.
namespace precis::app {

/// Runs the command line; returns the process exit code (0 ok, 1 failure, 2 usage error).
int runCli(int argc, char** argv);

} // namespace precis::app
