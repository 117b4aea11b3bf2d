#pragma once
// The device shaft as a surface: a closed tube of the device's true radius around its axis (a
// straight needle or a lead's polyline), for navigation displays (OpenIGTLink POLYDATA). LPS mm.
#include "model/Mesh.h"

#include <glm/glm.hpp>

#include <span>

namespace precis::exporting {

/// A closed, outward-wound tube of `radiusMm` around the polyline `axisLps` with `sides` facets
/// around (at least 3), capped flat at both ends. Rings sit at every axis point, perpendicular to
/// the mean of the adjoining segments, so a bend narrows the tube slightly at the joint (by
/// cos(half the bend angle)); leads bend gently. Consecutive duplicate points are ignored.
/// An empty mesh when fewer than two distinct points remain or radiusMm <= 0.
model::Mesh deviceShaftMesh(std::span<const glm::dvec3> axisLps, double radiusMm, int sides = 16);

} // namespace precis::exporting
