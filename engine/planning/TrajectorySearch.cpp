#include "planning/TrajectorySearch.h"

#include "core/Parallel.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <random>
#include <sstream>

namespace precis::planning {
namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

Result<std::vector<double>> numbers(const std::string& text, std::size_t count,
                                    const std::string& what) {
    std::vector<double> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        double v = 0;
        const auto* end = item.data() + item.size();
        auto [ptr, ec] = std::from_chars(item.data(), end, v);
        if (ec != std::errc{} || ptr != end || !std::isfinite(v)) {
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("region \"{}\": \"{}\" is not a number", what, item));
        }
        out.push_back(v);
    }
    if (out.size() != count) {
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("region \"{}\" needs {} comma-separated numbers", what, count));
    }
    return out;
}

bool inRegion(const SkinRegion& r, const glm::dvec3& p, const glm::dvec3& normal,
              const glm::dvec3& target) {
    if (glm::dot(normal, r.facing) < r.minFacing) return false;
    if (r.boxMinLps && r.boxMaxLps &&
        (glm::any(glm::lessThan(p, *r.boxMinLps)) || glm::any(glm::greaterThan(p, *r.boxMaxLps)))) {
        return false;
    }
    if (r.sphereCenterLps && glm::length(p - *r.sphereCenterLps) > r.sphereRadiusMm) return false;
    if (r.coneAxis) {
        const glm::dvec3 d = p - target;
        const double len = glm::length(d);
        if (len <= 0) return false;
        const double cosAngle = glm::dot(d / len, glm::normalize(*r.coneAxis));
        if (cosAngle < std::cos(r.coneMaxDeg * std::numbers::pi / 180.0)) return false;
    }
    if (r.side != 0 && (p.x - target.x) * r.side < 0) return false;
    return true;
}

} // namespace

std::vector<std::string> intendedContactAt(const SafetyScene& scene, const glm::dvec3& targetLps,
                                           const model::Device& device) {
    std::vector<std::string> out;
    for (const auto& st : scene.structures()) {
        const double reach =
            device.radiusMm() + (st.structure.kind == model::StructureKind::Bone ? 3.0 : 1.0);
        const auto cp = st.bvh.closestPoint(targetLps, reach);
        const bool inside = cp.triangle == anatomy::kNoTriangle && st.bvh.closed() &&
                            st.bvh.signedDistanceMm(targetLps) < 0;
        if (cp.triangle != anatomy::kNoTriangle || inside) out.push_back(st.structure.name);
    }
    return out;
}

Result<SkinRegion> parseSkinRegion(const std::string& text) {
    SkinRegion region;
    std::stringstream ss(text);
    std::string part;
    while (std::getline(ss, part, '+')) {
        if (part == "posterior" || part.empty()) continue;
        if (part == "left" || part == "right") {
            region.side = part == "left" ? 1 : -1;
        } else if (part.starts_with("box:")) {
            auto v = numbers(part.substr(4), 6, part);
            if (!v) return std::unexpected(v.error());
            const auto& n = *v;
            region.boxMinLps = glm::min(glm::dvec3(n[0], n[1], n[2]), glm::dvec3(n[3], n[4], n[5]));
            region.boxMaxLps = glm::max(glm::dvec3(n[0], n[1], n[2]), glm::dvec3(n[3], n[4], n[5]));
        } else if (part.starts_with("sphere:")) {
            auto v = numbers(part.substr(7), 4, part);
            if (!v) return std::unexpected(v.error());
            const auto& n = *v;
            if (n[3] <= 0) {
                return fail(ErrorCode::InvalidArgument,
                            fmt::format("region \"{}\": the radius must be positive", part));
            }
            region.sphereCenterLps = glm::dvec3(n[0], n[1], n[2]);
            region.sphereRadiusMm = n[3];
        } else {
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("unknown region \"{}\": use posterior, left, right, "
                                    "box:x0,y0,z0,x1,y1,z1 or sphere:x,y,z,r (join with '+')",
                                    part));
        }
    }
    return region;
}

void TrajectorySearch::score(Candidate& c) const {
    const glm::dvec3 path[2] = {c.entryLps, request_.targetLps};
    c.terms = riskTerms(*scene_, path, request_.device.radiusMm(), tipZoneMm_);
    // The fields are conservative by up to about one coarse voxel, so only clearly blocked or
    // piercing paths are dropped here; the exact evaluation in rank() decides the rest.
    c.feasible = c.terms.lengthMm <= request_.device.usableLengthMm &&
                 c.terms.minBoneShaftMm > -1.0 && c.terms.minMustAvoidShaftMm > -1.0;
}

