#include "anatomy/ContourRasterizer.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace precis::anatomy {

RasterizedRoi rasterizeRoi(const model::ContourRoi& roi, const model::ImageGeometry& grid) {
    RasterizedRoi out;
    out.mask = model::LabelMap(grid, 0);
    const glm::dvec3 normal = grid.direction[2];
    const double halfSlice = 0.5 * grid.spacingMm.z;
    const int nx = grid.dims[0], ny = grid.dims[1], nz = grid.dims[2];
    for (const auto& c : roi.contours) {
        if (c.geometricType != "CLOSED_PLANAR" || c.pointsLps.size() < 3) {
            ++out.nonPlanarSkipped;
            continue;
        }
        // Slice of the contour plane: mean continuous k of its points.
        double kSum = 0;
        std::vector<glm::dvec2> poly;
        poly.reserve(c.pointsLps.size());
        for (const auto& p : c.pointsLps) {
            glm::dvec3 ijk = grid.indexFromWorld(p);
            kSum += ijk.z;
            poly.emplace_back(ijk.x, ijk.y);
        }
        const double kMean = kSum / double(c.pointsLps.size());
        const int k = static_cast<int>(std::lround(kMean));
        if (k < 0 || k >= nz || std::abs(kMean - k) * grid.spacingMm.z > halfSlice + 1e-6) {
            out.offGrid.push_back(
                {roi.name, glm::dot(c.pointsLps.front(), normal), c.referencedSopInstanceUids});
            continue;
        }
        ++out.contoursUsed;
        // Even-odd scanline fill at voxel centres; XOR into the slice so nested contours of the
        // same ROI make holes.
        std::vector<double> xs;
        for (int j = 0; j < ny; ++j) {
            const double y = j;
            xs.clear();
            for (std::size_t a = 0, b = poly.size() - 1; a < poly.size(); b = a++) {
                const glm::dvec2 p = poly[a], q = poly[b];
                if ((p.y > y) != (q.y > y)) xs.push_back(p.x + (y - p.y) * (q.x - p.x) / (q.y - p.y));
            }
            std::sort(xs.begin(), xs.end());
            for (std::size_t s = 0; s + 1 < xs.size(); s += 2) {
                const int i0 = std::max(0, static_cast<int>(std::ceil(xs[s])));
                const int i1 = std::min(nx - 1, static_cast<int>(std::floor(xs[s + 1])));
                for (int i = i0; i <= i1; ++i) out.mask.at(i, j, k) ^= 1;
            }
        }
    }
    out.voxels = static_cast<std::size_t>(std::count(out.mask.voxels.begin(), out.mask.voxels.end(), 1));
    return out;
}

model::StructureKind guessStructureKind(const model::ContourRoi& roi) {
    std::string name = roi.name;
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto has = [&](const char* w) { return name.find(w) != std::string::npos; };
    if (roi.interpretedType == "EXTERNAL" || has("body") || has("skin") || has("external"))
        return model::StructureKind::Skin;
    if (roi.interpretedType == "PTV" || roi.interpretedType == "CTV" ||
        roi.interpretedType == "GTV" || has("target"))
        return model::StructureKind::Target;
    if (has("lung")) return model::StructureKind::Lung;
    if (has("kidney")) return model::StructureKind::Kidney;
    if (has("cord") || has("canal") || has("dura") || has("thecal")) return model::StructureKind::Canal;
    if (has("aorta") || has("vena") || has("ivc") || has("artery") || has("vein") || has("vessel"))
        return model::StructureKind::Vessel;
    if (has("vertebra") || has("bone") || has("sacrum") || has("spine")) return model::StructureKind::Bone;
    if (has("disc")) return model::StructureKind::Disc;
    if (has("nerve") || has("root") || has("ganglion")) return model::StructureKind::Nerve;
    if (has("muscle") || has("psoas")) return model::StructureKind::Muscle;
    return model::StructureKind::Custom;
}

} // namespace precis::anatomy
