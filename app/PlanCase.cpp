#include "PlanCase.h"

#include "anatomy/LabelMapFile.h"
#include "anatomy/Segmentation.h"
#include "core/AtomicFile.h"
#include "dicom/SeriesReader.h"
#include "phantom/LumbarPhantom.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace precis::app {
namespace fs = std::filesystem;

namespace {

Result<std::vector<model::Structure>> readStructuresJson(const fs::path& file) {
    auto text = readFile(file);
    if (!text) return std::unexpected(text.error());
    const auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (doc.is_discarded() || !doc.contains("structures") || !doc["structures"].is_array()) {
        return fail(ErrorCode::ParseError,
                    fmt::format("{}: not a `precis segment` structures.json (no \"structures\" "
                                "array)",
                                file.string()));
    }
    std::vector<model::Structure> out;
    for (const auto& e : doc["structures"]) {
        if (!e.is_object() || !e.contains("name") || !e.contains("label") ||
            !e["name"].is_string() || !e["label"].is_number_integer()) {
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: a structure lacks \"name\" or \"label\"", file.string()));
        }
        model::Structure s;
        s.name = e["name"].get<std::string>();
        s.label = static_cast<std::uint8_t>(e["label"].get<int>());
        const auto kind = e.contains("kind") && e["kind"].is_string()
                              ? model::structureKindFromString(e["kind"].get<std::string>())
                              : std::nullopt;
        s.kind = kind.value_or(model::StructureKind::Custom);
        const auto role = e.contains("role") && e["role"].is_string()
                              ? model::structureRoleFromString(e["role"].get<std::string>())
                              : std::nullopt;
        s.role = role.value_or(model::defaultRole(s.kind));
        s.defaultColor = model::defaultColor(s.kind);
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace

Result<PlanCase> loadPlanCase(const fs::path& seriesDir, const fs::path& labelsDir,
                              const Progress& progress) {
    std::error_code ec;
    if (!fs::is_directory(seriesDir, ec)) {
        return fail(ErrorCode::NotFound,
                    fmt::format("series folder {} does not exist", seriesDir.string()));
    }
    auto loaded = dicom::loadLargestSeries(seriesDir, progress);
    if (!loaded) return std::unexpected(loaded.error());
    PlanCase c;
    c.identity = loaded->volume.identity;
    c.geometry = loaded->volume.geometry;
    c.seriesDir = seriesDir;

    const fs::path truthFile = seriesDir / "truth.json";
    const fs::path phantomLabels = seriesDir / "labels.nrrd";
    if (labelsDir.empty() && fs::exists(truthFile, ec) && fs::exists(phantomLabels, ec)) {
        auto text = readFile(truthFile);
        if (!text) return std::unexpected(text.error());
        auto truth = phantom::truthFromJson(*text);
        if (!truth) return std::unexpected(truth.error());
        auto labels = anatomy::readLabelMap(phantomLabels);
        if (!labels) return std::unexpected(labels.error());
        c.labels = std::move(*labels);
        c.structures = truth->structures;
        c.landmarks = phantom::planLandmarks(*truth);
        c.source = "phantom truth (labels.nrrd + truth.json)";
    } else if (!labelsDir.empty()) {
        auto labels = anatomy::readLabelMap(labelsDir / "labels.nrrd");
        if (!labels) return std::unexpected(labels.error());
        auto structures = readStructuresJson(labelsDir / "structures.json");
        if (!structures) return std::unexpected(structures.error());
        c.labels = std::move(*labels);
        c.structures = std::move(*structures);
        c.source = fmt::format("labels from {}", labelsDir.string());
    } else {
        auto seg = anatomy::segmentCt(loaded->volume, {}, progress);
        if (!seg) return std::unexpected(seg.error());
        c.labels = std::move(seg->labels);
        c.structures = std::move(seg->structures);
        c.source = "automatic segmentation";
        c.notes.push_back("structures come from automatic segmentation: check them before "
                          "trusting clearances; no landmarks, so templates are unavailable");
    }
    if (!c.labels.geometry.sameGridAs(c.geometry, 1e-3)) {
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("the labels do not lie on the grid of the series in {}",
                                seriesDir.string()));
    }
    return c;
}

PlanCase planCaseFromPhantom(const phantom::Phantom& p) {
    PlanCase c;
    c.identity = p.ct.identity;
    c.geometry = p.ct.geometry;
    c.labels = p.labels;
    c.structures = p.truth.structures;
    c.landmarks = phantom::planLandmarks(p.truth);
    c.source = "phantom truth (in memory)";
    return c;
}

std::vector<std::string> applyPlanRoles(PlanCase& c, const model::Plan& plan) {
    std::vector<std::string> warnings;
    for (const std::string& name : model::applyStructureRoles(plan.structureRoles, c.structures))
        warnings.push_back(fmt::format("the plan gives structure \"{}\" a role, but the case ({}) "
                                       "has no structure of that name",
                                       name, c.source));
    return warnings;
}

Result<planning::SafetyScene> buildScene(const PlanCase& c, const Progress& progress) {
    return planning::SafetyScene::build(c.labels, c.structures, {}, progress);
}

model::SeriesReference seriesReference(const PlanCase& c) {
    return {c.identity.seriesInstanceUid, c.identity.studyInstanceUid,
            c.identity.frameOfReferenceUid, c.seriesDir.string(), c.identity.patientName,
            c.identity.patientId};
}

} // namespace precis::app
