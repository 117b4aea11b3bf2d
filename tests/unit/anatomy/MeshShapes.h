#pragma once
// Analytic closed meshes for the mesh tests (LPS mm, CCW seen from outside).
#include "model/Mesh.h"

#include <glm/glm.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numbers>
#include <utility>

namespace precis::test {

/// Latitude/longitude sphere: one vertex per pole, (stacks - 1) * slices others.
inline model::Mesh uvSphere(glm::dvec3 center, double radius, int stacks, int slices) {
    model::Mesh m;
    m.positions.emplace_back(center + glm::dvec3(0, 0, radius));
    for (int i = 1; i < stacks; ++i) {
        const double theta = std::numbers::pi * i / stacks;
        for (int j = 0; j < slices; ++j) {
            const double phi = 2 * std::numbers::pi * j / slices;
            m.positions.emplace_back(center + radius * glm::dvec3(std::sin(theta) * std::cos(phi),
                                                                  std::sin(theta) * std::sin(phi),
                                                                  std::cos(theta)));
        }
    }
    m.positions.emplace_back(center - glm::dvec3(0, 0, radius));
    const auto south = static_cast<std::uint32_t>(m.positions.size() - 1);
    auto ring = [&](int i, int j) {
        return static_cast<std::uint32_t>(1 + (i - 1) * slices + (j % slices));
    };
    for (int j = 0; j < slices; ++j) m.indices.insert(m.indices.end(), {0, ring(1, j), ring(1, j + 1)});
    for (int i = 1; i + 1 < stacks; ++i)
        for (int j = 0; j < slices; ++j) {
            m.indices.insert(m.indices.end(), {ring(i, j), ring(i + 1, j), ring(i + 1, j + 1)});
            m.indices.insert(m.indices.end(), {ring(i, j), ring(i + 1, j + 1), ring(i, j + 1)});
        }
    for (int j = 0; j < slices; ++j)
        m.indices.insert(m.indices.end(), {south, ring(stacks - 1, j + 1), ring(stacks - 1, j)});
    return m;
}

/// Subdivided icosahedron on the sphere: 20 * 4^level triangles, near-uniform.
inline model::Mesh icoSphere(glm::dvec3 center, double radius, int level) {
    const double t = (1.0 + std::sqrt(5.0)) / 2.0;
    std::vector<glm::dvec3> p = {{-1, t, 0}, {1, t, 0}, {-1, -t, 0}, {1, -t, 0},
                                 {0, -1, t}, {0, 1, t}, {0, -1, -t}, {0, 1, -t},
                                 {t, 0, -1}, {t, 0, 1}, {-t, 0, -1}, {-t, 0, 1}};
    for (auto& q : p) q = glm::normalize(q);
    std::vector<std::uint32_t> f = {0, 11, 5, 0, 5,  1,  0,  1,  7,  0,  7,  10, 0, 10, 11,
                                    1, 5,  9, 5, 11, 4,  11, 10, 2,  10, 7,  6,  7, 1,  8,
                                    3, 9,  4, 3, 4,  2,  3,  2,  6,  3,  6,  8,  3, 8,  9,
                                    4, 9,  5, 2, 4,  11, 6,  2,  10, 8,  6,  7,  9, 8,  1};
    for (int l = 0; l < level; ++l) {
        std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> mid;
        auto midpoint = [&](std::uint32_t a, std::uint32_t b) {
            const auto key = std::minmax(a, b);
            auto it = mid.find(key);
            if (it != mid.end()) return it->second;
            p.push_back(glm::normalize(p[a] + p[b]));
            const auto idx = static_cast<std::uint32_t>(p.size() - 1);
            mid.emplace(key, idx);
            return idx;
        };
        std::vector<std::uint32_t> next;
        next.reserve(f.size() * 4);
        for (std::size_t i = 0; i < f.size(); i += 3) {
            const std::uint32_t a = f[i], b = f[i + 1], c = f[i + 2];
            const std::uint32_t ab = midpoint(a, b), bc = midpoint(b, c), ca = midpoint(c, a);
            next.insert(next.end(), {a, ab, ca, b, bc, ab, c, ca, bc, ab, bc, ca});
        }
        f = std::move(next);
    }
    model::Mesh m;
    for (const auto& q : p) m.positions.emplace_back(center + radius * q);
    m.indices = std::move(f);
    return m;
}

/// Axis-aligned box [lo, hi], 12 triangles.
inline model::Mesh box(glm::dvec3 lo, glm::dvec3 hi) {
    model::Mesh m;
    for (int i = 0; i < 8; ++i)
        m.positions.emplace_back((i & 1) ? hi.x : lo.x, (i & 2) ? hi.y : lo.y, (i & 4) ? hi.z : lo.z);
    // Faces as quads (outward CCW), split into two triangles each.
    const std::array<std::array<std::uint32_t, 4>, 6> quads = {{{0, 4, 6, 2},   // -x
                                                                {1, 3, 7, 5},   // +x
                                                                {0, 1, 5, 4},   // -y
                                                                {2, 6, 7, 3},   // +y
                                                                {0, 2, 3, 1},   // -z
                                                                {4, 5, 7, 6}}}; // +z
    for (const auto& q : quads) m.indices.insert(m.indices.end(), {q[0], q[1], q[2], q[0], q[2], q[3]});
    return m;
}

} // namespace precis::test
