#pragma once
// What planning checks devices against: the case's structures as closed meshes with BVHs (exact
// collisions, depths and closest points) plus combined signed distance fields (O(1) look-ups for
// the trajectory search), all in LPS mm. Built once per case (seconds), then queried on every edit.
#include "anatomy/DistanceField.h"
#include "anatomy/MeshBvh.h"
#include "core/Error.h"
#include "core/Progress.h"
#include "model/Mesh.h"
#include "model/Structure.h"
#include "model/Volume.h"

#include <string_view>
#include <vector>

namespace precis::planning {

struct SceneStructure {
    model::Structure structure;
    model::Mesh mesh;  // closed, outward, LPS mm (label surface)
    anatomy::MeshBvh bvh;
    model::Bounds bounds; // of the mesh, LPS mm: lets queries skip far structures at once
    double volumeMl = 0.0;
};

struct SceneOptions {
    /// Windowed-sinc passes on each label surface. Off by default: the raw label surface lies
    /// within half a voxel of the labelled boundary, while smoothing shrinks thin nerves (the
    /// medial branches lose 0.5 mm and more), which clearances must not do.
    int smoothingIterations = 0;
    bool distanceFields = true;   // combined fields for the risk score and the search
    /// The combined fields are computed on a grid this many times coarser per axis (a coarse
    /// voxel is inside when any of its voxels is), so clearances from them are conservative by
    /// up to about factor x spacing. They rank candidates; the exact answers come from the BVHs.
    int fieldDownsample = 2;
};

class SafetyScene {
public:
    /// Builds from a label map and the structures its labels stand for. Structures whose label is
    /// absent from the map are left out (listed in notes()). The skin surface (kind Skin, or the
    /// outer surface of all labels when there is none) bounds the search. Fails on an empty map
    /// or Cancelled.
    static Result<SafetyScene> build(const model::LabelMap& labels,
                                     const std::vector<model::Structure>& structures,
                                     const SceneOptions& options = {},
                                     const Progress& progress = {});

    [[nodiscard]] const std::vector<SceneStructure>& structures() const { return structures_; }
    /// nullptr when absent.
    [[nodiscard]] const SceneStructure* find(std::string_view name) const;
    [[nodiscard]] const model::ImageGeometry& geometry() const { return geometry_; }
    /// Outer body surface (skin), LPS mm, outward, with per-vertex normals; candidate entries
    /// for the search.
    [[nodiscard]] const model::Mesh& skin() const { return skin_; }
    [[nodiscard]] const anatomy::MeshBvh& skinBvh() const { return skinBvh_; }
    /// Signed distance (mm) to the union of must-avoid structures / of caution structures /
    /// of bone (which blocks a needle). Empty when built without distance fields.
    [[nodiscard]] const anatomy::DistanceField& mustAvoidField() const { return mustAvoid_; }
    [[nodiscard]] const anatomy::DistanceField& cautionField() const { return caution_; }
    [[nodiscard]] const anatomy::DistanceField& boneField() const { return bone_; }
    [[nodiscard]] const std::vector<std::string>& notes() const { return notes_; }
    [[nodiscard]] double buildSeconds() const { return buildSeconds_; }

private:
    model::ImageGeometry geometry_;
    std::vector<SceneStructure> structures_;
    model::Mesh skin_;
    anatomy::MeshBvh skinBvh_;
    anatomy::DistanceField mustAvoid_, caution_, bone_;
    std::vector<std::string> notes_;
    double buildSeconds_ = 0.0;
};

} // namespace precis::planning
