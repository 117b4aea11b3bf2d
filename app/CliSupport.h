#pragma once
// Shared by the `precis` subcommands: argument parsing, option checks, progress and errors.
#include "core/Error.h"
#include "core/Progress.h"
#include "model/Device.h"

#include <glm/glm.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace precis::app {

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options; // --name value (or --name=value)
    std::vector<std::string> flags;             // --name
};

/// Parses argv[from..]. Options listed in kValuedOptions (CliSupport.cpp) take the next argument.
Result<Args> parseArgs(int argc, char** argv, int from);
bool hasFlag(const Args& a, const std::string& flag);
/// Integer option in [lo, hi]; `fallback` when absent; InvalidArgument naming the option.
Result<long> intOption(const Args& a, const std::string& name, long fallback, long lo, long hi);
Result<double> doubleOption(const Args& a, const std::string& name, double fallback);
using Clock = std::chrono::steady_clock;
inline double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}
/// An LPS point as the JSON array [x, y, z] every command prints.
inline nlohmann::ordered_json vec3(const glm::dvec3& v) {
    return nlohmann::ordered_json::array({v.x, v.y, v.z});
}

/// The value of --name, or `fallback` when absent.
std::string optionValue(const Args& a, const std::string& name, const std::string& fallback = {});
/// The device catalogue commands refer to: --catalog FILE, else the built-in assets/devices.json.
Result<model::DeviceCatalog> deviceCatalog(const Args& a);
/// Rejects options a command does not know, so typos never pass silently.
Result<void> allowOnly(const Args& a, std::initializer_list<const char*> allowed);
/// Progress on stderr only when a person is watching (DESIGN.md "Long work").
Progress terminalProgress();
/// Prints "precis: error: ..." and returns the exit code (2 usage, 1 failure).
int reportError(const Error& e);
/// PRECIS_VK_VALIDATION=1 in the environment.
bool validationRequested();

} // namespace precis::app