model::Trajectory TrajectorySearch::trajectoryFor(const glm::dvec3& entry) const {
    model::Trajectory t = request_.prototype;
    t.entryLps = entry;
    t.targetLps = request_.targetLps;
    t.deviceId = request_.device.id;
    t.controlPointsLps.clear();
    t.insertionDepthMm = 0.0;
    return t;
}

Result<TrajectorySearch> TrajectorySearch::run(const SafetyScene& scene,
                                               const SearchRequest& request,
                                               const Progress& progress) {
    if (scene.mustAvoidField().empty() || scene.skin().empty()) {
        return fail(ErrorCode::InvalidArgument,
                    "the trajectory search needs a scene with distance fields and a skin surface");
    }
    if (request.device.usableLengthMm <= 0.0) {
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("device \"{}\" has no usable length", request.device.id));
    }
    TrajectorySearch search(scene, request);
    search.tipZoneMm_ = tipZoneMm(request.device, request.settings);
    const auto start = Clock::now();

    const model::Mesh& skin = scene.skin(); // has per-vertex normals (SafetyScene::build)
    const glm::dvec3 target = request.targetLps;
    const double maxLen = request.device.usableLengthMm;
    auto admissible = [&](const glm::dvec3& p, const glm::dvec3& n) {
        return glm::length(p - target) <= maxLen && inRegion(request.region, p, n, target);
    };
    for (std::size_t v = 0; v < skin.positions.size(); ++v) {
        const glm::dvec3 p(skin.positions[v]);
        if (admissible(p, glm::dvec3(skin.normals[v]))) {
            search.candidates_.push_back({p, static_cast<std::int64_t>(v), {}, false});
        }
    }
    // Top up with points on the skin triangles of the region (fixed seed: same answer each run).
    if (search.candidates_.size() < request.minCandidates) {
        std::vector<std::uint32_t> tris;
        std::vector<double> cumulativeArea;
        double area = 0.0;
        for (std::size_t t = 0; t < skin.triangleCount(); ++t) {
            const glm::dvec3 a(skin.positions[skin.indices[3 * t]]);
            const glm::dvec3 b(skin.positions[skin.indices[3 * t + 1]]);
            const glm::dvec3 c(skin.positions[skin.indices[3 * t + 2]]);
            const glm::dvec3 n = glm::cross(b - a, c - a);
            const double len = glm::length(n);
            if (len <= 0 || !admissible((a + b + c) / 3.0, n / len)) continue;
            area += 0.5 * len;
            tris.push_back(static_cast<std::uint32_t>(t));
            cumulativeArea.push_back(area);
        }
        if (!tris.empty()) {
            std::mt19937_64 rng(12345);
            std::uniform_real_distribution<double> u01(0.0, 1.0);
            std::size_t attempts = 0;
            while (search.candidates_.size() < request.minCandidates &&
                   attempts++ < 4 * request.minCandidates) {
                const double pick = u01(rng) * area;
                const std::size_t k = static_cast<std::size_t>(
                    std::lower_bound(cumulativeArea.begin(), cumulativeArea.end(), pick) -
                    cumulativeArea.begin());
                const std::uint32_t t = tris[std::min(k, tris.size() - 1)];
                double s1 = u01(rng), s2 = u01(rng);
                if (s1 + s2 > 1.0) {
                    s1 = 1.0 - s1;
                    s2 = 1.0 - s2;
                }
                const glm::dvec3 a(skin.positions[skin.indices[3 * t]]);
                const glm::dvec3 b(skin.positions[skin.indices[3 * t + 1]]);
                const glm::dvec3 c(skin.positions[skin.indices[3 * t + 2]]);
                const glm::dvec3 p = a + (b - a) * s1 + (c - a) * s2;
                const glm::dvec3 n = glm::normalize(glm::cross(b - a, c - a));
                if (admissible(p, n)) search.candidates_.push_back({p, -1, {}, false});
            }
        }
    }
    if (search.candidates_.empty()) {
        return fail(ErrorCode::NotFound,
                    fmt::format("no skin lies in the allowed region within the device's {:.0f} mm "
                                "of the target: widen the region or choose a longer device",
                                maxLen));
    }
    progress.report(0.1, "Scoring candidate entries");
    std::atomic<bool> cancelled{false};
    parallelFor(0, search.candidates_.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            if ((i & 1023) == 0 && progress.cancelled()) {
                cancelled = true;
                return;
            }
            search.score(search.candidates_[i]);
        }
    });
    if (cancelled) return fail(ErrorCode::Cancelled, "the trajectory search was cancelled");
    search.timing_.candidates = search.candidates_.size();
    search.timing_.scoreSeconds = secondsSince(start);

    // Local refinement of the best feasible candidates: pattern search over the skin (move in
    // the tangent plane, project back with the skin BVH), halving the step when nothing improves.
    const auto refineStart = Clock::now();
    progress.report(0.7, "Refining the best entries");
    const RiskWeights defaults;
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < search.candidates_.size(); ++i) {
        if (search.candidates_[i].feasible) order.push_back(i);
    }
    search.timing_.feasible = order.size();
    const std::size_t nRefine = std::min(request.refine, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(nRefine),
                      order.end(), [&](std::size_t a, std::size_t b) {
                          return riskScore(search.candidates_[a].terms, defaults) <
                                 riskScore(search.candidates_[b].terms, defaults);
                      });
    std::vector<Candidate> refined(nRefine);
    parallelFor(0, nRefine, [&](std::size_t b, std::size_t e) {
        for (std::size_t n = b; n < e; ++n) {
            Candidate best = search.candidates_[order[n]];
            best.skinVertex = -1;
            double bestScore = riskScore(best.terms, defaults);
            double step = 4.0;
            while (step >= 0.25) {
                bool improved = false;
                const glm::dvec3 axis = glm::normalize(best.entryLps - target);
                const glm::dvec3 helper =
                    std::abs(axis.z) < 0.9 ? glm::dvec3(0, 0, 1) : glm::dvec3(1, 0, 0);
                const glm::dvec3 u = glm::normalize(glm::cross(axis, helper));
                const glm::dvec3 v = glm::cross(axis, u);
                for (int k = 0; k < 8; ++k) {
                    const double a = k * std::numbers::pi / 4.0;
                    const glm::dvec3 moved = best.entryLps + step * (std::cos(a) * u + std::sin(a) * v);
                    const auto onSkin = scene.skinBvh().closestPoint(moved);
                    if (onSkin.triangle == anatomy::kNoTriangle) continue;
                    const std::uint32_t t = onSkin.triangle;
                    const glm::dvec3 p0(skin.positions[skin.indices[3 * t]]);
                    const glm::dvec3 p1(skin.positions[skin.indices[3 * t + 1]]);
                    const glm::dvec3 p2(skin.positions[skin.indices[3 * t + 2]]);
                    const glm::dvec3 nrm = glm::normalize(glm::cross(p1 - p0, p2 - p0));
                    if (!admissible(onSkin.pointLps, nrm)) continue;
                    Candidate c{onSkin.pointLps, -1, {}, false};
                    search.score(c);
                    if (!c.feasible) continue;
                    const double sc = riskScore(c.terms, defaults);
                    if (sc < bestScore - 1e-9) {
                        best = c;
                        bestScore = sc;
                        improved = true;
                    }
                }
                if (!improved) step *= 0.5;
            }
            refined[n] = best;
        }
    });
    for (Candidate& c : refined) search.candidates_.push_back(c);
    search.timing_.refineSeconds = secondsSince(refineStart);
    progress.report(1.0, "Candidates scored");
    return search;
}

