#include "anatomy/MeshBvh.h"

#include "anatomy/detail/HalfEdges.h"
#include "core/Assert.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>

namespace precis::anatomy {
namespace {

constexpr std::uint32_t kLeafSize = 4;
constexpr double kInf = std::numeric_limits<double>::infinity();

/// Which part of a triangle a closest point lies on: the face, edge e (v[e]→v[(e+1)%3]) or vertex.
enum class Feature : std::uint8_t { Face, Edge0, Edge1, Edge2, Vertex0, Vertex1, Vertex2 };

struct TriPoint {
    glm::dvec3 point;
    Feature feature;
};

// Ericson, Real-Time Collision Detection 5.1.5, returning which feature the point lies on.
TriPoint closestOnTriangle(const glm::dvec3& p, const glm::dvec3& a, const glm::dvec3& b,
                           const glm::dvec3& c) {
    const glm::dvec3 ab = b - a, ac = c - a, ap = p - a;
    const double d1 = glm::dot(ab, ap), d2 = glm::dot(ac, ap);
    if (d1 <= 0 && d2 <= 0) return {a, Feature::Vertex0};
    const glm::dvec3 bp = p - b;
    const double d3 = glm::dot(ab, bp), d4 = glm::dot(ac, bp);
    if (d3 >= 0 && d4 <= d3) return {b, Feature::Vertex1};
    const double vc = d1 * d4 - d3 * d2;
    if (vc <= 0 && d1 >= 0 && d3 <= 0) return {a + ab * (d1 / (d1 - d3)), Feature::Edge0};
    const glm::dvec3 cp = p - c;
    const double d5 = glm::dot(ab, cp), d6 = glm::dot(ac, cp);
    if (d6 >= 0 && d5 <= d6) return {c, Feature::Vertex2};
    const double vb = d5 * d2 - d1 * d6;
    if (vb <= 0 && d2 >= 0 && d6 <= 0) return {a + ac * (d2 / (d2 - d6)), Feature::Edge2};
    const double va = d3 * d6 - d5 * d4;
    if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0)
        return {b + (c - b) * ((d4 - d3) / ((d4 - d3) + (d5 - d6))), Feature::Edge1};
    const double denom = va + vb + vc;
    if (!(std::abs(denom) > 0)) return {a, Feature::Vertex0}; // degenerate (zero-area) triangle
    const double v = vb / denom, w = vc / denom;
    return {a + ab * v + ac * w, Feature::Face};
}

// Closest points between segments p1q1 and p2q2 (Ericson 5.1.9). Returns squared distance.
double closestSegmentSegment(const glm::dvec3& p1, const glm::dvec3& q1, const glm::dvec3& p2,
                             const glm::dvec3& q2, double& s, double& t, glm::dvec3& c1,
                             glm::dvec3& c2) {
    const glm::dvec3 d1 = q1 - p1, d2 = q2 - p2, r = p1 - p2;
    const double a = glm::dot(d1, d1), e = glm::dot(d2, d2), f = glm::dot(d2, r);
    constexpr double kEps = 1e-300;
    if (a <= kEps && e <= kEps) {
        s = t = 0;
        c1 = p1;
        c2 = p2;
        return glm::dot(c1 - c2, c1 - c2);
    }
    if (a <= kEps) {
        s = 0;
        t = std::clamp(f / e, 0.0, 1.0);
    } else {
        const double c = glm::dot(d1, r);
        if (e <= kEps) {
            t = 0;
            s = std::clamp(-c / a, 0.0, 1.0);
        } else {
            const double b = glm::dot(d1, d2), denom = a * e - b * b;
            s = denom > 0 ? std::clamp((b * f - c * e) / denom, 0.0, 1.0) : 0.0;
            t = (b * s + f) / e;
            if (t < 0) {
                t = 0;
                s = std::clamp(-c / a, 0.0, 1.0);
            } else if (t > 1) {
                t = 1;
                s = std::clamp((b - c) / a, 0.0, 1.0);
            }
        }
    }
    c1 = p1 + d1 * s;
    c2 = p2 + d2 * t;
    return glm::dot(c1 - c2, c1 - c2);
}

// Möller–Trumbore over the closed segment a + t (b - a), t in [0,1], edges inclusive.
bool segmentHitsTriangle(const glm::dvec3& a, const glm::dvec3& dir, const glm::dvec3& v0,
                         const glm::dvec3& v1, const glm::dvec3& v2, double& t) {
    const glm::dvec3 e1 = v1 - v0, e2 = v2 - v0;
    const glm::dvec3 p = glm::cross(dir, e2);
    const double det = glm::dot(e1, p);
    const double scale = glm::length(e1) * glm::length(e2) * glm::length(dir);
    if (!(std::abs(det) > 1e-14 * scale)) return false; // parallel or degenerate
    const double inv = 1.0 / det;
    const glm::dvec3 s = a - v0;
    const double u = glm::dot(s, p) * inv;
    if (u < 0 || u > 1) return false;
    const glm::dvec3 q = glm::cross(s, e1);
    const double v = glm::dot(dir, q) * inv;
    if (v < 0 || u + v > 1) return false;
    t = glm::dot(e2, q) * inv;
    return t >= 0 && t <= 1;
}

double pointBoxDistance2(const glm::dvec3& p, const glm::vec3& lo, const glm::vec3& hi) {
    const glm::dvec3 d =
        glm::max(glm::max(glm::dvec3(lo) - p, p - glm::dvec3(hi)), glm::dvec3(0.0));
    return glm::dot(d, d);
}

// Does the segment a + t dir, t in [0,1], meet the box [lo - pad, hi + pad]?
bool segmentHitsBox(const glm::dvec3& a, const glm::dvec3& dir, const glm::vec3& boxLo,
                    const glm::vec3& boxHi, double pad) {
    const glm::dvec3 lo = glm::dvec3(boxLo) - pad, hi = glm::dvec3(boxHi) + pad;
    double t0 = 0, t1 = 1;
    for (int k = 0; k < 3; ++k) {
        if (std::abs(dir[k]) < 1e-300) {
            if (a[k] < lo[k] || a[k] > hi[k]) return false;
            continue;
        }
        const double inv = 1.0 / dir[k];
        double ta = (lo[k] - a[k]) * inv, tb = (hi[k] - a[k]) * inv;
        if (ta > tb) std::swap(ta, tb);
        t0 = std::max(t0, ta);
        t1 = std::min(t1, tb);
        if (t0 > t1) return false;
    }
    return true;
}

struct SegTri {
    double distance2;
    glm::dvec3 onSegment, onTriangle;
    double s; // parameter on the segment
};

SegTri segmentTriangle(const glm::dvec3& a, const glm::dvec3& b, const glm::dvec3& v0,
                       const glm::dvec3& v1, const glm::dvec3& v2) {
    const glm::dvec3 dir = b - a;
    double t = 0;
    if (segmentHitsTriangle(a, dir, v0, v1, v2, t)) {
        const glm::dvec3 p = a + dir * t;
        return {0.0, p, p, t};
    }
    SegTri best{kInf, a, a, 0};
    auto consider = [&](double d2, const glm::dvec3& onSeg, const glm::dvec3& onTri, double s) {
        if (d2 < best.distance2) best = {d2, onSeg, onTri, s};
    };
    const TriPoint ca = closestOnTriangle(a, v0, v1, v2);
    consider(glm::dot(ca.point - a, ca.point - a), a, ca.point, 0.0);
    const TriPoint cb = closestOnTriangle(b, v0, v1, v2);
    consider(glm::dot(cb.point - b, cb.point - b), b, cb.point, 1.0);
    const glm::dvec3* vs[3] = {&v0, &v1, &v2};
    for (int e = 0; e < 3; ++e) {
        double s = 0, u = 0;
        glm::dvec3 c1, c2;
        const double d2 = closestSegmentSegment(a, b, *vs[e], *vs[(e + 1) % 3], s, u, c1, c2);
        consider(d2, c1, c2, s);
    }
    return best;
}

} // namespace

