#include "anatomy/LabelOps.h"

#include "core/Assert.h"
#include "core/Parallel.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

namespace precis::anatomy {
namespace {

void assertSameGrid(const model::ImageGeometry& a, const model::ImageGeometry& b) {
    PRECIS_ASSERT(a.dims == b.dims, "label operation on grids of different dims");
}

Mask complement(const Mask& m) {
    Mask c(m.geometry);
    parallelFor(0, m.voxels.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t v = b; v < e; ++v)
            c.voxels[v] = m.voxels[v] ? 0 : 1;
    });
    return c;
}

/// Voxel index box (inclusive) covering a sphere, clipped to the grid; empty when outside.
bool sphereBox(const model::ImageGeometry& g, const glm::dvec3& c, double r, std::array<int, 3>& lo,
               std::array<int, 3>& hi) {
    const glm::dvec3 ci = g.indexFromWorld(c);
    for (int a = 0; a < 3; ++a) {
        // The direction is orthonormal: a ball of radius r spans r / spacing voxels on each axis.
        const double ext = r / g.spacingMm[a];
        lo[a] = std::max(0, static_cast<int>(std::floor(ci[a] - ext)));
        hi[a] = std::min(g.dims[a] - 1, static_cast<int>(std::ceil(ci[a] + ext)));
        if (lo[a] > hi[a]) return false;
    }
    return true;
}

/// Union-find over voxel indices; parent[v] <= v always (roots are the smallest index).
struct UnionFind {
    std::int32_t* parent;
    std::int32_t find(std::int32_t x) const {
        while (parent[x] != x) {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        return x;
    }
    void unite(std::int32_t a, std::int32_t b) const {
        a = find(a);
        b = find(b);
        if (a == b) return;
        if (a < b) {
            parent[b] = a;
        } else {
            parent[a] = b;
        }
    }
};

} // namespace

Mask maskOfLabel(const model::LabelMap& labels, std::uint8_t label) {
    return maskOf(labels, [label](std::uint8_t l) { return l == label; });
}

Mask maskOf(const model::LabelMap& labels, const std::function<bool(std::uint8_t)>& inside) {
    std::array<std::uint8_t, 256> lut{};
    for (int l = 0; l < 256; ++l)
        lut[static_cast<std::size_t>(l)] = inside(static_cast<std::uint8_t>(l)) ? 1 : 0;
    Mask m(labels.geometry);
    parallelFor(0, m.voxels.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t v = b; v < e; ++v)
            m.voxels[v] = lut[labels.voxels[v]];
    });
    return m;
}

std::size_t applyMask(model::LabelMap& labels, const Mask& mask, std::uint8_t label,
                      bool overwrite) {
    assertSameGrid(labels.geometry, mask.geometry);
    std::atomic<std::size_t> changed{0};
    parallelFor(0, mask.voxels.size(), [&](std::size_t b, std::size_t e) {
        std::size_t n = 0;
        for (std::size_t v = b; v < e; ++v) {
            if (!mask.voxels[v] || labels.voxels[v] == label) continue;
            if (!overwrite && labels.voxels[v] != 0) continue;
            labels.voxels[v] = label;
            ++n;
        }
        changed += n;
    });
    return changed;
}

std::size_t countInside(const Mask& mask) {
    std::atomic<std::size_t> count{0};
    parallelFor(0, mask.voxels.size(), [&](std::size_t b, std::size_t e) {
        std::size_t n = 0;
        for (std::size_t v = b; v < e; ++v)
            n += mask.voxels[v] != 0;
        count += n;
    });
    return count;
}

double volumeMl(const Mask& mask) {
    const auto& s = mask.geometry.spacingMm;
    return static_cast<double>(countInside(mask)) * s.x * s.y * s.z / 1000.0;
}

std::size_t paintSphere(model::LabelMap& labels, const glm::dvec3& centerLps, double radiusMm,
                        std::uint8_t label, int onlyLabel) {
    PRECIS_ASSERT(radiusMm >= 0.0, "negative brush radius");
    const auto& g = labels.geometry;
    std::array<int, 3> lo{}, hi{};
    if (!sphereBox(g, centerLps, radiusMm, lo, hi)) return 0;
    const double r2 = radiusMm * radiusMm;
    std::size_t changed = 0;
    for (int k = lo[2]; k <= hi[2]; ++k)
        for (int j = lo[1]; j <= hi[1]; ++j)
            for (int i = lo[0]; i <= hi[0]; ++i) {
                const glm::dvec3 d = g.worldFromIndex({i, j, k}) - centerLps;
                if (glm::dot(d, d) > r2) continue;
                std::uint8_t& v = labels.at(i, j, k);
                if (v == label || (onlyLabel >= 0 && v != onlyLabel)) continue;
                v = label;
                ++changed;
            }
    return changed;
}

