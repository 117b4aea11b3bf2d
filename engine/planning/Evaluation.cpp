#include "planning/Evaluation.h"

#include "planning/Risk.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace precis::planning {
namespace {

constexpr double kRadToDeg = 180.0 / std::numbers::pi;

struct PathIndex {
    std::vector<glm::dvec3> points;
    std::vector<double> depths; // cumulative depth of each point
    [[nodiscard]] double length() const { return depths.empty() ? 0.0 : depths.back(); }
    [[nodiscard]] glm::dvec3 at(double depth) const {
        for (std::size_t i = 1; i < points.size(); ++i) {
            if (depth <= depths[i] || i + 1 == points.size()) {
                const double len = depths[i] - depths[i - 1];
                const double u = len > 0 ? std::clamp((depth - depths[i - 1]) / len, 0.0, 1.0) : 0.0;
                return points[i - 1] + (points[i] - points[i - 1]) * u;
            }
        }
        return points.empty() ? glm::dvec3(0.0) : points.front();
    }
};

PathIndex indexPath(std::vector<glm::dvec3> points) {
    PathIndex p;
    p.points = std::move(points);
    double d = 0.0;
    for (std::size_t i = 0; i < p.points.size(); ++i) {
        if (i > 0) d += glm::length(p.points[i] - p.points[i - 1]);
        p.depths.push_back(d);
    }
    return p;
}

/// `names` holds structure names or "kind:<kind>".
bool matchesName(const std::vector<std::string>& names, const model::Structure& s) {
    for (const std::string& want : names) {
        if (want == s.name) return true;
        if (want.starts_with("kind:") && want.substr(5) == model::toString(s.kind)) return true;
    }
    return false;
}

bool matchesIntended(const model::Trajectory& t, const model::Structure& s) {
    return matchesName(t.intendedContact, s);
}

/// Depth intervals where the shaft touches or enters the structure: sampled every 0.25 mm, each
/// boundary refined by bisection to about 1 micrometre. Inside-ness comes from the exact
/// segment-surface crossings (parity), nearness from a closest-point search bounded by r, so each
/// sample costs a few microseconds.
std::vector<std::pair<double, double>> contactIntervals(const SceneStructure& s,
                                                        const PathIndex& path, double r) {
    std::vector<std::pair<double, double>> out;
    const double total = path.length();
    if (total <= 0.0) return out;
    std::vector<double> crossings; // depths along the whole path
    for (std::size_t i = 1; i < path.points.size(); ++i) {
        for (const auto& c : s.bvh.segmentCrossings(path.points[i - 1], path.points[i])) {
            crossings.push_back(path.depths[i - 1] + c.depthMm);
        }
    }
    std::ranges::sort(crossings);
    const bool startInside =
        s.bvh.closed() && s.bvh.signedDistanceMm(path.points.front()) < 0.0;
    auto touching = [&](double depth) {
        const auto below = std::ranges::lower_bound(crossings, depth) - crossings.begin();
        if (startInside != (below % 2 == 1)) return true;
        return s.bvh.closestPoint(path.at(depth), r).distanceMm < r;
    };
    const int n = std::max(2, static_cast<int>(std::ceil(total / 0.25)));
    auto refine = [&](double lo, double hi, bool loTouching) {
        for (int it = 0; it < 18; ++it) {
            const double mid = 0.5 * (lo + hi);
            (touching(mid) == loTouching ? lo : hi) = mid;
        }
        return 0.5 * (lo + hi);
    };
    bool prev = touching(0.0);
    double start = 0.0;
    double prevDepth = 0.0;
    for (int i = 1; i <= n; ++i) {
        const double depth = total * i / n;
        const bool now = touching(depth);
        if (now != prev) {
            const double edge = refine(prevDepth, depth, prev);
            if (now) {
                start = edge;
            } else {
                out.emplace_back(start, edge);
            }
            prev = now;
        }
        prevDepth = depth;
    }
    if (prev) out.emplace_back(start, total);
    return out;
}

/// Does the segment pass within `marginMm` (per axis) of the box? Slab test on the grown box:
/// conservative, so a false answer means the structure is certainly farther than the margin.
bool segmentNearBox(const glm::dvec3& a, const glm::dvec3& b, const model::Bounds& box,
                    double marginMm) {
    const glm::dvec3 lo = box.minMm - marginMm, hi = box.maxMm + marginMm;
    double t0 = 0.0, t1 = 1.0;
    const glm::dvec3 d = b - a;
    for (int k = 0; k < 3; ++k) {
        if (std::abs(d[k]) < 1e-12) {
            if (a[k] < lo[k] || a[k] > hi[k]) return false;
            continue;
        }
        double u0 = (lo[k] - a[k]) / d[k], u1 = (hi[k] - a[k]) / d[k];
        if (u0 > u1) std::swap(u0, u1);
        t0 = std::max(t0, u0);
        t1 = std::min(t1, u1);
        if (t0 > t1) return false;
    }
    return true;
}

/// Closest points between segments p0p1 and q0q1 (Ericson, Real-Time Collision Detection 5.1.9).
double segmentDistance(glm::dvec3 p0, glm::dvec3 p1, glm::dvec3 q0, glm::dvec3 q1,
                       glm::dvec3* mid) {
    const glm::dvec3 d1 = p1 - p0, d2 = q1 - q0, r = p0 - q0;
    const double a = glm::dot(d1, d1), e = glm::dot(d2, d2), f = glm::dot(d2, r);
    double s = 0.0, t = 0.0;
    if (a <= 1e-12 && e <= 1e-12) {
        s = t = 0.0;
    } else if (a <= 1e-12) {
        t = std::clamp(f / e, 0.0, 1.0);
    } else {
        const double c = glm::dot(d1, r);
        if (e <= 1e-12) {
            s = std::clamp(-c / a, 0.0, 1.0);
        } else {
            const double b = glm::dot(d1, d2), denom = a * e - b * b;
            s = denom > 1e-12 ? std::clamp((b * f - c * e) / denom, 0.0, 1.0) : 0.0;
            t = (b * s + f) / e;
            if (t < 0.0) {
                t = 0.0;
                s = std::clamp(-c / a, 0.0, 1.0);
            } else if (t > 1.0) {
                t = 1.0;
                s = std::clamp((b - c) / a, 0.0, 1.0);
            }
        }
    }
    const glm::dvec3 c1 = p0 + d1 * s, c2 = q0 + d2 * t;
    if (mid != nullptr) *mid = 0.5 * (c1 + c2);
    return glm::length(c1 - c2);
}

std::string fmtMm(double v) { return fmt::format("{:.1f} mm", v); }

} // namespace

