#include "gui/StructureImport.h"

#include "anatomy/ContourRasterizer.h"
#include "anatomy/MeshIo.h"
#include "dicom/RtStructReader.h"
#include "dicom/SegReader.h"
#include "dicom/SeriesReader.h"
#include "gui/CaseLoader.h"

#include <fmt/core.h>

#include <algorithm>
#include <functional>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <span>

namespace precis::gui {

namespace fs = std::filesystem;

namespace {

/// A segment or ROI read from the file, its mask on the case's grid.
struct Candidate {
    std::string name;
    model::StructureKind kind = model::StructureKind::Custom;
    std::optional<glm::vec3> srgb; // the file's display colour
    model::LabelMap mask;          // 1 inside
    std::size_t voxels = 0;
};

/// DICOM display colours are sRGB; the renderer takes linear colours (its shaders encode).
glm::vec3 linearFromSrgb(glm::vec3 c) {
    for (int i = 0; i < 3; ++i) {
        const float v = std::clamp(c[i], 0.0f, 1.0f);
        c[i] = v <= 0.04045f ? v / 12.92f : std::pow((v + 0.055f) / 1.055f, 2.4f);
    }
    return c;
}

/// Colours for imported structures the file gives none to and whose kind has no telling colour:
/// saturated, unlike any kind's default.
glm::vec3 fallbackColor(std::size_t i) {
    static constexpr std::array<glm::vec3, 4> kColors{
        glm::vec3(0.90f, 0.10f, 0.85f), glm::vec3(0.05f, 0.85f, 0.90f),
        glm::vec3(0.95f, 0.50f, 0.05f), glm::vec3(0.45f, 0.25f, 0.95f)};
    return kColors[i % kColors.size()];
}

/// Why the file's references do not fit the loaded series; nullopt when they do.
std::optional<std::string> referenceMismatch(const std::string& refSeries, const std::string& refFrame,
                                             const StructureImportRequest& rq) {
    if (!refSeries.empty() && refSeries != rq.seriesInstanceUid)
        return fmt::format("it was drawn on series {}, not on the loaded series {}", refSeries,
                           rq.seriesInstanceUid.empty() ? "(no UID)" : rq.seriesInstanceUid);
    if (!refFrame.empty() && !rq.frameOfReferenceUid.empty() && refFrame != rq.frameOfReferenceUid)
        return fmt::format("its frame of reference {} is not the loaded series' {}", refFrame,
                           rq.frameOfReferenceUid);
    if (refSeries.empty() && refFrame.empty())
        return std::string("it names neither the series it was drawn on nor a frame of reference");
    return std::nullopt;
}

Result<std::vector<Candidate>> readSeg(const StructureImportRequest& rq, std::string& format,
                                       model::ImportReport& report) {
    auto seg = dicom::readSegmentation(rq.file, &rq.geometry);
    if (!seg) return std::unexpected(seg.error());
    if (auto why = referenceMismatch(seg->referencedSeriesUid, seg->frameOfReferenceUid, rq))
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("{}: not imported: {}", rq.file.string(), *why));
    format = fmt::format("DICOM SEG ({})", seg->segmentationType);
    for (auto& w : seg->report.warnings) report.warnings.push_back(std::move(w));
    std::vector<Candidate> out;
    for (auto& s : seg->segments) {
        out.push_back({!s.label.empty() ? s.label : fmt::format("Segment {}", s.number),
                       dicom::guessSegmentKind(s), s.displayColorSrgb, std::move(s.mask), s.voxelCount});
    }
    return out;
}

Result<std::vector<Candidate>> readRtStructRois(const StructureImportRequest& rq, const Progress& progress,
                                                model::ImportReport& report) {
    auto set = dicom::readRtStruct(rq.file);
    if (!set) return std::unexpected(set.error());
    if (auto why = referenceMismatch(set->referencedSeriesUid, set->frameOfReferenceUid, rq))
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("{}: not imported: {}", rq.file.string(), *why));
    std::vector<Candidate> out;
    for (std::size_t i = 0; i < set->rois.size(); ++i) {
        if (progress.cancelled()) return fail(ErrorCode::Cancelled, "import cancelled");
        const auto& roi = set->rois[i];
        progress.report(0.1 + 0.4 * double(i) / double(set->rois.size()), "Filling contours of " + roi.name);
        auto r = anatomy::rasterizeRoi(roi, rq.geometry);
        if (!r.offGrid.empty()) {
            std::vector<std::string> where;
            for (const auto& o : r.offGrid)
                where.push_back(fmt::format("{:.1f} mm{}", o.normalPositionMm,
                                            o.referencedSopInstanceUids.empty()
                                                ? std::string()
                                                : " (image " + o.referencedSopInstanceUids.front() + ")"));
            report.add("contours-off-grid",
                       fmt::format("{}: {} contour{} of {} lie on no slice of the loaded series (images "
                                   "missing?) and were not filled",
                                   rq.file.filename().string(), r.offGrid.size(),
                                   r.offGrid.size() == 1 ? "" : "s", roi.name),
                       std::move(where));
        }
        if (r.nonPlanarSkipped > 0)
            report.add("contours-not-closed",
                       fmt::format("{}: {} point or open contour{} of {} enclose nothing and were skipped",
                                   rq.file.filename().string(), r.nonPlanarSkipped,
                                   r.nonPlanarSkipped == 1 ? "" : "s", roi.name));
        out.push_back({roi.name.empty() ? fmt::format("ROI {}", roi.number) : roi.name,
                       anatomy::guessStructureKind(roi), roi.color, std::move(r.mask), r.voxels});
    }
    return out;
}