struct MeshBvh::SignData {
    std::once_flag once;
    bool closed = false;
    // Per triangle, per vertex and per triangle edge (edge e of triangle t runs from corner e to
    // corner (e+1)%3); edge normals are the sum of the two faces' normals.
    std::vector<glm::dvec3> face, vertex, edge;
};

MeshBvh::MeshBvh(const model::Mesh& mesh) : sign_(std::make_shared<SignData>()) {
    const std::size_t n = mesh.triangleCount();
    PRECIS_ASSERT(n < kNoTriangle, "mesh has too many triangles for a 32-bit BVH");
    positions_ = mesh.positions;
    indices_.assign(mesh.indices.begin(), mesh.indices.begin() + static_cast<std::ptrdiff_t>(3 * n));
    std::vector<BuildItem> items(n);
    for (std::size_t t = 0; t < n; ++t) {
        glm::dvec3 sum(0.0);
        for (int k = 0; k < 3; ++k) {
            const std::uint32_t v = indices_[3 * t + k];
            PRECIS_ASSERT(v < positions_.size(), "triangle index out of range");
            sum += glm::dvec3(positions_[v]);
        }
        items[t] = {glm::vec3(sum / 3.0), static_cast<std::uint32_t>(t)};
    }
    if (n > 0) {
        nodes_.reserve(n);
        nodes_.emplace_back();
        build(items, mesh);
    }
    order_.resize(n);
    tris_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        order_[i] = items[i].triangle;
        for (int k = 0; k < 3; ++k) tris_[i].p[k] = positions_[indices_[3 * order_[i] + k]];
    }
}