std::size_t eraseSphere(model::LabelMap& labels, const glm::dvec3& centerLps, double radiusMm,
                        int labelToErase) {
    return paintSphere(labels, centerLps, radiusMm, 0, labelToErase);
}

std::size_t thresholdIntoLabel(const model::Volume& ct, model::LabelMap& labels, double loHu,
                               double hiHu, std::uint8_t label, const VoxelBox& region,
                               bool overwrite) {
    assertSameGrid(ct.geometry, labels.geometry);
    const auto& d = ct.geometry.dims;
    std::array<int, 3> lo{}, hi{};
    for (int a = 0; a < 3; ++a) {
        lo[a] = std::clamp(region.min[a], 0, d[a]);
        hi[a] = std::clamp(region.max[a], 0, d[a]);
        if (lo[a] >= hi[a]) return 0;
    }
    std::size_t changed = 0;
    for (int k = lo[2]; k < hi[2]; ++k)
        for (int j = lo[1]; j < hi[1]; ++j)
            for (int i = lo[0]; i < hi[0]; ++i) {
                const double hu = ct.at(i, j, k);
                if (hu < loHu || hu > hiHu) continue;
                std::uint8_t& v = labels.at(i, j, k);
                if (v == label || (!overwrite && v != 0)) continue;
                v = label;
                ++changed;
            }
    return changed;
}

std::size_t thresholdIntoLabel(const model::Volume& ct, model::LabelMap& labels, double loHu,
                               double hiHu, std::uint8_t label, const Mask& region,
                               bool overwrite) {
    assertSameGrid(ct.geometry, labels.geometry);
    assertSameGrid(ct.geometry, region.geometry);
    std::atomic<std::size_t> changed{0};
    parallelFor(0, ct.voxels.size(), [&](std::size_t b, std::size_t e) {
        std::size_t n = 0;
        for (std::size_t v = b; v < e; ++v) {
            if (!region.voxels[v]) continue;
            const double hu = ct.voxels[v];
            if (hu < loHu || hu > hiHu) continue;
            std::uint8_t& l = labels.voxels[v];
            if (l == label || (!overwrite && l != 0)) continue;
            l = label;
            ++n;
        }
        changed += n;
    });
    return changed;
}

int Components::largest() const {
    int best = 0;
    for (int i = 1; i <= count(); ++i)
        if (best == 0 || sizes[static_cast<std::size_t>(i)] > sizes[static_cast<std::size_t>(best)])
            best = i;
    return best;
}

