#include "export/DeviceMesh.h"

#include "core/Assert.h"

#include <cmath>
#include <numbers>
#include <vector>

namespace precis::exporting {
namespace {

/// Any unit vector perpendicular to `t` (unit).
glm::dvec3 anyPerpendicular(const glm::dvec3& t) {
    // Cross with the axis least aligned with t, so the result is never near zero.
    const glm::dvec3 a = std::abs(t.x) < 0.9 ? glm::dvec3(1, 0, 0) : glm::dvec3(0, 1, 0);
    return glm::normalize(glm::cross(t, a));
}

} // namespace

model::Mesh deviceShaftMesh(std::span<const glm::dvec3> axisLps, double radiusMm, int sides) {
    PRECIS_ASSERT(sides >= 3, "a tube needs at least three sides");
    model::Mesh mesh;
    std::vector<glm::dvec3> pts;
    for (const glm::dvec3& p : axisLps)
        if (pts.empty() || glm::length(p - pts.back()) > 1e-9) pts.push_back(p);
    if (pts.size() < 2 || !(radiusMm > 0.0)) return mesh;

    const std::size_t n = pts.size();
    std::vector<glm::dvec3> seg(n - 1);
    for (std::size_t i = 0; i + 1 < n; ++i)
        seg[i] = glm::normalize(pts[i + 1] - pts[i]);

    // Parallel transport of the ring's reference direction keeps the tube from twisting along a
    // lead's curve.
    glm::dvec3 normal = anyPerpendicular(seg[0]);
    const auto s = static_cast<std::uint32_t>(sides);
    for (std::size_t i = 0; i < n; ++i) {
        glm::dvec3 t = i == 0 ? seg[0] : i == n - 1 ? seg[n - 2] : seg[i - 1] + seg[i];
        t = glm::length(t) > 1e-9 ? glm::normalize(t) : seg[std::min(i, n - 2)];
        normal = normal - glm::dot(normal, t) * t;
        normal = glm::length(normal) > 1e-9 ? glm::normalize(normal) : anyPerpendicular(t);
        const glm::dvec3 binormal = glm::cross(t, normal);
        for (std::uint32_t j = 0; j < s; ++j) {
            const double a = 2.0 * std::numbers::pi * j / sides;
            mesh.positions.emplace_back(pts[i] +
                                        radiusMm * (std::cos(a) * normal + std::sin(a) * binormal));
        }
    }
    // Side walls: with θ turning from `normal` to `binormal` = t × normal, (a, b, d) and (a, d, c)
    // wind counter-clockwise seen from outside.
    for (std::uint32_t i = 0; i + 1 < n; ++i)
        for (std::uint32_t j = 0; j < s; ++j) {
            const std::uint32_t a = i * s + j, b = i * s + (j + 1) % s;
            const std::uint32_t c = a + s, d = b + s;
            mesh.indices.insert(mesh.indices.end(), {a, b, d, a, d, c});
        }
    // Caps: fans around a centre vertex, facing -t at the entry and +t at the tip.
    const auto first = static_cast<std::uint32_t>(mesh.positions.size());
    mesh.positions.emplace_back(pts.front());
    const auto last = first + 1;
    mesh.positions.emplace_back(pts.back());
    const std::uint32_t lastRing = static_cast<std::uint32_t>(n - 1) * s;
    for (std::uint32_t j = 0; j < s; ++j) {
        const std::uint32_t a = j, b = (j + 1) % s;
        mesh.indices.insert(mesh.indices.end(), {first, b, a});
        mesh.indices.insert(mesh.indices.end(), {last, lastRing + a, lastRing + b});
    }
    return mesh;
}

} // namespace precis::exporting
