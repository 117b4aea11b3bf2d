#include "model/Mesh.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace precis::model {

Bounds Mesh::bounds() const {
    Bounds b{glm::dvec3(INFINITY), glm::dvec3(-INFINITY)};
    for (const auto& p : positions) {
        b.minMm = glm::min(b.minMm, glm::dvec3(p));
        b.maxMm = glm::max(b.maxMm, glm::dvec3(p));
    }
    if (positions.empty()) b = Bounds{};
    return b;
}

void Mesh::computeNormals() {
    std::vector<glm::dvec3> acc(positions.size(), glm::dvec3(0.0));
    for (std::size_t t = 0; t + 2 < indices.size(); t += 3) {
        glm::dvec3 a = positions[indices[t]], b = positions[indices[t + 1]], c = positions[indices[t + 2]];
        glm::dvec3 n = glm::cross(b - a, c - a); // length = 2 * area: area weighting
        acc[indices[t]] += n;
        acc[indices[t + 1]] += n;
        acc[indices[t + 2]] += n;
    }
    normals.resize(positions.size());
    for (std::size_t i = 0; i < acc.size(); ++i) {
        double len = glm::length(acc[i]);
        normals[i] = len > 0 ? glm::vec3(acc[i] / len) : glm::vec3(0, 0, 1);
    }
}

double Mesh::areaMm2() const {
    double area = 0;
    for (std::size_t t = 0; t + 2 < indices.size(); t += 3) {
        glm::dvec3 a = positions[indices[t]], b = positions[indices[t + 1]], c = positions[indices[t + 2]];
        area += 0.5 * glm::length(glm::cross(b - a, c - a));
    }
    return area;
}

double Mesh::signedVolumeMm3() const {
    double vol = 0;
    for (std::size_t t = 0; t + 2 < indices.size(); t += 3) {
        glm::dvec3 a = positions[indices[t]], b = positions[indices[t + 1]], c = positions[indices[t + 2]];
        vol += glm::dot(a, glm::cross(b, c)) / 6.0;
    }
    return vol;
}

bool Mesh::isClosedManifold() const {
    // Every directed edge (a,b) must occur exactly once and its twin (b,a) too: with the directed
    // edges unique, that holds exactly when the sorted edges equal the sorted reversed edges.
    // Sorting 64-bit keys is several times faster than hashing on meshes of millions of triangles.
    if (indices.empty() || indices.size() % 3 != 0) return false;
    auto key = [](std::uint32_t a, std::uint32_t b) { return (std::uint64_t(a) << 32) | b; };
    std::vector<std::uint64_t> edges, twins;
    edges.reserve(indices.size());
    twins.reserve(indices.size());
    for (std::size_t t = 0; t < indices.size(); t += 3) {
        for (int e = 0; e < 3; ++e) {
            const std::uint32_t a = indices[t + e], b = indices[t + (e + 1) % 3];
            if (a == b) return false;
            edges.push_back(key(a, b));
            twins.push_back(key(b, a));
        }
    }
    std::sort(edges.begin(), edges.end());
    if (std::adjacent_find(edges.begin(), edges.end()) != edges.end()) return false;
    std::sort(twins.begin(), twins.end());
    return edges == twins;
}

} // namespace precis::model