std::vector<Suggestion> TrajectorySearch::rank(const RiskWeights& weights, std::size_t topN) {
    const auto start = Clock::now();
    std::vector<std::pair<double, std::size_t>> scored;
    scored.reserve(candidates_.size());
    for (std::size_t i = 0; i < candidates_.size(); ++i) {
        if (candidates_[i].feasible) scored.emplace_back(riskScore(candidates_[i].terms, weights), i);
    }
    std::ranges::sort(scored);
    std::vector<Suggestion> out;
    std::size_t exact = 0;
    constexpr std::size_t kMaxExact = 400;
    for (const auto& [score, i] : scored) {
        if (out.size() >= topN || exact >= kMaxExact) break;
        const Candidate& c = candidates_[i];
        // Suggestions should differ: skip entries within 3 mm of one already taken.
        const bool duplicate = std::ranges::any_of(out, [&](const Suggestion& s) {
            return glm::length(s.trajectory.entryLps - c.entryLps) < 3.0;
        });
        if (duplicate) continue;
        model::Trajectory t = trajectoryFor(c.entryLps);
        ++exact;
        TrajectoryEvaluation ev = evaluateTrajectory(*scene_, t, request_.device, request_.settings);
        if (!ev.collisions.empty() || ev.verdict == Verdict::Red) continue;
        ev.riskScore = score;
        out.push_back({std::move(t), std::move(ev), c.terms});
    }
    timing_.exactEvaluations = exact;
    timing_.rankSeconds = secondsSince(start);
    return out;
}

std::vector<float> TrajectorySearch::riskMap(const RiskWeights& weights) const {
    std::vector<float> map(scene_->skin().positions.size(), std::numeric_limits<float>::quiet_NaN());
    for (const Candidate& c : candidates_) {
        if (c.skinVertex < 0 || !c.feasible) continue;
        map[static_cast<std::size_t>(c.skinVertex)] = static_cast<float>(riskScore(c.terms, weights));
    }
    return map;
}

} // namespace precis::planning
