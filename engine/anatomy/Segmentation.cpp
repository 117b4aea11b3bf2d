#include "anatomy/Segmentation.h"

#include "anatomy/LabelOps.h"
#include "core/Parallel.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
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

/// Keeps the largest 4-connected region of a pixel list (j * nx + i) in place.
void largestRegion4(std::vector<std::int32_t>& pixels, int nx, int ny) {
    if (pixels.empty()) return;
    std::sort(pixels.begin(), pixels.end());
    auto has = [&](std::int32_t p) { return std::binary_search(pixels.begin(), pixels.end(), p); };
    std::vector<int> comp(pixels.size(), -1);
    auto indexOf = [&](std::int32_t p) {
        return static_cast<std::size_t>(std::lower_bound(pixels.begin(), pixels.end(), p) -
                                        pixels.begin());
    };
    std::vector<std::size_t> sizes, stack;
    for (std::size_t s0 = 0; s0 < pixels.size(); ++s0) {
        if (comp[s0] >= 0) continue;
        const int id = static_cast<int>(sizes.size());
        sizes.push_back(0);
        comp[s0] = id;
        stack.assign(1, s0);
        while (!stack.empty()) {
            const std::size_t q = stack.back();
            stack.pop_back();
            ++sizes.back();
            const std::int32_t p = pixels[q];
            const int i = p % nx, j = p / nx;
            auto visit = [&](int a, int c) {
                if (a < 0 || a >= nx || c < 0 || c >= ny) return;
                const std::int32_t w = c * nx + a;
                if (!has(w)) return;
                const std::size_t iw = indexOf(w);
                if (comp[iw] >= 0) return;
                comp[iw] = id;
                stack.push_back(iw);
            };
            visit(i - 1, j);
            visit(i + 1, j);
            visit(i, j - 1);
            visit(i, j + 1);
        }
    }
    const int best = static_cast<int>(std::max_element(sizes.begin(), sizes.end()) - sizes.begin());
    std::size_t w = 0;
    for (std::size_t q = 0; q < pixels.size(); ++q)
        if (comp[q] == best) pixels[w++] = pixels[q];
    pixels.resize(w);
}

/// Radius (mm) of the largest disk inside a slice region: the largest distance from a pixel of
/// it to the nearest pixel outside (`in` marks the region over the slice, `pixels` lists it).
double inscribedRadiusMm(const std::vector<std::uint8_t>& in,
                         const std::vector<std::int32_t>& pixels, int nx, int ny, glm::dvec2 sp) {
    std::vector<glm::dvec2> outside; // pixels outside that touch the region
    for (std::int32_t p : pixels) {
        const int i = p % nx, j = p / nx;
        for (const glm::ivec2 d :
             {glm::ivec2(-1, 0), glm::ivec2(1, 0), glm::ivec2(0, -1), glm::ivec2(0, 1)}) {
            const int a = i + d.x, c = j + d.y;
            if (a < 0 || a >= nx || c < 0 || c >= ny || !in[static_cast<std::size_t>(c) * nx + a])
                outside.emplace_back(a * sp.x, c * sp.y);
        }
    }
    double best2 = 0.0;
    for (std::int32_t p : pixels) {
        const glm::dvec2 q((p % nx) * sp.x, (p / nx) * sp.y);
        double near2 = std::numeric_limits<double>::infinity();
        for (const glm::dvec2& o : outside) {
            const glm::dvec2 d = o - q;
            near2 = std::min(near2, d.x * d.x + d.y * d.y);
            if (near2 <= best2) break;
        }
        best2 = std::max(best2, near2);
    }
    return std::sqrt(best2);
}

