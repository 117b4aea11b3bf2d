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

/// precis plan evaluate|suggest|template ... (PlanCommand.cpp)
int cmdPlan(const Args& a);
/// precis bench plan [--series DIR] (PlanCommand.cpp)
int cmdBenchPlan(const Args& a);
/// precis devices [--catalog FILE]
int cmdDevices(const Args& a);

/// precis export PLAN.json --igtl HOST:PORT | --igtl-serve PORT | --slicer F | --dicom D |
/// --report F.pdf ... (ExportCommand.cpp)
int cmdExport(const Args& a);

} // namespace precis::app