// Median split on the longest centroid axis, children allocated as adjacent pairs. Partitions
// `items` (centroid + triangle, contiguous) so leaves own ranges of it; node bounds come from the
// triangles' vertices.
void MeshBvh::build(std::vector<BuildItem>& items, const model::Mesh& mesh) {
    struct Task {
        std::uint32_t node, first, count;
    };
    std::vector<Task> stack{{0, 0, static_cast<std::uint32_t>(items.size())}};
    while (!stack.empty()) {
        const Task task = stack.back();
        stack.pop_back();
        glm::vec3 lo(INFINITY), hi(-INFINITY), clo(INFINITY), chi(-INFINITY);
        for (std::uint32_t i = task.first; i < task.first + task.count; ++i) {
            const std::uint32_t* tri = &mesh.indices[3 * std::size_t(items[i].triangle)];
            for (int k = 0; k < 3; ++k) {
                lo = glm::min(lo, mesh.positions[tri[k]]);
                hi = glm::max(hi, mesh.positions[tri[k]]);
            }
            clo = glm::min(clo, items[i].centroid);
            chi = glm::max(chi, items[i].centroid);
        }
        // The bounds are exact: vertices are floats already.
        nodes_[task.node].lo = lo;
        nodes_[task.node].hi = hi;
        const glm::vec3 extent = chi - clo;
        if (task.count <= kLeafSize || !(std::max({extent.x, extent.y, extent.z}) > 0)) {
            nodes_[task.node].first = task.first;
            nodes_[task.node].count = task.count;
            continue;
        }
        const int axis = extent.x >= extent.y && extent.x >= extent.z ? 0
                         : extent.y >= extent.z                     ? 1
                                                                    : 2;
        const std::uint32_t half = task.count / 2;
        const auto begin = items.begin() + task.first;
        std::nth_element(begin, begin + half, begin + task.count,
                         [axis](const BuildItem& l, const BuildItem& r) {
                             return l.centroid[axis] < r.centroid[axis];
                         });
        const auto left = static_cast<std::uint32_t>(nodes_.size());
        nodes_.emplace_back();
        nodes_.emplace_back();
        nodes_[task.node].first = left;
        nodes_[task.node].count = 0;
        stack.push_back({left, task.first, half});
        stack.push_back({left + 1, task.first + half, task.count - half});
    }
}

bool MeshBvh::closed() const { return sign_ && signData().closed; }

const MeshBvh::SignData& MeshBvh::signData() const {
    SignData& d = *sign_;
    std::call_once(d.once, [&] {
        const detail::HalfEdges edges = detail::buildHalfEdges(indices_, positions_.size());
        d.closed = detail::isClosedOrientedManifold(edges);
        if (!d.closed) return;
        const std::size_t n = indices_.size() / 3;
        d.face.resize(n);
        d.vertex.assign(positions_.size(), glm::dvec3(0.0));
        d.edge.resize(3 * n);
        for (std::size_t t = 0; t < n; ++t) {
            const std::uint32_t* v = &indices_[3 * t];
            const glm::dvec3 p[3] = {positions_[v[0]], positions_[v[1]], positions_[v[2]]};
            const glm::dvec3 cr = glm::cross(p[1] - p[0], p[2] - p[0]);
            const double len = glm::length(cr);
            d.face[t] = len > 0 ? cr / len : glm::dvec3(0.0);
            for (int k = 0; k < 3; ++k) {
                const glm::dvec3 e1 = p[(k + 1) % 3] - p[k], e2 = p[(k + 2) % 3] - p[k];
                const double l1 = glm::length(e1), l2 = glm::length(e2);
                if (l1 > 0 && l2 > 0)
                    d.vertex[v[k]] +=
                        std::acos(std::clamp(glm::dot(e1, e2) / (l1 * l2), -1.0, 1.0)) * d.face[t];
            }
        }
        for (std::size_t t = 0; t < n; ++t)
            for (int k = 0; k < 3; ++k) {
                // Closed manifold: the reversed edge exists exactly once.
                const std::uint32_t twin =
                    edges.find(indices_[3 * t + (k + 1) % 3], indices_[3 * t + k]);
                d.edge[3 * t + k] = d.face[t] + d.face[twin / 3];
            }
    });
    return d;
}

