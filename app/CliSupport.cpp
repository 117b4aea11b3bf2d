#include "CliSupport.h"

#include "core/AtomicFile.h"
#include "export/PlanFile.h"

#include "core/Log.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace precis::app {
namespace {
/// Options that take a value; everything else starting with "--" is a flag.
bool takesValue(const std::string& name) {
    static const char* kValued[] = {"--out", "--seed", "--width", "--height", "--view",
                                    "--iso", "--screenshot", "--frames", "--runs", "--hu",
                                    "--threads", "--host", "--port", "--aet", "--our-aet",
                                    "--timeout", "--patient-id", "--patient-name", "--date",
                                    "--modality", "--level", "--study", "--series",
                                    "--store-port", "--smooth", "--decimate",
                                    "--max-error-mm", "--labels", "--catalog", "--target",
                                    "--device", "--region", "--top", "--risk-map",
                                    "--w-must-avoid", "--w-caution", "--w-length",
                                    "--candidates", "--side", "--cone", "--igtl",
                                    "--igtl-serve", "--frame", "--wait", "--peers", "--attempts",
                                    "--slicer", "--dicom", "--report", "--script"};
    return std::any_of(std::begin(kValued), std::end(kValued),
                       [&](const char* v) { return name == v; });
}

} // namespace

Result<Args> parseArgs(int argc, char** argv, int from) {
    Args args;
    for (int i = from; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) == 0 && a.size() > 2) {
            auto eq = a.find('=');
            if (eq != std::string::npos) {
                args.options[a.substr(0, eq)] = a.substr(eq + 1);
            } else if (takesValue(a)) {
                if (i + 1 >= argc) return fail(ErrorCode::InvalidArgument, a + " needs a value");
                args.options[a] = argv[++i];
            } else {
                args.flags.push_back(a);
            }
        } else if (a == "-v" || a == "-h") {
            args.flags.push_back(a == "-v" ? "--verbose" : "--help");
        } else {
            args.positional.push_back(a);
        }
    }
    return args;
}

bool hasFlag(const Args& a, const std::string& f) {
    return std::find(a.flags.begin(), a.flags.end(), f) != a.flags.end();
}

Result<long> intOption(const Args& a, const std::string& name, long fallback, long lo, long hi) {
    auto it = a.options.find(name);
    if (it == a.options.end()) return fallback;
    char* end = nullptr;
    long v = std::strtol(it->second.c_str(), &end, 10);
    if (!end || *end != '\0' || it->second.empty() || v < lo || v > hi)
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("{} must be an integer from {} to {} (got '{}')", name, lo, hi,
                                it->second));
    return v;
}

Result<double> doubleOption(const Args& a, const std::string& name, double fallback) {
    auto it = a.options.find(name);
    if (it == a.options.end()) return fallback;
    char* end = nullptr;
    double v = std::strtod(it->second.c_str(), &end);
    if (!end || *end != '\0' || it->second.empty())
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("{} must be a number (got '{}')", name, it->second));
    return v;
}

/// Rejects options a command does not know, so typos never pass silently.
Result<void> allowOnly(const Args& a, std::initializer_list<const char*> allowed) {
    auto ok = [&](const std::string& n) {
        if (n == "--verbose" || n == "--help") return true;
        return std::any_of(allowed.begin(), allowed.end(), [&](const char* x) { return n == x; });
    };
    for (auto& [n, v] : a.options)
        if (!ok(n)) return fail(ErrorCode::InvalidArgument, "unknown option " + n);
    for (auto& n : a.flags)
        if (!ok(n)) return fail(ErrorCode::InvalidArgument, "unknown option " + n);
    return {};
}

/// Progress on stderr only when a person is watching (DESIGN.md "Long work").
Progress terminalProgress() {
    if (!::isatty(STDERR_FILENO)) return {};
    return Progress([last = -1](double f, std::string_view stage) mutable {
        int pct = static_cast<int>(f * 100);
        if (pct == last) return;
        last = pct;
        std::fprintf(stderr, "\r%.*s %3d%%%s", int(stage.size()), stage.data(), pct,
                     pct >= 100 ? "\n" : "");
        std::fflush(stderr);
    });
}

std::string optionValue(const Args& a, const std::string& name, const std::string& fallback) {
    const auto it = a.options.find(name);
    return it == a.options.end() ? fallback : it->second;
}

Result<model::DeviceCatalog> deviceCatalog(const Args& a) {
    const std::string file = optionValue(a, "--catalog");
    if (file.empty()) return exporting::builtinDeviceCatalog();
    auto text = readFile(file);
    if (!text) return std::unexpected(text.error());
    return exporting::deviceCatalogFromJson(*text, file);
}

int reportError(const Error& e) {
    std::fprintf(stderr, "precis: error: %s\n", e.message.c_str());
    if (!e.detail.empty()) log::debug("detail: {}", e.detail);
    return e.code == ErrorCode::InvalidArgument ? 2 : 1;
}

bool validationRequested() {
    const char* v = std::getenv("PRECIS_VK_VALIDATION");
    return v && std::string(v) == "1";
}

} // namespace precis::app
