#include "anatomy/Segmentation.h"

#include "anatomy/LabelOps.h"
#include "core/Parallel.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

namespace precis::anatomy {
namespace {

std::string fmt1(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

/// A 2D region of one axial slice: pixel indices within the slice and summary numbers.
struct SliceRegion {
    std::vector<std::int32_t> pixels; // j * nx + i
    double areaMm2 = 0.0;
    glm::dvec2 centroidMm{0.0}; // (i * sx, j * sy)
    double meanHu = 0.0;
};

/// Enclosed background regions (4-connected, not reaching the slice border) of a solid mask
/// slice. `reached` and `stack` are scratch.
std::vector<SliceRegion> sliceHoles(const std::uint8_t* solid, const std::int16_t* hu, int nx,
                                    int ny, glm::dvec2 sp, std::vector<std::int32_t>& mark,
                                    std::vector<std::int32_t>& stack) {
    const std::size_t plane = static_cast<std::size_t>(nx) * ny;
    mark.assign(plane, 0); // 0 = unvisited background, -1 = outside, >0 = hole id
    std::vector<SliceRegion> holes;
    auto flood = [&](std::int32_t start, std::int32_t id, SliceRegion* region) {
        stack.clear();
        stack.push_back(start);
        mark[static_cast<std::size_t>(start)] = id;
        while (!stack.empty()) {
            const std::int32_t v = stack.back();
            stack.pop_back();
            if (region) region->pixels.push_back(v);
            const int i = v % nx, j = v / nx;
            auto visit = [&](int a, int b) {
                const std::size_t w = static_cast<std::size_t>(b) * nx + a;
                if (solid[w] || mark[w] != 0) return;
                mark[w] = id;
                stack.push_back(static_cast<std::int32_t>(w));
            };
            if (i > 0) visit(i - 1, j);
            if (i + 1 < nx) visit(i + 1, j);
            if (j > 0) visit(i, j - 1);
            if (j + 1 < ny) visit(i, j + 1);
        }
    };
    auto seedOutside = [&](int i, int j) {
        const std::size_t v = static_cast<std::size_t>(j) * nx + i;
        if (!solid[v] && mark[v] == 0) flood(static_cast<std::int32_t>(v), -1, nullptr);
    };
    for (int i = 0; i < nx; ++i) {
        seedOutside(i, 0);
        seedOutside(i, ny - 1);
    }
    for (int j = 0; j < ny; ++j) {
        seedOutside(0, j);
        seedOutside(nx - 1, j);
    }
    for (std::size_t v = 0; v < plane; ++v) {
        if (solid[v] || mark[v] != 0) continue;
        SliceRegion r;
        flood(static_cast<std::int32_t>(v), static_cast<std::int32_t>(holes.size()) + 1, &r);
        double sumHu = 0.0;
        glm::dvec2 c(0.0);
        for (std::int32_t p : r.pixels) {
            sumHu += hu[p];
            c += glm::dvec2(p % nx, p / nx);
        }
        const double n = static_cast<double>(r.pixels.size());
        r.areaMm2 = n * sp.x * sp.y;
        r.meanHu = sumHu / n;
        r.centroidMm = c / n * sp;
        holes.push_back(std::move(r));
    }
    return holes;
}

/// In-plane disk offsets (di, dj) with (di sx)^2 + (dj sy)^2 <= r^2.
std::vector<glm::ivec2> diskOffsets(glm::dvec2 sp, double rMm) {
    std::vector<glm::ivec2> out;
    const int ri = static_cast<int>(std::floor(rMm / sp.x)),
              rj = static_cast<int>(std::floor(rMm / sp.y));
    for (int dj = -rj; dj <= rj; ++dj)
        for (int di = -ri; di <= ri; ++di)
            if ((di * sp.x) * (di * sp.x) + (dj * sp.y) * (dj * sp.y) <= rMm * rMm + 1e-9)
                out.emplace_back(di, dj);
    return out;
}

model::Structure makeStructure(const std::string& name, std::uint8_t label,
                               model::StructureKind kind) {
    model::Structure s;
    s.name = name;
    s.label = label;
    s.kind = kind;
    s.role = model::defaultRole(kind);
    s.defaultColor = model::defaultColor(kind);
    return s;
}

class Segmenter {
public:
    Segmenter(const model::Volume& ct, const SegmentationOptions& o, const Progress& p)
        : ct_(ct), o_(o), progress_(p), g_(ct.geometry) {
        nx_ = g_.dims[0];
        ny_ = g_.dims[1];
        nz_ = g_.dims[2];
        plane_ = static_cast<std::size_t>(nx_) * ny_;
        sp2_ = glm::dvec2(g_.spacingMm.x, g_.spacingMm.y);
        voxelMl_ = g_.spacingMm.x * g_.spacingMm.y * g_.spacingMm.z / 1000.0;
    }

    Result<SegmentationResult> run();

private:
    bool step(double fraction, std::string_view stage) {
        progress_.report(fraction, stage);
        return !progress_.cancelled();
    }
    template <class F> Mask where(F&& pred) const {
        Mask m(g_);
        parallelFor(0, m.voxels.size(), [&](std::size_t b, std::size_t e) {
            for (std::size_t v = b; v < e; ++v)
                m.voxels[v] = pred(v) ? 1 : 0;
        });
        return m;
    }
    StructureReport& add(const std::string& name, std::uint8_t label, const std::string& stepText) {
        StructureReport r;
        r.name = name;
        r.label = label;
        r.step = stepText;
        report_.structures.push_back(std::move(r));
        return report_.structures.back();
    }
    void body();
    void skin();
    void bone();
    void canal();
    void lungs();
    void vessels();

    const model::Volume& ct_;
    const SegmentationOptions& o_;
    const Progress& progress_;
    const model::ImageGeometry& g_;
    int nx_ = 0, ny_ = 0, nz_ = 0;
    std::size_t plane_ = 0;
    glm::dvec2 sp2_{1.0};
    double voxelMl_ = 0.0;

    Mask body_, skin_, bone_, canal_, lungs_, vessels_;
    SegmentationReport report_;
};

void Segmenter::body() {
    const auto thr = static_cast<std::int16_t>(std::lround(o_.bodyThresholdHu));
    Mask m = where([&](std::size_t v) { return ct_.voxels[v] > thr; });
    const std::size_t above = countInside(m);
    m = fillHolesPerSlice(m);
    const Components cc = connectedComponents(m, Connectivity::Face);
    const int big = cc.largest();
    std::vector<char> keep(cc.sizes.size(), 0);
    if (big) keep[static_cast<std::size_t>(big)] = 1;
    body_ = where([&](std::size_t v) { return keep[static_cast<std::size_t>(cc.ids[v])] != 0; });
    body_ = fillHoles(body_);
    StructureReport& r = add("body", seglabel::kBody,
                             "HU > " + fmt1(o_.bodyThresholdHu) +
                                 ", holes filled per slice, largest connected component, holes "
                                 "filled in 3D");
    r.voxels = countInside(body_);
    r.volumeMl = static_cast<double>(r.voxels) * voxelMl_;
    if (!big) {
        r.notes.emplace_back("nothing above " + fmt1(o_.bodyThresholdHu) +
                             " HU: is this a CT in HU?");
        return;
    }
    // Share of the dense voxels in the body: low when the table or a second object is large.
    const double share =
        above ? static_cast<double>(std::min(above, cc.sizes[static_cast<std::size_t>(big)])) /
                    static_cast<double>(above)
              : 0.0;
    r.confidence = std::clamp(0.5 + 0.5 * (share - 0.5) / 0.45, 0.3, 1.0);
    if (share < 0.8)
        r.notes.emplace_back("the body is only " + fmt1(100.0 * share) +
                             "% of the dense voxels: check for a second object or the table");
    // Body cut by the side of the field of view: skin there is not real skin.
    std::size_t sideTouch = 0;
    for (int k = 0; k < nz_; ++k)
        for (int j = 0; j < ny_; ++j)
            sideTouch += body_.at(0, j, k) + body_.at(nx_ - 1, j, k);
    for (int k = 0; k < nz_; ++k)
        for (int i = 0; i < nx_; ++i)
            sideTouch += body_.at(i, 0, k) + body_.at(i, ny_ - 1, k);
    if (sideTouch > 0) {
        r.confidence = std::min(r.confidence, 0.7);
        r.notes.emplace_back("the body touches the side of the field of view: the skin surface "
                             "there is the scan's edge");
    }
}

void Segmenter::skin() {
    const Mask inner = erodeMm(body_, o_.skinThicknessMm);
    skin_ = where([&](std::size_t v) { return body_.voxels[v] && !inner.voxels[v]; });
    StructureReport& r =
        add("skin", seglabel::kSkin, "outer " + fmt1(o_.skinThicknessMm) + " mm shell of the body");
    r.voxels = countInside(skin_);
    r.volumeMl = static_cast<double>(r.voxels) * voxelMl_;
    const StructureReport* b = report_.find("body");
    r.confidence = r.voxels ? (b ? b->confidence : 0.5) : 0.0;
}

void Segmenter::bone() {
    const auto thr = static_cast<std::int16_t>(std::lround(o_.boneThresholdHu));
    bone_ = where([&](std::size_t v) { return body_.voxels[v] && ct_.voxels[v] >= thr; });
    // Contrast (enhanced vessels and kidneys, oral contrast in bowel) also passes ~200 HU; bone
    // differs by its cortex. Keep only components with cortical-density voxels.
    std::size_t rejected = 0;
    {
        const auto cortical = static_cast<std::int16_t>(std::lround(o_.corticalHu));
        const Components cc = connectedComponents(bone_, Connectivity::Full);
        std::vector<std::size_t> dense(cc.sizes.size(), 0);
        for (std::size_t v = 0; v < bone_.voxels.size(); ++v)
            if (cc.ids[v] > 0 && ct_.voxels[v] >= cortical)
                ++dense[static_cast<std::size_t>(cc.ids[v])];
        std::vector<char> keep(cc.sizes.size(), 0);
        for (std::size_t i = 1; i < cc.sizes.size(); ++i) {
            keep[i] = dense[i] >= std::max<std::size_t>(10, cc.sizes[i] / 50);
            if (!keep[i]) rejected += cc.sizes[i];
        }
        bone_ =
            where([&](std::size_t v) { return keep[static_cast<std::size_t>(cc.ids[v])] != 0; });
    }
    const std::size_t thresholded = countInside(bone_);
    // Marrow: enclosed holes of the cortical ring whose mean HU says bone, and tiny noise holes.
    const double tinyMm2 = 4.0;
    parallelFor(0, static_cast<std::size_t>(nz_), [&](std::size_t k0, std::size_t k1) {
        std::vector<std::int32_t> mark, stack;
        for (std::size_t k = k0; k < k1; ++k) {
            std::uint8_t* s = bone_.voxels.data() + k * plane_;
            const auto holes =
                sliceHoles(s, ct_.voxels.data() + k * plane_, nx_, ny_, sp2_, mark, stack);
            for (const SliceRegion& h : holes) {
                if (h.meanHu < o_.boneFillHu && h.areaMm2 > tinyMm2) continue;
                for (std::int32_t p : h.pixels)
                    s[p] = 1;
            }
        }
    });
    const std::size_t filled = countInside(bone_) - thresholded;
    const auto minVoxels = static_cast<std::size_t>(std::ceil(o_.minBoneMl / voxelMl_));
    bone_ = removeSmallComponents(bone_, minVoxels, Connectivity::Full);
    StructureReport& r =
        add("bone", seglabel::kBone,
            "HU >= " + fmt1(o_.boneThresholdHu) +
                " inside the body in components with cortex (>= " + fmt1(o_.corticalHu) +
                " HU), marrow holes (mean HU >= " + fmt1(o_.boneFillHu) +
                ") filled per slice, components < " + fmt1(o_.minBoneMl) + " ml dropped");
    r.voxels = countInside(bone_);
    r.volumeMl = static_cast<double>(r.voxels) * voxelMl_;
    r.notes.push_back(fmt1(static_cast<double>(filled) * voxelMl_) + " ml of marrow filled");
    if (rejected > 0)
        r.notes.push_back(fmt1(static_cast<double>(rejected) * voxelMl_) +
                          " ml above the threshold left out: no cortex (contrast in vessels, "
                          "kidneys or bowel)");
    if (r.voxels == 0) {
        r.notes.emplace_back("no bone found");
        return;
    }
    const double bodyMl = static_cast<double>(countInside(body_)) * voxelMl_;
    const double frac = r.volumeMl / std::max(bodyMl, 1e-9);
    // Bone is a few percent to ~20 % of a torso section's volume.
    r.confidence = (frac > 0.005 && frac < 0.3) ? 0.9 : 0.5;
    if (frac >= 0.3)
        r.notes.emplace_back("bone is " + fmt1(100 * frac) +
                             "% of the body: metal, dense contrast or a wrong threshold?");
}

void Segmenter::canal() {
    StructureReport& r0 = add("canal", seglabel::kCanal,
                              "enclosed non-bone hole of the vertebral ring per axial slice, "
                              "tracked along the spine, open levels bridged");
    const std::size_t reportIndex = report_.structures.size() - 1;
    canal_ = Mask(g_);
    if (countInside(bone_) == 0) {
        r0.notes.emplace_back("no bone, so no spinal canal");
        return;
    }
    // Close small gaps of the ring (facet joints, pedicle-lamina junctions) by growing bone in
    // plane; the lumen found is grown back by the same amount afterwards.
    const double gapMm = 1.5;
    const auto disk = diskOffsets(sp2_, gapMm);
    struct Candidate {
        SliceRegion region;
        int k = 0;
    };
    std::vector<std::vector<Candidate>> cands(static_cast<std::size_t>(nz_));
    parallelFor(0, static_cast<std::size_t>(nz_), [&](std::size_t k0, std::size_t k1) {
        std::vector<std::uint8_t> solid(plane_);
        std::vector<std::int32_t> mark, stack;
        for (std::size_t k = k0; k < k1; ++k) {
            const std::uint8_t* b = bone_.voxels.data() + k * plane_;
            std::fill(solid.begin(), solid.end(), 0);
            for (int j = 0; j < ny_; ++j)
                for (int i = 0; i < nx_; ++i) {
                    if (!b[static_cast<std::size_t>(j) * nx_ + i]) continue;
                    for (const glm::ivec2& d : disk) {
                        const int a = i + d.x, c = j + d.y;
                        if (a >= 0 && a < nx_ && c >= 0 && c < ny_)
                            solid[static_cast<std::size_t>(c) * nx_ + a] = 1;
                    }
                }
            const std::int16_t* hu = ct_.voxels.data() + k * plane_;
            auto holes = sliceHoles(solid.data(), hu, nx_, ny_, sp2_, mark, stack);
            for (SliceRegion& h : holes) {
                if (h.areaMm2 < 15.0 || h.areaMm2 > 900.0) continue;
                if (h.meanHu < o_.canalMinHu || h.meanHu > o_.canalMaxHu) continue;
                cands[k].push_back({std::move(h), static_cast<int>(k)});
            }
        }
    });
    if (progress_.cancelled()) return;
    // Seed: the candidate with the most neighbours along z (the canal is a long tube).
    const double sz = g_.spacingMm.z;
    const int window = std::max(1, static_cast<int>(std::lround(20.0 / sz)));
    int seedK = -1, seedC = -1, bestSupport = -1;
    double bestScore = -1e30;
    for (int k = 0; k < nz_; ++k) {
        for (std::size_t c = 0; c < cands[static_cast<std::size_t>(k)].size(); ++c) {
            const auto& a = cands[static_cast<std::size_t>(k)][c].region;
            int support = 0;
            for (int q = std::max(0, k - window); q <= std::min(nz_ - 1, k + window); ++q) {
                if (q == k) continue;
                for (const auto& b : cands[static_cast<std::size_t>(q)])
                    if (glm::length(b.region.centroidMm - a.centroidMm) < 8.0) {
                        ++support;
                        break;
                    }
            }
            const double score = support - std::abs(std::log(a.areaMm2 / 200.0)) * 0.5;
            if (support > bestSupport || (support == bestSupport && score > bestScore)) {
                bestSupport = support;
                bestScore = score;
                seedK = k;
                seedC = static_cast<int>(c);
            }
        }
    }
    if (seedK < 0 || bestSupport < 1) {
        report_.structures[reportIndex].notes.emplace_back(
            "no enclosed canal-like hole in the bone: no spinal canal found");
        return;
    }
    // Track up and down from the seed.
    std::vector<int> chosen(static_cast<std::size_t>(nz_), -1);
    chosen[static_cast<std::size_t>(seedK)] = seedC;
    const double maxGapMm = 36.0;
    for (int dir : {-1, 1}) {
        const SliceRegion* last =
            &cands[static_cast<std::size_t>(seedK)][static_cast<std::size_t>(seedC)].region;
        int lastK = seedK;
        for (int k = seedK + dir; k >= 0 && k < nz_; k += dir) {
            const double gap = std::abs(k - lastK) * sz;
            if (gap > maxGapMm) break;
            const double maxJump = 5.0 + 0.25 * gap;
            int best = -1;
            double bestD = maxJump;
            const auto& ck = cands[static_cast<std::size_t>(k)];
            for (std::size_t c = 0; c < ck.size(); ++c) {
                const double d = glm::length(ck[c].region.centroidMm - last->centroidMm);
                const double ratio = ck[c].region.areaMm2 / last->areaMm2;
                if (d < bestD && ratio > 0.3 && ratio < 3.0) {
                    bestD = d;
                    best = static_cast<int>(c);
                }
            }
            if (best >= 0) {
                chosen[static_cast<std::size_t>(k)] = best;
                last = &ck[static_cast<std::size_t>(best)].region;
                lastK = k;
            }
        }
    }
    int kFirst = nz_, kLast = -1, found = 0;
    for (int k = 0; k < nz_; ++k)
        if (chosen[static_cast<std::size_t>(k)] >= 0) {
            kFirst = std::min(kFirst, k);
            kLast = std::max(kLast, k);
            ++found;
        }
    // Per-slice lumen: found holes grown back by gapMm into non-bone canal-density voxels;
    // open levels: the nearer found section moved along the interpolated centroid path.
    const auto huOk = [&](std::int16_t hu) { return hu >= o_.canalMinHu && hu <= o_.canalMaxHu; };
    // The lumen's edge is where a voxel is at least half canal: half-way between the contents
    // (~0 HU) and the cortex. Voxels below canalWallHu next to the hole are lumen even when the
    // bone threshold took them (partial volume with the cortex).
    const auto wallOk = [&](std::int16_t hu) { return hu >= o_.canalMinHu && hu < o_.canalWallHu; };
    const auto regrow = diskOffsets(sp2_, gapMm + std::max(sp2_.x, sp2_.y));
    constexpr double kOpenMm = 4.5;
    const auto open = diskOffsets(sp2_, kOpenMm);
    std::vector<std::vector<std::int32_t>> section(static_cast<std::size_t>(nz_));
    std::vector<glm::dvec2> centre(static_cast<std::size_t>(nz_), glm::dvec2(0.0));
    parallelFor(0, static_cast<std::size_t>(nz_), [&](std::size_t k0, std::size_t k1) {
        std::vector<std::uint8_t> in(plane_);
        for (std::size_t k = k0; k < k1; ++k) {
            if (chosen[k] < 0) continue;
            const SliceRegion& h = cands[k][static_cast<std::size_t>(chosen[k])].region;
            const std::uint8_t* b = bone_.voxels.data() + k * plane_;
            const std::int16_t* hu = ct_.voxels.data() + k * plane_;
            std::fill(in.begin(), in.end(), 0);
            for (std::int32_t p : h.pixels) {
                const int i = p % nx_, j = p / nx_;
                for (const glm::ivec2& d : regrow) {
                    const int a = i + d.x, c = j + d.y;
                    if (a < 0 || a >= nx_ || c < 0 || c >= ny_) continue;
                    const std::size_t w = static_cast<std::size_t>(c) * nx_ + a;
                    if (wallOk(hu[w]) || (!b[w] && huOk(hu[w]))) in[w] = 1;
                }
                in[static_cast<std::size_t>(p)] = 1;
            }
            // Opening: drop narrow appendages of the ring's hole (root tunnels, foraminal
            // entries) that are not canal; the lumen itself is wider than 2 * kOpenMm.
            std::vector<std::int32_t> eroded;
            for (std::size_t w = 0; w < plane_; ++w) {
                if (!in[w]) continue;
                const int i = static_cast<int>(w % static_cast<std::size_t>(nx_));
                const int j = static_cast<int>(w / static_cast<std::size_t>(nx_));
                bool all = true;
                for (const glm::ivec2& d : open) {
                    const int a = i + d.x, c = j + d.y;
                    if (a < 0 || a >= nx_ || c < 0 || c >= ny_ ||
                        !in[static_cast<std::size_t>(c) * nx_ + a]) {
                        all = false;
                        break;
                    }
                }
                if (all) eroded.push_back(static_cast<std::int32_t>(w));
            }
            std::vector<std::uint8_t> opened(plane_, 0);
            for (std::int32_t p : eroded) {
                const int i = p % nx_, j = p / nx_;
                for (const glm::ivec2& d : open) {
                    const int a = i + d.x, c = j + d.y;
                    if (a >= 0 && a < nx_ && c >= 0 && c < ny_) {
                        const std::size_t w = static_cast<std::size_t>(c) * nx_ + a;
                        opened[w] = in[w];
                    }
                }
            }
            if (eroded.empty()) opened = in; // too small to open: keep as found
            for (std::size_t w = 0; w < plane_; ++w)
                if (opened[w]) section[k].push_back(static_cast<std::int32_t>(w));
            centre[k] = h.centroidMm;
        }
    });
    // Open levels: the INTERSECTION of the two bounding closed sections, each moved onto the
    // interpolated centroid, so side lobes of one ring (lateral recesses, foraminal entries)
    // do not spread through the gap.
    std::vector<std::uint8_t> other(plane_);
    for (int k = kFirst; k <= kLast; ++k) {
        if (chosen[static_cast<std::size_t>(k)] >= 0) continue;
        int a = k, b = k;
        while (chosen[static_cast<std::size_t>(a)] < 0)
            --a;
        while (chosen[static_cast<std::size_t>(b)] < 0)
            ++b;
        const double t = static_cast<double>(k - a) / (b - a);
        const glm::dvec2 c =
            centre[static_cast<std::size_t>(a)] * (1 - t) + centre[static_cast<std::size_t>(b)] * t;
        auto shiftOf = [&](int src) {
            const glm::dvec2 d = (c - centre[static_cast<std::size_t>(src)]) / sp2_;
            return glm::ivec2(static_cast<int>(std::lround(d.x)),
                              static_cast<int>(std::lround(d.y)));
        };
        std::fill(other.begin(), other.end(), 0);
        const glm::ivec2 sb = shiftOf(b), sa = shiftOf(a);
        for (std::int32_t p : section[static_cast<std::size_t>(b)]) {
            const int i = p % nx_ + sb.x, j = p / nx_ + sb.y;
            if (i >= 0 && i < nx_ && j >= 0 && j < ny_)
                other[static_cast<std::size_t>(j) * nx_ + i] = 1;
        }
        const std::size_t base = static_cast<std::size_t>(k) * plane_;
        for (std::int32_t p : section[static_cast<std::size_t>(a)]) {
            const int i = p % nx_ + sa.x, j = p / nx_ + sa.y;
            if (i < 0 || i >= nx_ || j < 0 || j >= ny_) continue;
            const std::size_t w = static_cast<std::size_t>(j) * nx_ + i;
            if (!other[w]) continue;
            const std::int16_t hu = ct_.voxels[base + w];
            if (wallOk(hu) || (!bone_.voxels[base + w] && huOk(hu))) canal_.voxels[base + w] = 1;
        }
    }
    for (int k = kFirst; k <= kLast; ++k)
        for (std::int32_t p : section[static_cast<std::size_t>(k)])
            canal_.voxels[static_cast<std::size_t>(k) * plane_ + static_cast<std::size_t>(p)] = 1;
    // Beyond the last closed ring at either end (the ring is open above a pedicle level and in
    // the lower sacrum) the canal goes on while the spine does: extend the end section by up to
    // extendMm while bone lies within boneNearMm of it and most of it still has canal density.
    const double extendMm = 20.0, boneNearMm = 25.0;
    int extended = 0;
    for (int dir : {-1, 1}) {
        const int end = dir < 0 ? kFirst : kLast;
        const auto& sec = section[static_cast<std::size_t>(end)];
        if (sec.empty()) continue;
        const glm::dvec2 c = centre[static_cast<std::size_t>(end)];
        const int ci = static_cast<int>(std::lround(c.x / sp2_.x));
        const int cj = static_cast<int>(std::lround(c.y / sp2_.y));
        const int ri = static_cast<int>(boneNearMm / sp2_.x),
                  rj = static_cast<int>(boneNearMm / sp2_.y);
        for (int k = end + dir; k >= 0 && k < nz_ && std::abs(k - end) * sz <= extendMm; k += dir) {
            const std::size_t base = static_cast<std::size_t>(k) * plane_;
            bool boneNear = false;
            for (int j = std::max(0, cj - rj); j <= std::min(ny_ - 1, cj + rj) && !boneNear; ++j)
                for (int i = std::max(0, ci - ri); i <= std::min(nx_ - 1, ci + ri); ++i)
                    if (bone_.voxels[base + static_cast<std::size_t>(j) * nx_ + i]) {
                        boneNear = true;
                        break;
                    }
            if (!boneNear) break;
            std::size_t ok = 0;
            for (std::int32_t p : sec) {
                const std::size_t w = base + static_cast<std::size_t>(p);
                if (wallOk(ct_.voxels[w]) || (!bone_.voxels[w] && huOk(ct_.voxels[w]))) ++ok;
            }
            if (2 * ok < sec.size()) break;
            for (std::int32_t p : sec) {
                const std::size_t w = base + static_cast<std::size_t>(p);
                if (wallOk(ct_.voxels[w]) || (!bone_.voxels[w] && huOk(ct_.voxels[w])))
                    canal_.voxels[w] = 1;
            }
            ++extended;
        }
    }
    canal_ = keepLargestComponent(canal_, Connectivity::Full);

    StructureReport& r = report_.structures[reportIndex];
    r.voxels = countInside(canal_);
    r.volumeMl = static_cast<double>(r.voxels) * voxelMl_;
    const int span = kLast - kFirst + 1;
    const double closedShare = static_cast<double>(found) / span;
    r.notes.push_back("traced over " + fmt1(span * sz) + " mm (" + std::to_string(span) +
                      " slices); closed bony ring in " + fmt1(100.0 * closedShare) +
                      "% of them, the rest bridged; extended " + fmt1(extended * sz) +
                      " mm past the end rings");
    r.confidence = std::clamp(0.4 + closedShare, 0.0, 0.95);
    if (span * sz < 60.0) {
        r.confidence = std::min(r.confidence, 0.5);
        r.notes.emplace_back("short canal: check that the spine is in the scan");
    }
}

void Segmenter::lungs() {
    const auto thr = static_cast<std::int16_t>(std::lround(o_.lungThresholdHu));
    Mask air = where([&](std::size_t v) { return body_.voxels[v] && ct_.voxels[v] < thr; });
    const Components cc = connectedComponents(air, Connectivity::Face);
    const auto minVoxels = static_cast<std::size_t>(std::ceil(o_.minLungMl / voxelMl_));
    std::vector<char> keep(cc.sizes.size(), 0);
    int kept = 0;
    for (std::size_t i = 1; i < cc.sizes.size(); ++i)
        if (cc.sizes[i] >= minVoxels) {
            keep[i] = 1;
            ++kept;
        }
    lungs_ = where([&](std::size_t v) { return keep[static_cast<std::size_t>(cc.ids[v])] != 0; });
    StructureReport& r = add("lungs", seglabel::kLung,
                             "HU < " + fmt1(o_.lungThresholdHu) +
                                 " inside the body, components >= " + fmt1(o_.minLungMl) + " ml");
    r.voxels = countInside(lungs_);
    r.volumeMl = static_cast<double>(r.voxels) * voxelMl_;
    if (kept == 0) {
        r.notes.emplace_back("no lungs in the scan");
        return;
    }
    r.confidence = kept <= 2 ? 0.8 : 0.6;
    r.notes.push_back(std::to_string(kept) + " air component(s); large bowel gas would also "
                                             "qualify: check");
}

void Segmenter::vessels() {
    const Mask nearBone = dilateMm(bone_, 2.5);
    const auto lo = static_cast<std::int16_t>(std::lround(o_.vesselLoHu));
    const auto hi = static_cast<std::int16_t>(std::lround(o_.vesselHiHu));
    Mask m = where([&](std::size_t v) {
        return body_.voxels[v] && !nearBone.voxels[v] && ct_.voxels[v] >= lo && ct_.voxels[v] <= hi;
    });
    const auto minVoxels = static_cast<std::size_t>(std::ceil(o_.minVesselMl / voxelMl_));
    vessels_ = removeSmallComponents(m, minVoxels, Connectivity::Face);
    StructureReport& r =
        add("vessels", seglabel::kVessel,
            fmt1(o_.vesselLoHu) + ".." + fmt1(o_.vesselHiHu) +
                " HU, > 2.5 mm from bone, components >= " + fmt1(o_.minVesselMl) + " ml");
    r.voxels = countInside(vessels_);
    r.volumeMl = static_cast<double>(r.voxels) * voxelMl_;
    if (r.voxels == 0) {
        r.notes.emplace_back("no contrast found");
        return;
    }
    r.confidence = 0.6;
    r.notes.emplace_back("enhancing organs (kidney cortex, bowel wall) can be included: check");
}

Result<SegmentationResult> Segmenter::run() {
    const auto t0 = std::chrono::steady_clock::now();
    auto cancelled = [] { return fail(ErrorCode::Cancelled, "segmentation cancelled"); };
    if (!step(0.0, "body")) return cancelled();
    body();
    if (!step(0.2, "skin")) return cancelled();
    skin();
    if (!step(0.35, "bone")) return cancelled();
    bone();
    if (!step(0.55, "spinal canal")) return cancelled();
    canal();
    if (o_.lungs) {
        if (!step(0.7, "lungs")) return cancelled();
        lungs();
    }
    if (o_.vessels) {
        if (!step(0.8, "vessels")) return cancelled();
        vessels();
    }
    if (!step(0.95, "labels")) return cancelled();

    SegmentationResult out;
    out.labels = model::LabelMap(g_);
    auto paint = [&](const Mask& m, std::uint8_t l) {
        if (!m.voxels.empty()) applyMask(out.labels, m, l);
    };
    paint(body_, seglabel::kBody);
    paint(skin_, seglabel::kSkin);
    paint(lungs_, seglabel::kLung);
    paint(vessels_, seglabel::kVessel);
    paint(bone_, seglabel::kBone);
    paint(canal_, seglabel::kCanal);
    // Final per-label counts (later labels overwrite earlier ones).
    std::array<std::size_t, 256> counts{};
    for (std::uint8_t l : out.labels.voxels)
        ++counts[l];
    using K = model::StructureKind;
    const std::array<std::pair<std::uint8_t, K>, 6> kinds{{{seglabel::kSkin, K::Skin},
                                                           {seglabel::kBody, K::Custom},
                                                           {seglabel::kBone, K::Bone},
                                                           {seglabel::kCanal, K::Canal},
                                                           {seglabel::kLung, K::Lung},
                                                           {seglabel::kVessel, K::Vessel}}};
    for (StructureReport& r : report_.structures) {
        r.voxels = counts[r.label];
        r.volumeMl = static_cast<double>(r.voxels) * voxelMl_;
        if (r.voxels == 0) r.confidence = 0.0;
        if (r.voxels == 0) continue;
        for (const auto& [l, kind] : kinds)
            if (l == r.label) out.structures.push_back(makeStructure(r.name, l, kind));
    }
    report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.report = std::move(report_);
    progress_.report(1.0, "segmentation done");
    return out;
}

} // namespace

const StructureReport* SegmentationReport::find(const std::string& name) const {
    for (const StructureReport& r : structures)
        if (r.name == name) return &r;
    return nullptr;
}

Result<SegmentationResult> segmentCt(const model::Volume& ct, const SegmentationOptions& options,
                                     const Progress& progress) {
    if (ct.voxels.empty() || ct.voxels.size() != ct.geometry.voxelCount())
        return fail(ErrorCode::InvalidArgument, "cannot segment: the CT volume is empty",
                    "voxels " + std::to_string(ct.voxels.size()));
    if (!ct.geometry.hasOrthonormalDirection())
        return fail(ErrorCode::InvalidArgument,
                    "cannot segment: the volume's axes are not orthogonal (sheared or tilted "
                    "stack); load it with tilt correction first");
    Segmenter s(ct, options, progress);
    return s.run();
}

} // namespace precis::anatomy
