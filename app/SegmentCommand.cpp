// `precis segment DIR --out OUTDIR`: automatic CT segmentation to files other tools open — the
// label volume (NRRD, LPS), one watertight mesh per structure (STL and glTF, LPS mm) and a JSON
// summary with what was found, how sure it is and how long each step took.
#include "Commands.h"

#include "anatomy/IsoSurface.h"
#include "anatomy/LabelMapFile.h"
#include "anatomy/MeshDecimation.h"
#include "anatomy/MeshIo.h"
#include "anatomy/MeshSmoothing.h"
#include "anatomy/Segmentation.h"
#include "core/AtomicFile.h"
#include "dicom/SeriesReader.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

namespace precis::app {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct MeshSettings {
    int smoothPasses = 20;      // 0: no smoothing
    double decimateRatio = 1.0; // 1: no decimation
    double maxErrorMm = 0.5;
};

/// The structure's kind in file spelling; "body" (soft tissue not otherwise labelled) has none.
std::string kindOf(const anatomy::SegmentationResult& seg, const anatomy::StructureReport& r) {
    for (const auto& s : seg.structures)
        if (s.label == r.label) return std::string(model::toString(s.kind));
    return std::string(model::toString(model::StructureKind::Custom));
}

/// Meshes one label: closed label surface → windowed-sinc smoothing → optional decimation.
/// Notes for the user go into `notes`.
Result<model::Mesh> meshLabel(const model::LabelMap& labels, std::uint8_t label,
                              const MeshSettings& s, json& notes, json& entry) {
    model::Mesh mesh = anatomy::extractLabelSurface(labels, label, {.computeNormals = true});
    entry["trianglesExtracted"] = mesh.triangleCount();
    if (mesh.empty()) return mesh;
    if (s.smoothPasses > 0) {
        anatomy::SmoothingOptions so;
        so.iterations = s.smoothPasses;
        if (auto r = anatomy::smoothWindowedSinc(mesh, so); !r) return std::unexpected(r.error());
    }
    if (s.decimateRatio < 1.0) {
        anatomy::DecimationOptions d;
        d.targetRatio = s.decimateRatio;
        d.maxErrorMm = s.maxErrorMm;
        auto dec = anatomy::decimateMesh(mesh, d);
        if (!dec) return std::unexpected(dec.error());
        if (dec->report.trianglesAfter >= dec->report.trianglesBefore) {
            // No simplification stayed within the bound: keep the smoothed mesh as it is (the
            // decimator would hand back a welded copy, which can pinch where smoothing made
            // vertices coincide at the scan border).
            notes.push_back(fmt::format("not decimated: no simplification to {} triangles stayed "
                                        "within {} mm",
                                        dec->report.targetTriangles, s.maxErrorMm));
            return mesh;
        }
        entry["decimationErrorMm"] = dec->report.measuredErrorMm;
        if (!dec->report.reachedTarget)
            notes.push_back(fmt::format("decimation stopped at {} of {} triangles to stay within "
                                        "{} mm",
                                        dec->report.trianglesAfter, dec->report.targetTriangles,
                                        s.maxErrorMm));
        mesh = std::move(dec->mesh);
    }
    return mesh;
}

Result<MeshSettings> meshSettingsFrom(const Args& a) {
    MeshSettings s;
    auto smooth = intOption(a, "--smooth", 20, 0, 1000);
    if (!smooth) return std::unexpected(smooth.error());
    s.smoothPasses = static_cast<int>(*smooth);
    auto ratio = doubleOption(a, "--decimate", 1.0);
    if (!ratio) return std::unexpected(ratio.error());
    if (!(*ratio > 0.0 && *ratio <= 1.0))
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("--decimate must be a fraction in (0, 1] (got {})", *ratio));
    s.decimateRatio = *ratio;
    auto err = doubleOption(a, "--max-error-mm", 0.5);
    if (!err) return std::unexpected(err.error());
    if (!(*err > 0.0))
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("--max-error-mm must be more than 0 (got {})", *err));
    if (a.options.contains("--max-error-mm") && !a.options.contains("--decimate"))
        return fail(ErrorCode::InvalidArgument, "--max-error-mm only applies with --decimate");
    s.maxErrorMm = *err;
    return s;
}

} // namespace