double tipZoneMm(const model::Device& device, const model::SafetySettings& settings) {
    double zone = std::max(settings.tipContactZoneMm, device.activeTipMm);
    for (const model::Contact& c : device.contacts) zone = std::max(zone, c.offsetMm + c.lengthMm);
    return zone;
}

std::string_view toString(Verdict v) {
    switch (v) {
    case Verdict::Green: return "green";
    case Verdict::Amber: return "amber";
    case Verdict::Red: return "red";
    }
    return "red";
}

TrajectoryEvaluation evaluateTrajectory(const SafetyScene& scene, const model::Trajectory& t,
                                        const model::Device& device,
                                        const model::SafetySettings& settings,
                                        const EvaluateOptions& options) {
    TrajectoryEvaluation ev;
    ev.name = t.name;
    ev.deviceId = t.deviceId;
    ev.entryLps = t.entryLps;
    ev.targetLps = t.targetLps;
    const PathIndex path = indexPath(model::devicePath(t));
    ev.tipLps = path.points.back();
    ev.lengthMm = path.length();
    ev.usableLengthMm = device.usableLengthMm;
    const double r = device.radiusMm();
    const double tipZone = tipZoneMm(device, settings);
    const bool lead = model::isLead(device.type);

    // Angles of the insertion (first segment: the needle, also for a lead's introducer).
    const glm::dvec3 seg = path.points[1] - path.points[0];
    if (glm::length(seg) > 0) {
        const glm::dvec3 dir = glm::normalize(seg);
        ev.angleToAxialDeg = std::asin(std::min(1.0, std::abs(dir.z))) * kRadToDeg;
        ev.angleToSagittalDeg = std::asin(std::min(1.0, std::abs(dir.x))) * kRadToDeg;
        if (options.viewDirection) {
            const glm::dvec3 view = glm::normalize(*options.viewDirection);
            ev.angleToViewDeg =
                std::acos(std::min(1.0, std::abs(glm::dot(dir, view)))) * kRadToDeg;
        }
    }

    bool red = false, amber = false;
    if (ev.lengthMm <= 0.0) {
        red = true;
        ev.reasons.push_back("entry and target coincide: the path has no length");
    }
    for (const SceneStructure& s : scene.structures()) {
        const auto role = s.structure.role;
        if (role != model::StructureRole::MustAvoid && role != model::StructureRole::Caution) continue;
        // Closest approach of the axis over every segment.
        anatomy::SegmentClosest best;
        double bestDepth = 0.0;
        for (std::size_t i = 1; i < path.points.size(); ++i) {
            if (!segmentNearBox(path.points[i - 1], path.points[i], s.bounds,
                                r + options.clearanceReportMm)) {
                continue;
            }
            // A crossing settles it at distance 0 (a ray-like query, much cheaper than the
            // segment-to-surface distance, which only paths that miss the structure need).
            const auto crossings = s.bvh.segmentCrossings(path.points[i - 1], path.points[i]);
            if (!crossings.empty()) {
                const auto& x = crossings.front();
                best = {0.0, x.pointLps, x.pointLps, x.depthMm, x.triangle};
                bestDepth = path.depths[i - 1] + x.depthMm;
                break;
            }
            const auto c = s.bvh.closestToSegment(path.points[i - 1], path.points[i]);
            if (c.distanceMm < best.distanceMm) {
                best = c;
                bestDepth = path.depths[i - 1] + c.depthMm;
            }
        }
        if (!std::isfinite(best.distanceMm)) continue;
        if (best.distanceMm - r > options.clearanceReportMm) continue;
        Clearance cl{s.structure.name, s.structure.kind, role, std::max(0.0, best.distanceMm - r),
                     best.onMeshLps, best.onSegmentLps, bestDepth};
        if (best.distanceMm < r) {
            for (const auto& [in, out] : contactIntervals(s, path, r)) {
                Collision c{s.structure.name, s.structure.kind, role, in, out, false};
                c.intended = matchesIntended(t, s.structure) && in >= ev.lengthMm - tipZone;
                (c.intended ? ev.intendedContacts : ev.collisions).push_back(c);
            }
            cl.minMm = 0.0;
        }
        ev.clearances.push_back(cl);
    }
    std::ranges::sort(ev.collisions, {}, &Collision::entryDepthMm);
    std::ranges::sort(ev.clearances, {}, &Clearance::minMm);

    for (const Collision& c : ev.collisions) {
        const std::string where =
            fmt::format("{} at {:.1f}-{:.1f} mm depth", c.structure, c.entryDepthMm, c.exitDepthMm);
        if (c.role == model::StructureRole::MustAvoid) {
            red = true;
            ev.reasons.push_back(fmt::format("crosses must-avoid {}", where));
        } else if (c.kind == model::StructureKind::Bone && !lead) {
            red = true;
            ev.reasons.push_back(fmt::format("blocked by bone: {}", where));
        } else {
            amber = true;
            ev.reasons.push_back(fmt::format("crosses caution structure {}", where));
        }
    }
    for (const Clearance& c : ev.clearances) {
        if (c.role != model::StructureRole::MustAvoid || c.minMm <= 0.0) continue;
        if (c.minMm >= settings.amberClearanceMm) continue;
        // Lying next to a structure the device is meant to reach is the plan, not a near miss.
        const model::Structure near{c.structure, 0, c.kind, c.role, {}};
        if (matchesIntended(t, near) || matchesName(t.expectedNearby, near)) continue;
        amber = true;
        ev.reasons.push_back(fmt::format("passes {} from must-avoid {} (amber under {})",
                                         fmtMm(c.minMm), c.structure,
                                         fmtMm(settings.amberClearanceMm)));
    }
    if (ev.lengthMm > device.usableLengthMm) {
        red = true;
        ev.reasons.push_back(fmt::format("path {} is longer than the device's usable {}",
                                         fmtMm(ev.lengthMm), fmtMm(device.usableLengthMm)));
    }
    const auto& g = scene.geometry();
    for (const auto& [what, p] : {std::pair{"entry", path.points.front()},
                                  std::pair{"tip", path.points.back()}}) {
        const glm::dvec3 ijk = g.indexFromWorld(p);
        bool inside = true;
        for (int a = 0; a < 3; ++a) inside = inside && ijk[a] >= -0.5 && ijk[a] <= g.dims[a] - 0.5;
        if (!inside) {
            amber = true;
            ev.reasons.push_back(fmt::format("the {} lies outside the scan: what is there is unknown",
                                             what));
        }
    }
    if (!scene.skin().empty()) {
        const double offSkin = scene.skinBvh().closestPoint(path.points.front()).distanceMm;
        if (offSkin > 3.0) {
            ev.warnings.push_back(fmt::format("the entry is {} from the skin surface",
                                              fmtMm(offSkin)));
        }
    }
    if (!scene.mustAvoidField().empty()) {
        ev.riskScore = riskScore(riskTerms(scene, path.points, r, tipZone), RiskWeights{});
    }
    ev.verdict = red ? Verdict::Red : amber ? Verdict::Amber : Verdict::Green;
    if (ev.verdict == Verdict::Green) {
        const Clearance* nearest = nullptr;
        for (const Clearance& c : ev.clearances) {
            if (c.role == model::StructureRole::MustAvoid) {
                nearest = &c;
                break;
            }
        }
        ev.reasons.push_back(nearest != nullptr
                                 ? fmt::format("no collision; nearest must-avoid {} at {}",
                                               nearest->structure, fmtMm(nearest->minMm))
                                 : std::string("no collision; no must-avoid structure nearby"));
    }
    return ev;
}

