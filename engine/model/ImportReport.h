#pragma once
// Warnings that did not stop an import, with the files concerned and what was assumed
// (DESIGN.md "Errors" 3). Travels with every loaded volume and is shown to the user.
#include <string>
#include <vector>

namespace precis::model {

struct ImportWarning {
    std::string code;    // stable id: "missing-slice", "gantry-tilt", "empty-series-uid", ...
    std::string message; // for the user: what was found and what was assumed
    std::vector<std::string> files; // the files concerned (may be empty)
};

struct ImportReport {
    std::vector<ImportWarning> warnings;
    void add(std::string code, std::string message, std::vector<std::string> files = {}) {
        warnings.push_back({std::move(code), std::move(message), std::move(files)});
    }
};

} // namespace precis::model