/// A name not yet taken: `name`, else "name (2)", "name (3)" ...
std::string uniqueName(const std::string& name, const std::set<std::string>& taken) {
    if (!taken.contains(name)) return name;
    for (int n = 2;; ++n)
        if (auto c = fmt::format("{} ({})", name, n); !taken.contains(c)) return c;
}

bool isMeshFile(const fs::path& file) {
    std::string ext = file.extension().string();
    std::ranges::transform(ext, ext.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
    return ext == ".stl" || ext == ".obj" || ext == ".ply" || ext == ".gltf" || ext == ".glb" ||
           ext == ".off" || ext == ".fbx" || ext == ".dae" || ext == ".3mf";
}

Result<ImportedStructures> importMeshFile(const StructureImportRequest& rq, const Progress& progress,
                                          const std::set<std::string>& taken) {
    progress.report(0.1, "Reading mesh");
    auto mesh = anatomy::importMesh(rq.file);
    if (!mesh) return std::unexpected(mesh.error());
    ImportedStructures out;
    out.file = rq.file;
    out.format = fmt::format("mesh ({}, {})", mesh->format, anatomy::toString(mesh->unit));
    out.report = std::move(mesh->report);
    StructureMesh m;
    model::ContourRoi named; // the kind guessed from the file's name, as for an RTSTRUCT ROI
    named.name = rq.file.stem().string();
    m.info.name = uniqueName(named.name, taken);
    m.info.kind = anatomy::guessStructureKind(named);
    m.info.role = model::defaultRole(m.info.kind);
    m.info.defaultColor =
        m.info.kind == model::StructureKind::Custom ? fallbackColor(0) : model::defaultColor(m.info.kind);
    m.info.label = 0;
    m.full = std::move(mesh->mesh);
    out.report.add("surface-only",
                   fmt::format("{}: a surface without label voxels: the 3D view shows it, the slices "
                               "and safety checks do not",
                               rq.file.filename().string()));
    out.structures.push_back(std::move(m));
    return out;
}

} // namespace

