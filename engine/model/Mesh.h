#pragma once
// Indexed triangle mesh, vertices in LPS mm. Triangles wind counter-clockwise seen from outside
// (normals point out of the enclosed region).
#include "model/ImageGeometry.h"

#include <glm/glm.hpp>

#include <cstdint>
#include <vector>

namespace precis::model {

struct Mesh {
    std::vector<glm::vec3> positions; // LPS mm
    std::vector<glm::vec3> normals;   // unit, per vertex; empty until computed
    std::vector<std::uint32_t> indices; // 3 per triangle

    [[nodiscard]] std::size_t triangleCount() const { return indices.size() / 3; }
    [[nodiscard]] bool empty() const { return indices.empty(); }
    [[nodiscard]] Bounds bounds() const;
    /// Area-weighted vertex normals from the triangles.
    void computeNormals();
    /// Total surface area, mm^2.
    [[nodiscard]] double areaMm2() const;
    /// Signed enclosed volume, mm^3 (positive for closed, outward-wound meshes).
    [[nodiscard]] double signedVolumeMm3() const;
    /// True when every edge is shared by exactly two triangles with opposite orientation.
    [[nodiscard]] bool isClosedManifold() const;
};

} // namespace precis::model