/// Shape-based interpolation of two slice regions (pixel lists, each moved by its shift): the
/// pixels where (1 - t) * sdA + t * sdB < 0, sd being the signed distance (mm, negative inside)
/// between pixel centres: to the nearest pixel outside the region, or inside it.
std::vector<std::int32_t> interpolateSections(const std::vector<std::int32_t>& a, glm::ivec2 sa,
                                              const std::vector<std::int32_t>& b, glm::ivec2 sb,
                                              double t, int nx, int ny, glm::dvec2 sp) {
    if (a.empty() || b.empty()) return {};
    // Crop: both moved regions plus a margin wider than any interpolated outline moves.
    glm::ivec2 lo(nx, ny), hi(-1, -1);
    auto extend = [&](const std::vector<std::int32_t>& r, glm::ivec2 s) {
        for (std::int32_t p : r) {
            const glm::ivec2 q(p % nx + s.x, p / nx + s.y);
            lo = glm::min(lo, q);
            hi = glm::max(hi, q);
        }
    };
    extend(a, sa);
    extend(b, sb);
    constexpr int kMargin = 2;
    lo -= glm::ivec2(kMargin);
    hi += glm::ivec2(kMargin);
    const int w = hi.x - lo.x + 1, h = hi.y - lo.y + 1;
    // Signed distance between pixel centres: inside pixels to the nearest outside pixel, outside
    // ones to the nearest inside pixel. The nearest pixel of the other state always touches the
    // region's outline (a step from it toward the query would otherwise be nearer), so only the
    // outline pixels of either side are searched.
    auto sdOf = [&](const std::vector<std::int32_t>& r, glm::ivec2 s) {
        std::vector<std::uint8_t> m(static_cast<std::size_t>(w) * h, 0);
        for (std::int32_t p : r) {
            const glm::ivec2 q = glm::ivec2(p % nx + s.x, p / nx + s.y) - lo;
            m[static_cast<std::size_t>(q.y) * w + q.x] = 1;
        }
        std::vector<glm::dvec2> edgeIn, edgeOut;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const std::uint8_t c = m[static_cast<std::size_t>(y) * w + x];
                auto differs = [&](int u, int v) {
                    return u >= 0 && u < w && v >= 0 && v < h &&
                           m[static_cast<std::size_t>(v) * w + u] != c;
                };
                if (differs(x - 1, y) || differs(x + 1, y) || differs(x, y - 1) ||
                    differs(x, y + 1))
                    (c ? edgeIn : edgeOut).emplace_back(x * sp.x, y * sp.y);
            }
        std::vector<float> sd(m.size());
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const std::size_t v = static_cast<std::size_t>(y) * w + x;
                const glm::dvec2 q(x * sp.x, y * sp.y);
                double best = std::numeric_limits<double>::infinity();
                for (const glm::dvec2& e : m[v] ? edgeOut : edgeIn) {
                    const glm::dvec2 d = e - q;
                    best = std::min(best, d.x * d.x + d.y * d.y);
                }
                sd[v] = static_cast<float>(m[v] ? -std::sqrt(best) : std::sqrt(best));
            }
        return sd;
    };
    const std::vector<float> da = sdOf(a, sa), db = sdOf(b, sb);
    std::vector<std::int32_t> out;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::size_t v = static_cast<std::size_t>(y) * w + x;
            const double d = (1.0 - t) * da[v] + t * db[v];
            const int i = x + lo.x, j = y + lo.y;
            if (d < 0.0 && i >= 0 && i < nx && j >= 0 && j < ny) out.push_back(j * nx + i);
        }
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
    constexpr double kWallReachMm = 2.0; // how far the lumen edge looks for the wall's peak
    constexpr double kTrimMm = 3.0;
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
    // Lumen edge: a voxel is lumen when at least half of it is canal, i.e. its HU lies below
    // half-way between the contents and the brightest wall voxel next to it (half maximum, the
    // usual CT edge). Soft-tissue voxels of canal density (no bone) are lumen as they are.
    const auto wallDisk = diskOffsets(sp2_, kWallReachMm);
    const auto lumenOk = [&](std::size_t k, std::size_t w, double contentsHu) {
        const std::int16_t* hu = ct_.voxels.data() + k * plane_;
        const std::int16_t v = hu[w];
        if (v < o_.canalMinHu) return false;
        if (v <= o_.canalMaxHu && !bone_.voxels[k * plane_ + w]) return true;
        const int i = static_cast<int>(w % static_cast<std::size_t>(nx_));
        const int j = static_cast<int>(w / static_cast<std::size_t>(nx_));
        std::int16_t peak = v;
        for (const glm::ivec2& d : wallDisk) {
            const int a = i + d.x, c = j + d.y;
            if (a >= 0 && a < nx_ && c >= 0 && c < ny_)
                peak = std::max(peak, hu[static_cast<std::size_t>(c) * nx_ + a]);
        }
        return v < std::max(o_.canalWallHu, 0.5 * (contentsHu + peak));
    };
    // Where the lumen meets soft tissue instead of bone (open rings): discs and ligaments
    // (70-100 HU) are told from CSF (0-30 HU) by the in-plane 3x3 mean. Section pixels at or
    // above canalDenseHu that connect to such tissue outside are trimmed, within kTrimMm of the
    // edge and never more than half the section (a bright canal is not trimmed away).
    const int trimSteps =
        std::max(1, static_cast<int>(std::lround(kTrimMm / std::min(sp2_.x, sp2_.y))));
    const auto trimDense = [&](std::vector<std::int32_t>& sec, std::size_t k) {
        if (sec.empty()) return;
        const std::int16_t* hu = ct_.voxels.data() + k * plane_;
        const std::uint8_t* bk = bone_.voxels.data() + k * plane_;
        auto dense = [&](int i, int j) {
            const std::size_t w = static_cast<std::size_t>(j) * nx_ + i;
            if (bk[w]) return false;
            double sum = 0.0;
            int n = 0;
            for (int dj = -1; dj <= 1; ++dj)
                for (int di = -1; di <= 1; ++di) {
                    const int a = i + di, c = j + dj;
                    if (a < 0 || a >= nx_ || c < 0 || c >= ny_) continue;
                    sum += hu[static_cast<std::size_t>(c) * nx_ + a];
                    ++n;
                }
            const double m = sum / n;
            return m >= o_.canalDenseHu && m <= o_.canalMaxHu;
        };
        std::sort(sec.begin(), sec.end());
        auto inSec = [&](std::int32_t p) { return std::binary_search(sec.begin(), sec.end(), p); };
        std::vector<std::int32_t> cut, front, next;
        auto mark = [&](std::int32_t p) {
            if (std::find(cut.begin(), cut.end(), p) != cut.end()) return false;
            cut.push_back(p);
            return true;
        };
        for (std::int32_t p : sec) {
            const int i = p % nx_, j = p / nx_;
            bool seed = false;
            for (const glm::ivec2 d :
                 {glm::ivec2(-1, 0), glm::ivec2(1, 0), glm::ivec2(0, -1), glm::ivec2(0, 1)}) {
                const int a = i + d.x, c = j + d.y;
                if (a < 0 || a >= nx_ || c < 0 || c >= ny_ || inSec(c * nx_ + a)) continue;
                if (dense(a, c)) seed = true;
            }
            if (seed && dense(i, j) && mark(p)) front.push_back(p);
        }
        for (int step = 1; step < trimSteps && !front.empty(); ++step) {
            next.clear();
            for (std::int32_t p : front) {
                const int i = p % nx_, j = p / nx_;
                for (const glm::ivec2 d :
                     {glm::ivec2(-1, 0), glm::ivec2(1, 0), glm::ivec2(0, -1), glm::ivec2(0, 1)}) {
                    const int a = i + d.x, c = j + d.y;
                    if (a < 0 || a >= nx_ || c < 0 || c >= ny_) continue;
                    const std::int32_t w = c * nx_ + a;
                    if (inSec(w) && dense(a, c) && mark(w)) next.push_back(w);
                }
            }
            front.swap(next);
        }
        if (cut.empty() || cut.size() * 2 > sec.size()) return; // never more than half
        std::sort(cut.begin(), cut.end());
        std::vector<std::int32_t> kept;
        std::set_difference(sec.begin(), sec.end(), cut.begin(), cut.end(),
                            std::back_inserter(kept));
        sec.swap(kept);
    };
    // Closed rings: the hole grown back (through lumen voxels only, at most the closing width
    // plus a voxel) to the lumen edge, then opened to drop appendages narrower than the lumen
    // (root tunnels, foraminal entries) that are not canal.
    const int regrowSteps =
        static_cast<int>(std::ceil((gapMm + std::max(sp2_.x, sp2_.y)) / std::min(sp2_.x, sp2_.y)));
    constexpr double kOpenFraction = 0.8;
    constexpr double kTipMm = 1.3;
    const auto tipDisk = diskOffsets(sp2_, kTipMm);
    std::vector<std::vector<std::int32_t>> section(static_cast<std::size_t>(nz_));
    std::vector<glm::dvec2> centre(static_cast<std::size_t>(nz_), glm::dvec2(0.0));
    std::vector<double> contents(static_cast<std::size_t>(nz_), 0.0);
    parallelFor(0, static_cast<std::size_t>(nz_), [&](std::size_t k0, std::size_t k1) {
        std::vector<std::uint8_t> in(plane_);
        std::vector<std::int32_t> front, next;
        for (std::size_t k = k0; k < k1; ++k) {
            if (chosen[k] < 0) continue;
            const SliceRegion& h = cands[k][static_cast<std::size_t>(chosen[k])].region;
            std::fill(in.begin(), in.end(), 0);
            for (std::int32_t p : h.pixels)
                in[static_cast<std::size_t>(p)] = 1;
            front = h.pixels;
            for (int step = 0; step < regrowSteps && !front.empty(); ++step) {
                next.clear();
                for (std::int32_t p : front) {
                    const int i = p % nx_, j = p / nx_;
                    auto visit = [&](int a, int c) {
                        if (a < 0 || a >= nx_ || c < 0 || c >= ny_) return;
                        const std::size_t w = static_cast<std::size_t>(c) * nx_ + a;
                        if (in[w] || !lumenOk(k, w, h.meanHu)) return;
                        in[w] = 1;
                        next.push_back(static_cast<std::int32_t>(w));
                    };
                    visit(i - 1, j);
                    visit(i + 1, j);
                    visit(i, j - 1);
                    visit(i, j + 1);
                }
                front.swap(next);
            }
            std::vector<std::int32_t> grown;
            for (std::size_t w = 0; w < plane_; ++w)
                if (in[w]) grown.push_back(static_cast<std::int32_t>(w));
            trimDense(grown, k);
            std::fill(in.begin(), in.end(), 0);
            for (std::int32_t p : grown)
                in[static_cast<std::size_t>(p)] = 1;
            // The opening disk is a fixed fraction of the lumen's inscribed radius: scale-free,
            // so a narrow (stenotic) canal is opened less.
            const double openMm = kOpenFraction * inscribedRadiusMm(in, grown, nx_, ny_, sp2_);
            const auto open = diskOffsets(sp2_, openMm);
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
            if (eroded.empty()) {
                opened = in; // too small to open: keep as found
            } else {
                // The opening also rounds off the lumen's own narrow ends (the lateral tips of an
                // oval); give back what lies within kTipMm of the opened shape.
                std::vector<std::uint8_t> tips(plane_, 0);
                for (std::size_t w = 0; w < plane_; ++w) {
                    if (!opened[w]) continue;
                    const int i = static_cast<int>(w % static_cast<std::size_t>(nx_));
                    const int j = static_cast<int>(w / static_cast<std::size_t>(nx_));
                    for (const glm::ivec2& d : tipDisk) {
                        const int a = i + d.x, c = j + d.y;
                        if (a >= 0 && a < nx_ && c >= 0 && c < ny_) {
                            const std::size_t u = static_cast<std::size_t>(c) * nx_ + a;
                            tips[u] = in[u];
                        }
                    }
                }
                for (std::size_t w = 0; w < plane_; ++w)
                    opened[w] = opened[w] | tips[w];
            }
            for (std::size_t w = 0; w < plane_; ++w)
                if (opened[w]) section[k].push_back(static_cast<std::int32_t>(w));
            centre[k] = h.centroidMm;
            contents[k] = h.meanHu;
        }
    });
    // Open levels: shape-based interpolation (Raya & Udupa) between the two bounding closed
    // sections, each moved onto the interpolated centroid path: the signed distances to their
    // outlines are blended by height and the zero level kept, limited to lumen voxels.
    std::vector<int> openLevels;
    for (int k = kFirst; k <= kLast; ++k)
        if (chosen[static_cast<std::size_t>(k)] < 0) openLevels.push_back(k);
    parallelFor(0, openLevels.size(), [&](std::size_t q0, std::size_t q1) {
        for (std::size_t q = q0; q < q1; ++q) {
            const int k = openLevels[q];
            int a = k, b = k;
            while (chosen[static_cast<std::size_t>(a)] < 0)
                --a;
            while (chosen[static_cast<std::size_t>(b)] < 0)
                ++b;
            const double t = static_cast<double>(k - a) / (b - a);
            const glm::dvec2 c = centre[static_cast<std::size_t>(a)] * (1 - t) +
                                 centre[static_cast<std::size_t>(b)] * t;
            const double contentsHu = contents[static_cast<std::size_t>(a)] * (1 - t) +
                                      contents[static_cast<std::size_t>(b)] * t;
            auto shiftOf = [&](int src) {
                const glm::dvec2 d = (c - centre[static_cast<std::size_t>(src)]) / sp2_;
                return glm::ivec2(static_cast<int>(std::lround(d.x)),
                                  static_cast<int>(std::lround(d.y)));
            };
            const glm::ivec2 sa = shiftOf(a), sb = shiftOf(b);
            const std::vector<std::int32_t> blended =
                interpolateSections(section[static_cast<std::size_t>(a)], sa,
                                    section[static_cast<std::size_t>(b)], sb, t, nx_, ny_, sp2_);
            std::vector<std::int32_t>& out = section[static_cast<std::size_t>(k)];
            for (std::int32_t p : blended)
                if (lumenOk(static_cast<std::size_t>(k), static_cast<std::size_t>(p), contentsHu))
                    out.push_back(p);
            trimDense(out, static_cast<std::size_t>(k));
            largestRegion4(out, nx_, ny_);
            centre[static_cast<std::size_t>(k)] = c;
            contents[static_cast<std::size_t>(k)] = contentsHu;
        }
    });
    for (int k = kFirst; k <= kLast; ++k)
        for (std::int32_t p : section[static_cast<std::size_t>(k)])
            canal_.voxels[static_cast<std::size_t>(k) * plane_ + static_cast<std::size_t>(p)] = 1;
    // Beyond the last closed ring at either end (the ring is open above a pedicle level and in
    // the lower sacrum) the canal goes on while the spine does: extend the end section by up to
    // extendMm while bone lies within boneNearMm of it and most of it still has canal density.
    const double extendMm = 20.0, boneNearMm = 25.0;
    constexpr double kTrendMm = 12.0;
    const auto pixelCentroid = [&](const std::vector<std::int32_t>& r) {
        glm::dvec2 m(0.0);
        for (std::int32_t p : r)
            m += glm::dvec2(p % nx_, p / nx_);
        return r.empty() ? m : m / static_cast<double>(r.size());
    };
    int extended = 0;
    for (int dir : {-1, 1}) {
        const int end = dir < 0 ? kFirst : kLast;
        const auto& sec = section[static_cast<std::size_t>(end)];
        if (sec.empty()) continue;
        const glm::dvec2 c = centre[static_cast<std::size_t>(end)];
        // The canal's drift per slice (pixels) near the end, continued past it (lordosis).
        const int back = std::max(1, static_cast<int>(std::lround(kTrendMm / sz)));
        const int ref = std::clamp(end - dir * back, kFirst, kLast);
        const glm::dvec2 drift =
            ref == end
                ? glm::dvec2(0.0)
                : (pixelCentroid(sec) - pixelCentroid(section[static_cast<std::size_t>(ref)])) /
                      static_cast<double>(std::abs(end - ref));
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
            const double contentsHu = contents[static_cast<std::size_t>(end)];
            const glm::dvec2 moved = drift * static_cast<double>(std::abs(k - end));
            const glm::ivec2 shift(static_cast<int>(std::lround(moved.x)),
                                   static_cast<int>(std::lround(moved.y)));
            std::vector<std::int32_t> kept;
            for (std::int32_t p : sec) {
                const int i = p % nx_ + shift.x, j = p / nx_ + shift.y;
                if (i < 0 || i >= nx_ || j < 0 || j >= ny_) continue;
                const std::int32_t w = j * nx_ + i;
                if (lumenOk(static_cast<std::size_t>(k), static_cast<std::size_t>(w), contentsHu))
                    kept.push_back(w);
            }
            if (2 * kept.size() < sec.size()) break;
            trimDense(kept, static_cast<std::size_t>(k));
            for (std::int32_t p : kept)
                canal_.voxels[base + static_cast<std::size_t>(p)] = 1;
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