int cmdSegment(const Args& a) {
    if (auto ok = allowOnly(a, {"--out", "--smooth", "--decimate", "--max-error-mm"}); !ok)
        return reportError(ok.error());
    auto out = a.options.find("--out");
    if (a.positional.size() != 1 || out == a.options.end())
        return reportError({ErrorCode::InvalidArgument,
                            "usage: precis segment DIR --out OUTDIR [--smooth N] "
                            "[--decimate RATIO] [--max-error-mm E]",
                            {}});
    auto settings = meshSettingsFrom(a);
    if (!settings) return reportError(settings.error());
    const fs::path inDir = a.positional[0];
    const fs::path outDir = out->second;
    if (!fs::exists(inDir))
        return reportError({ErrorCode::NotFound, inDir.string() + ": no such file or folder", {}});

    const auto t0 = Clock::now();
    auto loaded = dicom::loadLargestSeries(inDir, terminalProgress());
    if (!loaded) return reportError(loaded.error());
    const double loadS = secondsSince(t0);

    auto t1 = Clock::now();
    auto seg = anatomy::segmentCt(loaded->volume, {}, terminalProgress());
    if (!seg) return reportError(seg.error());
    const double segmentS = secondsSince(t1);

    std::error_code ec;
    fs::create_directories(outDir, ec);
    if (ec || !fs::is_directory(outDir))
        return reportError({ErrorCode::IoError,
                            fmt::format("cannot create the output folder {}: {}", outDir.string(),
                                        ec ? ec.message() : "not a folder"),
                            {}});

    double writeS = 0.0, meshS = 0.0;
    auto tw = Clock::now();
    if (auto r = anatomy::writeLabelMap(seg->labels, outDir / "labels.nrrd"); !r)
        return reportError(r.error());
    writeS += secondsSince(tw);

    json structures = json::array();
    for (const anatomy::StructureReport& r : seg->report.structures) {
        json e;
        e["name"] = r.name;
        e["kind"] = kindOf(*seg, r);
        e["label"] = r.label;
        e["voxels"] = r.voxels;
        e["volumeMl"] = r.volumeMl;
        json notes = json::array();
        for (const auto& n : r.notes) notes.push_back(n);
        json extra = json::object();
        std::size_t triangles = 0;
        bool watertight = false;
        double seconds = 0.0;
        if (r.voxels > 0) {
            auto tm = Clock::now();
            auto mesh = meshLabel(seg->labels, r.label, *settings, notes, extra);
            if (!mesh) return reportError(mesh.error());
            triangles = mesh->triangleCount();
            watertight = !mesh->empty() && mesh->isClosedManifold();
            const double ms = secondsSince(tm); // the watertightness check included
            meshS += ms;
            if (!mesh->empty()) {
                auto tx = Clock::now();
                for (const char* ext : {".stl", ".gltf"}) {
                    const fs::path file = outDir / (r.name + ext);
                    if (auto w = anatomy::exportMesh(*mesh, file); !w) return reportError(w.error());
                    extra[ext + 1] = file.filename().string();
                }
                const double xs = secondsSince(tx);
                writeS += xs;
                seconds = ms + xs;
            } else {
                seconds = ms;
            }
            if (!watertight && !mesh->empty())
                notes.push_back("the mesh is not a closed 2-manifold");
        } else {
            notes.push_back("not found: no mesh written");
        }
        e["triangles"] = triangles;
        e["watertight"] = watertight;
        e["seconds"] = seconds;
        e["confidence"] = r.confidence;
        e["notes"] = notes;
        e["step"] = r.step;
        for (auto& [k, v] : extra.items()) e[k] = v;
        structures.push_back(std::move(e));
        std::fprintf(stderr, "precis: %-8s %9zu voxels %9zu triangles %6.2f s\n", r.name.c_str(),
                     r.voxels, triangles, seconds);
    }

    const auto& v = loaded->volume;
    const auto& g = v.geometry;
    json doc;
    json series;
    series["seriesInstanceUid"] = v.identity.seriesInstanceUid;
    series["modality"] = v.identity.modality;
    series["description"] = v.identity.seriesDescription;
    series["source"] = fs::absolute(inDir).string();
    series["dims"] = {g.dims[0], g.dims[1], g.dims[2]};
    series["spacingMm"] = vec3(g.spacingMm);
    series["originMm"] = vec3(g.originMm);
    json dir = json::array();
    for (int c = 0; c < 3; ++c)
        for (int r = 0; r < 3; ++r) dir.push_back(g.direction[c][r]);
    series["direction"] = dir;
    json warnings = json::array();
    for (const auto& w : loaded->report.warnings)
        warnings.push_back({{"code", w.code}, {"message", w.message}});
    series["warnings"] = warnings;
    doc["series"] = series;
    doc["frame"] = "LPS";
    doc["units"] = "mm";
    doc["mesh"] = {{"smoothPasses", settings->smoothPasses},
                   {"decimateRatio", settings->decimateRatio},
                   {"maxErrorMm", settings->maxErrorMm}};
    doc["structures"] = structures;
    json notes = json::array();
    for (const auto& n : seg->report.notes) notes.push_back(n);
    doc["notes"] = notes;

    tw = Clock::now();
    // The timing of writing structures.json itself is not in the file; it is milliseconds.
    doc["timings"] = {{"load", loadS},
                      {"segment", segmentS},
                      {"mesh", meshS},
                      {"write", writeS + secondsSince(tw)},
                      {"total", secondsSince(t0)}};
    const fs::path jsonFile = outDir / "structures.json";
    if (auto r = writeFileAtomically(
            jsonFile, doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n"); !r)
        return reportError(r.error());
    std::printf("wrote %s: labels.nrrd, %zu structures (STL + glTF), structures.json in %.1f s\n",
                outDir.c_str(), seg->report.structures.size(), secondsSince(t0));
    return 0;
}

} // namespace precis::app
