#pragma once
// Bounding-volume hierarchy over a mesh's triangles for distance and needle-path queries.
// Everything is in the mesh's frame: LPS mm. Triangle indices are the mesh's (indices[3t..3t+2]).
//
// The BVH copies what it needs (positions in double, triangles), so the mesh may change or go
// away afterwards; it answers for the mesh as it was when built. Queries are const and safe to run
// from many threads at once. An empty mesh gives a BVH whose queries report "nothing found"
// (distance = +infinity, triangle = kNoTriangle, no crossings).
#include "model/Mesh.h"

#include <glm/glm.hpp>

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

namespace precis::anatomy {

inline constexpr std::uint32_t kNoTriangle = std::numeric_limits<std::uint32_t>::max();

/// Closest point on the mesh to a query point.
struct MeshClosestPoint {
    glm::dvec3 pointLps{0.0};  // on the surface, LPS mm
    double distanceMm = std::numeric_limits<double>::infinity();
    std::uint32_t triangle = kNoTriangle;
};

/// Where the segment A→B crosses the surface.
struct SegmentCrossing {
    double depthMm = 0;   // distance from A along A→B, mm
    glm::dvec3 pointLps{0.0};
    std::uint32_t triangle = kNoTriangle;
    bool entering = false; // true when A→B goes from outside to inside (against the normal)
};

/// Closest approach between the segment A→B and the mesh.
struct SegmentClosest {
    double distanceMm = std::numeric_limits<double>::infinity(); // 0 when the segment crosses
    glm::dvec3 onSegmentLps{0.0};
    glm::dvec3 onMeshLps{0.0};
    double depthMm = 0; // of onSegmentLps, from A along A→B
    std::uint32_t triangle = kNoTriangle;
};

/// Needle shaft A→B of radius r against the mesh (see MeshBvh::capsuleQuery).
struct CapsuleHits {
    std::vector<std::uint32_t> triangles;   // every triangle within r of the segment, ascending
    std::vector<SegmentCrossing> crossings; // segment–surface crossings, by depth
    SegmentClosest closest;                 // minimum distance from the segment to the mesh
};

class MeshBvh {
public:
    MeshBvh() = default;
    /// Builds over the triangles of `mesh` (median split on the longest centroid axis, leaves of
    /// at most 4 triangles, flat node array). Degenerate triangles are kept (they still have
    /// closest points). Indices out of range are a contract violation. The closedness check and
    /// pseudo-normals for signedDistanceMm are built on the first call that needs them.
    explicit MeshBvh(const model::Mesh& mesh);

    [[nodiscard]] std::size_t triangleCount() const { return tris_.size(); }
    [[nodiscard]] std::size_t nodeCount() const { return nodes_.size(); }
    /// True when the mesh was a closed 2-manifold (model::Mesh::isClosedManifold) at build time:
    /// the precondition of signedDistanceMm.
    [[nodiscard]] bool closed() const;

    /// Exact closest point on the surface. Points farther than maxDistanceMm are not searched
    /// (the result then has triangle == kNoTriangle).
    [[nodiscard]] MeshClosestPoint
    closestPoint(glm::dvec3 queryLps,
                 double maxDistanceMm = std::numeric_limits<double>::infinity()) const;

    /// Signed distance in mm: negative inside, positive outside, sign from the angle-weighted
    /// pseudo-normal of the closest feature (face, edge or vertex). Requires closed() — calling it
    /// on an open mesh is a contract violation. Optionally returns the closest point too.
    [[nodiscard]] double signedDistanceMm(glm::dvec3 queryLps,
                                          MeshClosestPoint* closest = nullptr) const;

    /// Every crossing of the segment A→B with the surface, sorted by depth. A crossing through a
    /// shared edge or vertex is reported once. Touching without crossing (a segment lying in a
    /// face) is not a crossing. On a closed mesh, crossings alternate entering/exiting.
    [[nodiscard]] std::vector<SegmentCrossing> segmentCrossings(glm::dvec3 aLps,
                                                                glm::dvec3 bLps) const;

    /// Minimum distance between the segment A→B and the surface, with the closest points on both.
    /// A crossing segment gives distance 0 at its first crossing.
    [[nodiscard]] SegmentClosest closestToSegment(glm::dvec3 aLps, glm::dvec3 bLps) const;

    /// Triangles within radiusMm of the segment (the capsule touches them), ascending.
    [[nodiscard]] std::vector<std::uint32_t> trianglesInCapsule(glm::dvec3 aLps, glm::dvec3 bLps,
                                                                double radiusMm) const;

    /// All three needle-shaft answers at once: touched triangles, crossings and closest approach.
    [[nodiscard]] CapsuleHits capsuleQuery(glm::dvec3 aLps, glm::dvec3 bLps,
                                           double radiusMm) const;

private:
    struct Node { // 32 bytes: float bounds rounded outwards, so pruning stays conservative
        glm::vec3 lo{0.0f};
        std::uint32_t first = 0; // leaf: first slot in tris_; inner: index of the left child
        glm::vec3 hi{0.0f};
        std::uint32_t count = 0; // leaf: number of triangles; inner: 0 (right child = left + 1)
    };
    struct LeafTri { // vertices in leaf order: a leaf's triangles are contiguous in memory
        glm::vec3 p[3];
    };
    struct BuildItem {
        glm::vec3 centroid;
        std::uint32_t triangle;
    };
    /// Angle-weighted pseudo-normals for signed distance, built on first use (closedness check
    /// included), shared by copies.
    struct SignData;

    void build(std::vector<BuildItem>& items, const model::Mesh& mesh);
    const SignData& signData() const;
    [[nodiscard]] glm::dvec3 vertex(std::uint32_t slot, int k) const {
        return glm::dvec3(tris_[slot].p[k]);
    }

    std::vector<LeafTri> tris_;        // by leaf slot
    std::vector<std::uint32_t> order_; // leaf slot → triangle index in the mesh
    std::vector<std::uint32_t> indices_; // the mesh's triangles (for the pseudo-normals)
    std::vector<glm::vec3> positions_;   // the mesh's vertices (idem)
    std::vector<Node> nodes_;
    std::shared_ptr<SignData> sign_;
};

} // namespace precis::anatomy
