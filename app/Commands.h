#pragma once
// Subcommands implemented outside Cli.cpp; each returns the process exit code.
#include "CliSupport.h"

namespace precis::app {

} // namespace precis::app
