#pragma once
// Subcommands implemented outside Cli.cpp; each returns the process exit code.
#include "CliSupport.h"

namespace precis::app {

/// precis bench load DIR [--runs N] [--threads N]
int cmdBench(const Args& a);

/// precis segment DIR --out OUTDIR [--smooth N] [--decimate RATIO] [--max-error-mm E]
int cmdSegment(const Args& a);

/// precis pacs echo|find|get ... (DICOM query/retrieve; see the usage text)
int cmdPacs(const Args& a);

} // namespace precis::app
