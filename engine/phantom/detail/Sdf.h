#pragma once
// Analytic signed-distance primitives for the lumbar phantom (LPS mm, negative inside).
//
// Every primitive returns a distance BOUND: |value| never exceeds the true Euclidean distance by
// more than a few percent, and the sign is exact. That lets the voxeliser cull primitives per tile
// (a primitive whose value at a tile centre exceeds the tile radius cannot touch the tile) and lets
// planning use the values as conservative clearances. Spheres, capsules, boxes and rounded boxes
// are exact; ellipses/ellipsoids and swept ellipses are bounds.
#include <glm/glm.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace precis::phantom::detail {

struct Aabb {
    glm::dvec3 lo{1e30};
    glm::dvec3 hi{-1e30};
    void add(const glm::dvec3& p) {
        lo = glm::min(lo, p);
        hi = glm::max(hi, p);
    }
    void pad(double mm) {
        lo -= glm::dvec3(mm);
        hi += glm::dvec3(mm);
    }
    [[nodiscard]] bool overlaps(const Aabb& o) const {
        return lo.x <= o.hi.x && hi.x >= o.lo.x && lo.y <= o.hi.y && hi.y >= o.lo.y &&
               lo.z <= o.hi.z && hi.z >= o.lo.z;
    }
    [[nodiscard]] bool contains(const glm::dvec3& p) const {
        return p.x >= lo.x && p.x <= hi.x && p.y >= lo.y && p.y <= hi.y && p.z >= lo.z &&
               p.z <= hi.z;
    }
};

/// A rigid frame: world = origin + axes * local (axes columns are unit vectors).
struct Frame {
    glm::dvec3 origin{0.0};
    glm::dmat3 axes{1.0};
    [[nodiscard]] glm::dvec3 toWorld(const glm::dvec3& local) const {
        return origin + axes * local;
    }
    [[nodiscard]] glm::dvec3 toLocal(const glm::dvec3& world) const {
        return glm::transpose(axes) * (world - origin);
    }
    [[nodiscard]] glm::dvec3 dir(const glm::dvec3& localDir) const { return axes * localDir; }
};

enum class PrimType : std::uint8_t {
    Ellipsoid,    // semi-axes a
    RoundBox,     // half extents a, corner radius r (a includes r)
    Capsule,      // world segment p0-p1, radius r0 at p0 to r1 at p1 (tapered)
    RoundedPrism, // 2D rounded rectangle (half extents a.xy, corner radius r) extruded |z| <= a.z
    EllipseTube,  // polyline of centres with per-vertex lateral/normal semi-axes (swept ellipse)
    HalfSpace,    // local z <= 0 (used to cut discs and slabs)
};

struct Primitive {
    PrimType type = PrimType::Ellipsoid;
    Frame frame;                   // local frame (Ellipsoid, RoundBox, RoundedPrism, HalfSpace)
    glm::dvec3 a{1.0};             // semi-axes / half extents (local)
    double r = 0.0;                // corner radius (RoundBox, RoundedPrism)
    double round3 = 0.0;           // RoundedPrism: extra rounding of the cap rims
    glm::dvec3 p0{0.0}, p1{0.0};   // Capsule / EllipseTube segment ends (world)
    double r0 = 1.0, r1 = 1.0;     // Capsule radii at p0, p1
    glm::dvec2 ax0{1.0}, ax1{1.0}; // EllipseTube (lateral, normal) semi-axes at p0, p1
    double extMm = 0.0;            // EllipseTube: extension beyond both ends (overlap at joints)
};

inline double length2(const glm::dvec2& v) { return std::sqrt(v.x * v.x + v.y * v.y); }

/// Ellipse bound in 2D (exact for circles, conservative elsewhere).
inline double ellipse2(const glm::dvec2& q, const glm::dvec2& a) {
    const double k = length2(q / a);
    return (k - 1.0) * std::min(a.x, a.y);
}

inline double sdEllipsoid(const glm::dvec3& q, const glm::dvec3& a) {
    const double k0 = glm::length(q / a);
    const double k1 = glm::length(q / (a * a));
    if (k1 < 1e-12) return -std::min({a.x, a.y, a.z});
    const double d = k0 * (k0 - 1.0) / k1;
    // Inside, the quotient overestimates depth near the long axis; clamp by the short axis bound.
    return k0 < 1.0 ? std::max(d, (k0 - 1.0) * std::min({a.x, a.y, a.z})) : d;
}

