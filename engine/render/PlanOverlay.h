#pragma once
// Planning overlays as meshes to scale, for the 3D view: each trajectory's device as a tube of its
// true outer radius (catalogue), its active part (RF active tip, lead contacts) in the highlight
// colour, and handles at the entry and target points. Built from model objects only; the app
// uploads them as Drawables. LPS mm.
#include "model/Device.h"
#include "model/Mesh.h"
#include "model/Plan.h"

#include <glm/glm.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace precis::render {

struct OverlayStyle {
    glm::vec4 shaft{0.72f, 0.74f, 0.78f, 1.0f};       // steel
    glm::vec4 activeShaft{0.55f, 0.80f, 1.0f, 1.0f};  // the selected trajectory's shaft
    glm::vec4 activeTip{1.0f, 0.62f, 0.10f, 1.0f};    // RF active tip / lead contacts
    glm::vec4 entryHandle{0.20f, 0.85f, 0.35f, 1.0f};
    glm::vec4 targetHandle{0.95f, 0.25f, 0.75f, 1.0f};
    double handleRadiusMm = 1.5;   // entry/target spheres (the selected trajectory's: x1.5)
    double unknownDeviceRadiusMm = 0.5; // a device id missing from the catalogue
    int sides = 24;
};

struct OverlayMesh {
    enum class Part { Shaft, ActiveTip, EntryHandle, TargetHandle };
    std::string trajectory;
    Part part = Part::Shaft;
    model::Mesh mesh;
    glm::vec4 colorRgba{1.0f};
};

/// Meshes for every trajectory of `plan`; `activeTrajectory` (a name, may be empty) is drawn
/// highlighted. Radii come from `catalog` (OverlayStyle::unknownDeviceRadiusMm when missing).
std::vector<OverlayMesh> planOverlayMeshes(const model::Plan& plan, const model::DeviceCatalog& catalog,
                                           std::string_view activeTrajectory,
                                           const OverlayStyle& style = {});

/// A closed tube of `radiusMm` along `pathLps` (one capped cylinder per segment), CCW outside.
model::Mesh tubeMesh(const std::vector<glm::dvec3>& pathLps, double radiusMm, int sides);
/// A UV sphere, CCW outside.
model::Mesh sphereMesh(const glm::dvec3& centerLps, double radiusMm, int slices = 24);

} // namespace precis::render