Result<ImportedStructures> importStructures(const StructureImportRequest& rq, const Progress& progress) {
    const auto t0 = std::chrono::steady_clock::now();
    std::error_code ec;
    if (!fs::is_regular_file(rq.file, ec))
        return fail(ErrorCode::NotFound, fmt::format("{}: no such file", rq.file.string()));
    std::set<std::string> taken;
    for (const auto& s : rq.existing) taken.insert(s.name);
    auto finish = [&](ImportedStructures out) -> Result<ImportedStructures> {
        progress.report(0.9, "Level of detail");
        buildLevelOfDetail(out.structures, kInteractiveTriangleBudget / 4);
        out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return out;
    };
    if (isMeshFile(rq.file)) {
        auto out = importMeshFile(rq, progress, taken);
        if (!out) return out;
        return finish(std::move(*out));
    }

    // DICOM: what the file is, from its header.
    progress.report(0.02, "Reading header");
    auto scanned = dicom::scanSeries(rq.file);
    if (!scanned || scanned->empty()) { // not DICOM: perhaps a mesh with an unusual extension
        auto out = importMeshFile(rq, progress, taken);
        if (!out)
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: neither a DICOM SEG or RTSTRUCT nor a mesh file", rq.file.string()),
                        describe(out.error()));
        return finish(std::move(*out));
    }
    const std::string kind = scanned->front().kind;
    ImportedStructures out;
    out.file = rq.file;
    Result<std::vector<Candidate>> read = std::vector<Candidate>{};
    if (kind == "seg") {
        progress.report(0.1, "Reading segmentation");
        read = readSeg(rq, out.format, out.report);
    } else if (kind == "rtstruct") {
        out.format = "RTSTRUCT";
        read = readRtStructRois(rq, progress, out.report);
    } else {
        return fail(ErrorCode::ParseError,
                    fmt::format("{}: a DICOM {} object ({}), not a SEG or RTSTRUCT", rq.file.string(),
                                kind == "image" ? "image" : kind, scanned->front().modality));
    }
    if (!read) return std::unexpected(read.error());
    if (progress.cancelled()) return fail(ErrorCode::Cancelled, "import cancelled");

    // New label values: those neither a structure nor any voxel uses.
    auto labels = rq.labels ? std::make_shared<model::LabelMap>(*rq.labels)
                            : std::make_shared<model::LabelMap>(rq.geometry, std::uint8_t{0});
    if (!rq.labels)
        out.report.add("new-label-map", "The case had no label map: one was made for the imported structures");
    std::array<bool, 256> used{};
    used[0] = true;
    for (auto v : labels->voxels) used[v] = true;
    for (const auto& s : rq.existing) used[s.label] = true;
    std::map<int, std::string> existingName;
    for (const auto& s : rq.existing)
        if (s.label != 0) existingName[s.label] = s.name;

    // Each segment / ROI: a label, a name, a colour and the surface of its whole mask.
    std::size_t colourIndex = 0;
    std::vector<std::size_t> kept; // indices into `read` of those imported, as out.structures
    for (std::size_t ci = 0; ci < read->size(); ++ci) {
        auto& c = (*read)[ci];
        if (progress.cancelled()) return fail(ErrorCode::Cancelled, "import cancelled");
        progress.report(0.5 + 0.4 * double(ci) / double(read->size()), "Surface of " + c.name);
        if (c.voxels == 0 || c.mask.voxels.size() != labels->voxels.size()) {
            out.report.add("empty-structure",
                           fmt::format("{}: {} has no voxels on the loaded series' grid: not imported",
                                       rq.file.filename().string(), c.name));
            continue;
        }
        const auto free = std::find(used.begin(), used.end(), false);
        if (free == used.end())
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("{}: not imported: the label map has no free label values left for {}",
                                    rq.file.string(), c.name));
        model::Structure info;
        info.label = 1; // the mask's value, for the surface
        info.name = uniqueName(c.name, taken);
        taken.insert(info.name);
        info.kind = c.kind;
        info.role = model::defaultRole(c.kind);
        info.defaultColor = c.srgb                                    ? linearFromSrgb(*c.srgb)
                            : c.kind == model::StructureKind::Custom ? fallbackColor(colourIndex++)
                                                                      : model::defaultColor(c.kind);
        auto meshes = extractStructureMeshes(c.mask, std::span(&info, 1));
        if (meshes.empty()) continue;
        meshes.front().info.label = std::uint8_t(free - used.begin());
        used[meshes.front().info.label] = true;
        out.structures.push_back(std::move(meshes.front()));
        kept.push_back(ci);
    }

    // Their voxels into the label map, largest first so that a structure inside another (an
    // organ inside BODY) shows in the label map. The case's own labels are never overwritten.
    std::vector<std::size_t> order(kept.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::ranges::stable_sort(order, std::greater{}, [&](std::size_t i) { return (*read)[kept[i]].voxels; });
    std::map<int, std::string> importedName;
    for (std::size_t i : order) {
        const auto& info = out.structures[i].info;
        const auto& mask = (*read)[kept[i]].mask;
        std::map<int, std::size_t> overlap; // label there before -> voxels
        for (std::size_t v = 0; v < mask.voxels.size(); ++v) {
            if (!mask.voxels[v]) continue;
            auto& l = labels->voxels[v];
            if (l != 0) ++overlap[l];
            if (l == 0 || importedName.contains(l)) l = info.label;
        }
        importedName[info.label] = info.name;
        const auto file = rq.file.filename().string();
        for (const auto& [l, n] : overlap) {
            const auto plural = n == 1 ? "" : "s";
            if (const auto it = importedName.find(l); it != importedName.end())
                out.report.add("nested", fmt::format("{}: {} voxel{} of {} are also in {}: the label map shows {} "
                                                     "there",
                                                     file, n, plural, it->second, info.name, info.name));
            else if (const auto ex = existingName.find(l); ex != existingName.end())
                out.report.add("overlap", fmt::format("{}: {} voxel{} of {} lie in {} (label {}): the label map "
                                                      "keeps {} there; the 3D surface shows all of {}",
                                                      file, n, plural, info.name, ex->second, l, ex->second,
                                                      info.name));
            else
                out.report.add("overlap", fmt::format("{}: {} voxel{} of {} lie on label {} of the case's label "
                                                      "map, which is kept there",
                                                      file, n, plural, info.name, l));
        }
    }
    if (out.structures.empty()) {
        std::string why;
        for (const auto& w : out.report.warnings) why += w.message + "\n";
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("{}: nothing to import: no segment or ROI has voxels on the loaded series' grid",
                                rq.file.string()),
                    why);
    }
    out.labels = std::move(labels);
    return finish(std::move(out));
}

} // namespace precis::gui
