#include "gui/Picking.h"

#include <fmt/core.h>

#include <cmath>

namespace precis::gui {

std::string describePick(const PickInfo& pick) {
    std::string s =
        fmt::format("L {:.1f} P {:.1f} S {:.1f} mm", pick.lps.x, pick.lps.y, pick.lps.z);
    // U+00B7 (middle dot) is in the Latin-1 range every ImGui font has.
    if (!pick.structure.empty()) s += " \xc2\xb7 " + pick.structure;
    if (pick.hu) s += fmt::format(" \xc2\xb7 {:.0f} HU", *pick.hu);
    return s;
}

namespace {
template <class T>
std::optional<T> nearestVoxel(const model::VoxelGrid<T>& grid, const glm::dvec3& lps) {
    const glm::dvec3 ijk = glm::round(grid.geometry.indexFromWorld(lps));
    if (!std::isfinite(ijk.x) || !std::isfinite(ijk.y) || !std::isfinite(ijk.z))
        return std::nullopt;
    const int i = int(ijk.x), j = int(ijk.y), k = int(ijk.z);
    if (!grid.geometry.contains(i, j, k)) return std::nullopt;
    return grid.at(i, j, k);
}
} // namespace

std::optional<std::int16_t> valueAt(const model::Volume& volume, const glm::dvec3& lps) {
    return nearestVoxel(volume, lps);
}
std::optional<std::uint8_t> valueAt(const model::LabelMap& labels, const glm::dvec3& lps) {
    return nearestVoxel(labels, lps);
}

Ray cameraRay(const render::Camera& camera, double fx, double fy, double aspect) {
    // Clip space is Vulkan's: x right, y down, depth 0 (near) .. 1 (far).
    const glm::dmat4 worldFromClip = glm::inverse(camera.clipFromWorld(aspect));
    auto unproject = [&](double depth) {
        const glm::dvec4 w = worldFromClip * glm::dvec4(fx * 2.0 - 1.0, fy * 2.0 - 1.0, depth, 1.0);
        return glm::dvec3(w) / w.w;
    };
    return {unproject(0.0), unproject(1.0)};
}

void SurfacePicker::prepare(std::span<const StructureMesh> meshes) {
    if (task_ || ready_) return;
    task_ = std::make_unique<BackgroundTask<Bvhs>>(
        [meshes](const Progress& progress) -> Result<Bvhs> {
            Bvhs out;
            for (std::size_t i = 0; i < meshes.size(); ++i) {
                if (progress.cancelled())
                    return std::unexpected(Error{ErrorCode::Cancelled, "cancelled", {}});
                progress.report(double(i) / double(std::max<std::size_t>(1, meshes.size())),
                                "Preparing surfaces for picking");
                out.push_back(std::make_shared<const anatomy::MeshBvh>(meshes[i].full));
            }
            return out;
        },
        "Preparing surfaces for picking");
}

void SurfacePicker::poll() {
    if (!task_) return;
    auto r = task_->take();
    if (!r) return;
    task_.reset();
    if (*r) {
        bvhs_ = std::move(**r);
        ready_ = true;
    }
}

void SurfacePicker::reset() {
    task_.reset(); // cancels and joins
    bvhs_.clear();
    ready_ = false;
}

std::optional<SurfacePicker::Hit> SurfacePicker::cast(const Ray& ray,
                                                      const std::vector<bool>& pickable,
                                                      const render::ClipState& clip) const {
    std::optional<Hit> best;
    for (std::size_t i = 0; i < bvhs_.size() && i < pickable.size(); ++i) {
        if (!pickable[i] || !bvhs_[i]) continue;
        for (const auto& c : bvhs_[i]->segmentCrossings(ray.fromLps, ray.toLps)) {
            if (best && c.depthMm >= best->depthMm) break;
            if (!clip.keeps(c.pointLps)) continue;
            best = Hit{i, c.pointLps, c.depthMm};
            break;
        }
    }
    return best;
}

} // namespace precis::gui