inline double sdRoundBox(const glm::dvec3& q, const glm::dvec3& h, double r) {
    const glm::dvec3 d = glm::abs(q) - h + glm::dvec3(r);
    const double outside = glm::length(glm::max(d, glm::dvec3(0.0)));
    const double inside = std::min(std::max(d.x, std::max(d.y, d.z)), 0.0);
    return outside + inside - r;
}

inline double sdRoundRect(const glm::dvec2& q, const glm::dvec2& h, double r) {
    const glm::dvec2 d = glm::abs(q) - h + glm::dvec2(r);
    const double outside = length2(glm::max(d, glm::dvec2(0.0)));
    const double inside = std::min(std::max(d.x, d.y), 0.0);
    return outside + inside - r;
}

/// Tapered capsule: distance to the segment minus the radius interpolated at the projection.
inline double sdCapsule(const glm::dvec3& p, const glm::dvec3& a, const glm::dvec3& b, double ra,
                        double rb) {
    const glm::dvec3 pa = p - a, ba = b - a;
    const double len2 = glm::dot(ba, ba);
    const double h = len2 > 0.0 ? std::clamp(glm::dot(pa, ba) / len2, 0.0, 1.0) : 0.0;
    return glm::length(pa - ba * h) - (ra + (rb - ra) * h);
}

/// One segment of a swept ellipse (flat caps extMm beyond each end). The lateral axis is world +x
/// made orthogonal to the segment; the other axis completes the frame. Long tubes are unions of
/// overlapping segments, so every segment culls on its own box.
inline double sdEllipseTube(const glm::dvec3& p, const Primitive& t) {
    const glm::dvec3 ba = t.p1 - t.p0;
    const double len = glm::length(ba);
    const glm::dvec3 dirv = len > 0.0 ? ba / len : glm::dvec3(0, 0, 1);
    const double along = glm::dot(p - t.p0, dirv);
    const double h = len > 0.0 ? std::clamp(along / len, 0.0, 1.0) : 0.0;
    const glm::dvec3 c = t.p0 + ba * h;
    glm::dvec3 lat = glm::dvec3(1, 0, 0) - dirv * dirv.x;
    const double ll = glm::length(lat);
    lat = ll > 1e-9 ? lat / ll : glm::dvec3(0, 1, 0);
    const glm::dvec3 nrm = glm::cross(dirv, lat);
    const glm::dvec2 ax = t.ax0 + (t.ax1 - t.ax0) * h;
    const glm::dvec3 q = p - c;
    const double d = ellipse2({glm::dot(q, lat), glm::dot(q, nrm)}, ax);
    const double beyond = std::max(-along, along - len) - t.extMm;
    if (d > 0.0 && beyond > 0.0) return std::sqrt(d * d + beyond * beyond);
    return std::max(d, beyond);
}

inline double evalPrimitive(const Primitive& pr, const glm::dvec3& p) {
    switch (pr.type) {
    case PrimType::Ellipsoid:
        return sdEllipsoid(pr.frame.toLocal(p), pr.a);
    case PrimType::RoundBox:
        return sdRoundBox(pr.frame.toLocal(p), pr.a, pr.r);
    case PrimType::Capsule:
        return sdCapsule(p, pr.p0, pr.p1, pr.r0, pr.r1);
    case PrimType::RoundedPrism: {
        const glm::dvec3 q = pr.frame.toLocal(p);
        // Extruded rounded rectangle, shrunk by rr and re-inflated so the cap rims are round.
        const double rr = pr.round3;
        const double d2 =
            sdRoundRect({q.x, q.y}, {pr.a.x - rr, pr.a.y - rr}, std::max(pr.r - rr, 0.0));
        const glm::dvec2 w{d2, std::abs(q.z) - (pr.a.z - rr)};
        return std::min(std::max(w.x, w.y), 0.0) + length2(glm::max(w, glm::dvec2(0.0))) - rr;
    }
    case PrimType::EllipseTube:
        return sdEllipseTube(p, pr);
    case PrimType::HalfSpace:
        return pr.frame.toLocal(p).z;
    }
    return 1e30;
}

/// Polynomial smooth minimum (fillet of width k mm); equals min when |a-b| >= k.
inline double smin(double a, double b, double k) {
    if (k <= 0.0) return std::min(a, b);
    const double h = std::max(k - std::abs(a - b), 0.0) / k;
    return std::min(a, b) - h * h * k * 0.25;
}

/// World bounding box of a primitive (not padded).
Aabb primitiveBounds(const Primitive& pr);

} // namespace precis::phantom::detail