MeshClosestPoint MeshBvh::closestPoint(glm::dvec3 q, double maxDistanceMm) const {
    MeshClosestPoint best;
    if (nodes_.empty()) return best;
    double best2 = maxDistanceMm < kInf ? maxDistanceMm * maxDistanceMm : kInf;
    std::array<std::uint32_t, 64> stack{};
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
        const Node& node = nodes_[stack[--top]];
        if (pointBoxDistance2(q, node.lo, node.hi) > best2) continue;
        if (node.count > 0) {
            for (std::uint32_t i = node.first; i < node.first + node.count; ++i) {
                const TriPoint c = closestOnTriangle(q, vertex(i, 0), vertex(i, 1), vertex(i, 2));
                const double d2 = glm::dot(c.point - q, c.point - q);
                if (d2 < best2 || (d2 == best2 && best.triangle == kNoTriangle)) {
                    best2 = d2;
                    best.pointLps = c.point;
                    best.triangle = order_[i];
                }
            }
            continue;
        }
        const double dl = pointBoxDistance2(q, nodes_[node.first].lo, nodes_[node.first].hi);
        const double dr = pointBoxDistance2(q, nodes_[node.first + 1].lo, nodes_[node.first + 1].hi);
        // Push the farther child first so the nearer one is searched first.
        if (dl <= dr) {
            if (dr <= best2) stack[top++] = node.first + 1;
            if (dl <= best2) stack[top++] = node.first;
        } else {
            if (dl <= best2) stack[top++] = node.first;
            if (dr <= best2) stack[top++] = node.first + 1;
        }
    }
    if (best.triangle != kNoTriangle) best.distanceMm = std::sqrt(best2);
    return best;
}

double MeshBvh::signedDistanceMm(glm::dvec3 q, MeshClosestPoint* closest) const {
    const SignData& sign = signData();
    PRECIS_ASSERT(sign.closed, "signedDistanceMm needs a closed 2-manifold mesh (check closed())");
    const MeshClosestPoint c = closestPoint(q);
    if (closest) *closest = c;
    const std::uint32_t* tri = &indices_[3 * std::size_t(c.triangle)];
    // Recover the feature the closest point lies on to pick the right pseudo-normal.
    const TriPoint tp = closestOnTriangle(q, glm::dvec3(positions_[tri[0]]),
                                          glm::dvec3(positions_[tri[1]]),
                                          glm::dvec3(positions_[tri[2]]));
    glm::dvec3 normal = sign.face[c.triangle];
    switch (tp.feature) {
    case Feature::Face: normal = sign.face[c.triangle]; break;
    case Feature::Edge0: normal = sign.edge[3 * c.triangle + 0]; break;
    case Feature::Edge1: normal = sign.edge[3 * c.triangle + 1]; break;
    case Feature::Edge2: normal = sign.edge[3 * c.triangle + 2]; break;
    case Feature::Vertex0: normal = sign.vertex[tri[0]]; break;
    case Feature::Vertex1: normal = sign.vertex[tri[1]]; break;
    case Feature::Vertex2: normal = sign.vertex[tri[2]]; break;
    }
    return glm::dot(q - c.pointLps, normal) < 0 ? -c.distanceMm : c.distanceMm;
}