PlanEvaluation evaluatePlan(const SafetyScene& scene, const model::Plan& plan,
                            const model::DeviceCatalog& catalog, const EvaluateOptions& options) {
    PlanEvaluation out;
    for (const model::Trajectory& t : plan.trajectories) {
        const model::Device* device = catalog.find(t.deviceId);
        if (device == nullptr) {
            TrajectoryEvaluation ev;
            ev.name = t.name;
            ev.deviceId = t.deviceId;
            ev.entryLps = t.entryLps;
            ev.targetLps = t.targetLps;
            ev.tipLps = t.targetLps;
            ev.verdict = Verdict::Red;
            ev.reasons.push_back(fmt::format(
                "device \"{}\" is not in the catalogue: choose one from `precis devices`",
                t.deviceId));
            out.trajectories.push_back(std::move(ev));
            continue;
        }
        out.trajectories.push_back(evaluateTrajectory(scene, t, *device, plan.safety, options));
    }
    // Device-device conflicts: shaft surfaces closer than the set distance.
    for (std::size_t a = 0; a < plan.trajectories.size(); ++a) {
        for (std::size_t b = a + 1; b < plan.trajectories.size(); ++b) {
            const auto& ta = plan.trajectories[a];
            const auto& tb = plan.trajectories[b];
            const model::Device* da = catalog.find(ta.deviceId);
            const model::Device* db = catalog.find(tb.deviceId);
            if (da == nullptr || db == nullptr) continue;
            const auto pa = model::devicePath(ta), pb = model::devicePath(tb);
            double best = 1e30;
            glm::dvec3 where{0.0};
            for (std::size_t i = 1; i < pa.size(); ++i) {
                for (std::size_t j = 1; j < pb.size(); ++j) {
                    glm::dvec3 mid;
                    const double d = segmentDistance(pa[i - 1], pa[i], pb[j - 1], pb[j], &mid);
                    if (d < best) {
                        best = d;
                        where = mid;
                    }
                }
            }
            const double gap = std::max(0.0, best - da->radiusMm() - db->radiusMm());
            if (gap < plan.safety.deviceConflictMm) {
                out.conflicts.push_back({ta.name, tb.name, gap, where});
                for (auto* ev : {&out.trajectories[a], &out.trajectories[b]}) {
                    const std::string other = ev == &out.trajectories[a] ? tb.name : ta.name;
                    ev->warnings.push_back(fmt::format("comes within {} of \"{}\"", fmtMm(gap),
                                                       other));
                    if (ev->verdict == Verdict::Green) {
                        ev->verdict = Verdict::Amber;
                        ev->reasons.clear();
                    }
                    ev->reasons.push_back(fmt::format(
                        "device conflict: within {} of \"{}\" (set {})", fmtMm(gap), other,
                        fmtMm(plan.safety.deviceConflictMm)));
                }
            }
        }
    }
    return out;
}

} // namespace precis::planning