Components connectedComponents(const Mask& mask, Connectivity connectivity) {
    const auto& g = mask.geometry;
    PRECIS_ASSERT(g.voxelCount() <
                      static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()),
                  "grid too large for 32-bit component ids");
    const int nx = g.dims[0], ny = g.dims[1], nz = g.dims[2];
    const std::int64_t sy = nx, sz = static_cast<std::int64_t>(nx) * ny;
    Components out;
    out.ids.assign(g.voxelCount(), 0);
    std::int32_t* parent = out.ids.data();
    const std::uint8_t* m = mask.voxels.data();
    // Backward neighbours (already visited in memory order).
    struct Off {
        int dx, dy, dz;
    };
    std::vector<Off> offs;
    for (int dz = -1; dz <= 0; ++dz)
        for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx) {
                const bool backward = dz < 0 || (dz == 0 && (dy < 0 || (dy == 0 && dx < 0)));
                if (!backward) continue;
                const int n = std::abs(dx) + std::abs(dy) + std::abs(dz);
                if (connectivity == Connectivity::Face && n != 1) continue;
                offs.push_back({dx, dy, dz});
            }
    UnionFind uf{parent};
    auto linkVoxel = [&](int i, int j, int k, int kMin) {
        const std::int64_t v = k * sz + j * sy + i;
        for (const Off& o : offs) {
            const int a = i + o.dx, b = j + o.dy, c = k + o.dz;
            if (a < 0 || a >= nx || b < 0 || b >= ny || c < kMin) continue;
            const std::int64_t w = c * sz + b * sy + a;
            if (m[w]) uf.unite(static_cast<std::int32_t>(v), static_cast<std::int32_t>(w));
        }
    };
    // Slabs in parallel, each only linking inside itself.
    const std::size_t chunks = std::max<std::size_t>(1, std::min<std::size_t>(workerCount(), nz));
    std::vector<int> slabStart;
    for (std::size_t c = 0; c < chunks; ++c)
        slabStart.push_back(static_cast<int>(c * static_cast<std::size_t>(nz) / chunks));
    parallelFor(
        0, chunks,
        [&](std::size_t c0, std::size_t c1) {
            for (std::size_t c = c0; c < c1; ++c) {
                const int k0 = slabStart[c];
                const int k1 = c + 1 < chunks ? slabStart[c + 1] : nz;
                for (int k = k0; k < k1; ++k)
                    for (int j = 0; j < ny; ++j)
                        for (int i = 0; i < nx; ++i) {
                            const std::int64_t v = k * sz + j * sy + i;
                            if (!m[v]) continue;
                            parent[v] = static_cast<std::int32_t>(v);
                            linkVoxel(i, j, k, k0);
                        }
            }
        },
        chunks);
    // Seams between slabs.
    for (std::size_t c = 1; c < chunks; ++c) {
        const int k = slabStart[c];
        if (k <= 0 || k >= nz) continue;
        for (int j = 0; j < ny; ++j)
            for (int i = 0; i < nx; ++i)
                if (m[k * sz + j * sy + i]) linkVoxel(i, j, k, k - 1);
    }
    // Compact ids in memory order: a non-root's parent is smaller, so already holds the id.
    out.sizes.assign(1, 0);
    const std::size_t n = g.voxelCount();
    for (std::size_t v = 0; v < n; ++v) {
        if (!m[v]) {
            ++out.sizes[0];
            continue;
        }
        const std::int32_t p = parent[v];
        if (p == static_cast<std::int32_t>(v)) {
            out.sizes.push_back(1);
            parent[v] = static_cast<std::int32_t>(out.sizes.size() - 1);
        } else {
            parent[v] = parent[p];
            ++out.sizes[static_cast<std::size_t>(parent[v])];
        }
    }
    return out;
}

namespace {
Mask selectComponents(const Mask& mask, const Components& cc, const std::vector<char>& keep) {
    Mask out(mask.geometry);
    parallelFor(0, out.voxels.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t v = b; v < e; ++v)
            out.voxels[v] = keep[static_cast<std::size_t>(cc.ids[v])] ? 1 : 0;
    });
    return out;
}
} // namespace

Mask keepLargestComponent(const Mask& mask, Connectivity connectivity) {
    const Components cc = connectedComponents(mask, connectivity);
    std::vector<char> keep(cc.sizes.size(), 0);
    if (const int l = cc.largest()) keep[static_cast<std::size_t>(l)] = 1;
    return selectComponents(mask, cc, keep);
}

Mask keepComponentContaining(const Mask& mask, const std::array<int, 3>& seedIjk,
                             Connectivity connectivity) {
    if (!mask.geometry.contains(seedIjk[0], seedIjk[1], seedIjk[2]) ||
        !mask.at(seedIjk[0], seedIjk[1], seedIjk[2]))
        return Mask(mask.geometry);
    const Components cc = connectedComponents(mask, connectivity);
    std::vector<char> keep(cc.sizes.size(), 0);
    keep[static_cast<std::size_t>(
        cc.ids[mask.geometry.linearIndex(seedIjk[0], seedIjk[1], seedIjk[2])])] = 1;
    return selectComponents(mask, cc, keep);
}

Mask removeSmallComponents(const Mask& mask, std::size_t minVoxels, Connectivity connectivity) {
    const Components cc = connectedComponents(mask, connectivity);
    std::vector<char> keep(cc.sizes.size(), 0);
    for (std::size_t i = 1; i < cc.sizes.size(); ++i)
        keep[i] = cc.sizes[i] >= minVoxels;
    return selectComponents(mask, cc, keep);
}

