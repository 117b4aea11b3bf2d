#pragma once
// Directed edges of a triangle mesh per start vertex (compressed rows, sorted by end vertex), for
// fast topology checks and twin look-ups on meshes of millions of triangles (hash maps are ~10x
// slower there).
#include <cstdint>
#include <vector>

namespace precis::anatomy::detail {

struct HalfEdges {
    std::vector<std::uint32_t> offsets; // vertexCount + 1
    std::vector<std::uint32_t> targets; // end vertex, ascending within a row
    std::vector<std::uint32_t> owners;  // 3 * triangle + corner of the edge corner → corner + 1

    /// Owner of the directed edge a→b, or UINT32_MAX when there is none.
    [[nodiscard]] std::uint32_t find(std::uint32_t a, std::uint32_t b) const;
};

/// Indices must be < vertexCount (contract).
HalfEdges buildHalfEdges(const std::vector<std::uint32_t>& indices, std::size_t vertexCount);

/// Same answer as model::Mesh::isClosedManifold (every directed edge once, its twin once, no
/// degenerate edge, not empty), multithreaded.
bool isClosedOrientedManifold(const HalfEdges& edges);
bool isClosedOrientedManifold(const std::vector<std::uint32_t>& indices, std::size_t vertexCount);

} // namespace precis::anatomy::detail