std::vector<SegmentCrossing> MeshBvh::segmentCrossings(glm::dvec3 a, glm::dvec3 b) const {
    std::vector<SegmentCrossing> hits;
    if (nodes_.empty()) return hits;
    const glm::dvec3 dir = b - a;
    const double length = glm::length(dir);
    std::array<std::uint32_t, 64> stack{};
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
        const Node& node = nodes_[stack[--top]];
        if (!segmentHitsBox(a, dir, node.lo, node.hi, 0.0)) continue;
        if (node.count == 0) {
            stack[top++] = node.first;
            stack[top++] = node.first + 1;
            continue;
        }
        for (std::uint32_t i = node.first; i < node.first + node.count; ++i) {
            const std::uint32_t t = order_[i];
            const glm::dvec3 v0 = vertex(i, 0), v1 = vertex(i, 1), v2 = vertex(i, 2);
            double s = 0;
            if (!segmentHitsTriangle(a, dir, v0, v1, v2, s)) continue;
            const bool entering = glm::dot(dir, glm::cross(v1 - v0, v2 - v0)) < 0;
            hits.push_back({s * length, a + dir * s, t, entering});
        }
    }
    std::sort(hits.begin(), hits.end(), [](const SegmentCrossing& l, const SegmentCrossing& r) {
        return l.depthMm < r.depthMm || (l.depthMm == r.depthMm && l.triangle < r.triangle);
    });
    // A crossing through a shared edge or vertex hits several triangles at the same depth: keep
    // one. Mixed directions at one depth mean the segment only touches a ridge: drop the group.
    const double eps = 1e-9 * std::max(1.0, length);
    std::vector<SegmentCrossing> out;
    for (std::size_t i = 0; i < hits.size();) {
        std::size_t j = i;
        int entering = 0, exiting = 0;
        while (j < hits.size() && hits[j].depthMm - hits[i].depthMm <= eps) {
            (hits[j].entering ? entering : exiting)++;
            ++j;
        }
        if (entering == 0 || exiting == 0) out.push_back(hits[i]);
        i = j;
    }
    return out;
}

SegmentClosest MeshBvh::closestToSegment(glm::dvec3 a, glm::dvec3 b) const {
    SegmentClosest best;
    if (nodes_.empty()) return best;
    // A crossing segment touches at its first crossing; the crossing search only visits boxes the
    // segment passes through, far cheaper than the distance search.
    if (const auto crossings = segmentCrossings(a, b); !crossings.empty()) {
        const SegmentCrossing& c = crossings.front();
        return {0.0, c.pointLps, c.pointLps, c.depthMm, c.triangle};
    }
    const glm::dvec3 dir = b - a, mid = (a + b) * 0.5;
    double bestD = kInf;
    std::array<std::uint32_t, 64> stack{};
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
        const Node& node = nodes_[stack[--top]];
        // Box grown by the best distance so far (in every axis) contains every point nearer than
        // it, so a segment missing the grown box cannot improve.
        if (!segmentHitsBox(a, dir, node.lo, node.hi, bestD < kInf ? bestD : 1e300)) continue;
        if (node.count == 0) {
            const Node &l = nodes_[node.first], &r = nodes_[node.first + 1];
            const double dl = pointBoxDistance2(mid, l.lo, l.hi);
            const double dr = pointBoxDistance2(mid, r.lo, r.hi);
            stack[top++] = dl <= dr ? node.first + 1 : node.first;
            stack[top++] = dl <= dr ? node.first : node.first + 1;
            continue;
        }
        for (std::uint32_t i = node.first; i < node.first + node.count; ++i) {
            const std::uint32_t t = order_[i];
            const SegTri st = segmentTriangle(a, b, vertex(i, 0), vertex(i, 1), vertex(i, 2));
            const double d = std::sqrt(st.distance2);
            // Among crossings (d == 0), the one nearest A is "the" closest approach.
            if (d < bestD || (d == 0 && bestD == 0 && st.s * glm::length(dir) < best.depthMm)) {
                bestD = d;
                best = {d, st.onSegment, st.onTriangle, st.s * glm::length(dir), t};
            }
        }
    }
    return best;
}

std::vector<std::uint32_t> MeshBvh::trianglesInCapsule(glm::dvec3 a, glm::dvec3 b,
                                                       double radiusMm) const {
    std::vector<std::uint32_t> out;
    if (nodes_.empty()) return out;
    const glm::dvec3 dir = b - a;
    const double r2 = radiusMm * radiusMm;
    std::array<std::uint32_t, 64> stack{};
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
        const Node& node = nodes_[stack[--top]];
        if (!segmentHitsBox(a, dir, node.lo, node.hi, radiusMm)) continue;
        if (node.count == 0) {
            stack[top++] = node.first;
            stack[top++] = node.first + 1;
            continue;
        }
        for (std::uint32_t i = node.first; i < node.first + node.count; ++i) {
            const std::uint32_t t = order_[i];
            const SegTri st = segmentTriangle(a, b, vertex(i, 0), vertex(i, 1), vertex(i, 2));
            if (st.distance2 <= r2) out.push_back(t);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

CapsuleHits MeshBvh::capsuleQuery(glm::dvec3 aLps, glm::dvec3 bLps, double radiusMm) const {
    CapsuleHits hits;
    hits.triangles = trianglesInCapsule(aLps, bLps, radiusMm);
    hits.crossings = segmentCrossings(aLps, bLps);
    hits.closest = closestToSegment(aLps, bLps);
    return hits;
}

} // namespace precis::anatomy