Mask fillHoles(const Mask& mask) {
    const Mask bg = complement(mask);
    const Components cc = connectedComponents(bg, Connectivity::Face);
    const auto& d = mask.geometry.dims;
    std::vector<char> outside(cc.sizes.size(), 0);
    auto mark = [&](int i, int j, int k) {
        outside[static_cast<std::size_t>(cc.ids[mask.geometry.linearIndex(i, j, k)])] = 1;
    };
    for (int k = 0; k < d[2]; ++k)
        for (int j = 0; j < d[1]; ++j) {
            mark(0, j, k);
            mark(d[0] - 1, j, k);
        }
    for (int k = 0; k < d[2]; ++k)
        for (int i = 0; i < d[0]; ++i) {
            mark(i, 0, k);
            mark(i, d[1] - 1, k);
        }
    for (int j = 0; j < d[1]; ++j)
        for (int i = 0; i < d[0]; ++i) {
            mark(i, j, 0);
            mark(i, j, d[2] - 1);
        }
    Mask out(mask.geometry);
    parallelFor(0, out.voxels.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t v = b; v < e; ++v)
            out.voxels[v] =
                (mask.voxels[v] || !outside[static_cast<std::size_t>(cc.ids[v])]) ? 1 : 0;
    });
    return out;
}

Mask fillHolesPerSlice(const Mask& mask) {
    const auto& d = mask.geometry.dims;
    const int nx = d[0], ny = d[1];
    const std::size_t plane = static_cast<std::size_t>(nx) * ny;
    Mask out(mask.geometry);
    parallelFor(0, static_cast<std::size_t>(d[2]), [&](std::size_t k0, std::size_t k1) {
        std::vector<std::uint8_t> reached(plane);
        std::vector<std::int32_t> stack;
        for (std::size_t k = k0; k < k1; ++k) {
            const std::uint8_t* m = mask.voxels.data() + k * plane;
            std::fill(reached.begin(), reached.end(), 0);
            stack.clear();
            auto seed = [&](int i, int j) {
                const std::size_t v = static_cast<std::size_t>(j) * nx + i;
                if (!m[v] && !reached[v]) {
                    reached[v] = 1;
                    stack.push_back(static_cast<std::int32_t>(v));
                }
            };
            for (int i = 0; i < nx; ++i) {
                seed(i, 0);
                seed(i, ny - 1);
            }
            for (int j = 0; j < ny; ++j) {
                seed(0, j);
                seed(nx - 1, j);
            }
            while (!stack.empty()) {
                const std::int32_t v = stack.back();
                stack.pop_back();
                const int i = v % nx, j = v / nx;
                if (i > 0) seed(i - 1, j);
                if (i + 1 < nx) seed(i + 1, j);
                if (j > 0) seed(i, j - 1);
                if (j + 1 < ny) seed(i, j + 1);
            }
            std::uint8_t* o = out.voxels.data() + k * plane;
            for (std::size_t v = 0; v < plane; ++v)
                o[v] = (m[v] || !reached[v]) ? 1 : 0;
        }
    });
    return out;
}

Mask dilateMm(const Mask& mask, double radiusMm) {
    const std::vector<float> d2 = squaredDistanceToMaskMm2(mask);
    const auto r2 = static_cast<float>(radiusMm * radiusMm);
    Mask out(mask.geometry);
    parallelFor(0, out.voxels.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t v = b; v < e; ++v)
            out.voxels[v] = d2[v] <= r2 ? 1 : 0;
    });
    return out;
}

Mask erodeMm(const Mask& mask, double radiusMm) {
    const std::vector<float> d2 = squaredDistanceToMaskMm2(complement(mask));
    const auto r2 = static_cast<float>(radiusMm * radiusMm);
    Mask out(mask.geometry);
    parallelFor(0, out.voxels.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t v = b; v < e; ++v)
            out.voxels[v] = (mask.voxels[v] && d2[v] > r2) ? 1 : 0;
    });
    return out;
}

Mask openMm(const Mask& mask, double radiusMm) {
    return dilateMm(erodeMm(mask, radiusMm), radiusMm);
}

Mask closeMm(const Mask& mask, double radiusMm) {
    return erodeMm(dilateMm(mask, radiusMm), radiusMm);
}

} // namespace precis::anatomy
