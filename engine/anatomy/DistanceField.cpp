#include "anatomy/DistanceField.h"

#include "core/Assert.h"
#include "core/Parallel.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace precis::anatomy {
namespace {

constexpr float kInfF = std::numeric_limits<float>::infinity();
constexpr double kInfD = std::numeric_limits<double>::infinity();

/// Scratch for the 1D lower envelope of a line of n samples: per parabola its vertex position,
/// its value there, f/s^2 + v^2, and the left breakpoint as a fraction zn/zd (zd > 0), so the
/// envelope is built without a single division.
struct Envelope {
    std::vector<int> v;
    std::vector<float> f;
    std::vector<double> g, zn, zd;
    explicit Envelope(int n) {
        const auto m = static_cast<std::size_t>(n) + 3;
        v.resize(m);
        f.resize(m);
        g.resize(m);
        zn.resize(m);
        zd.resize(m);
    }
};

/// In place over buf[a..b]: buf[q] = min_p (s^2 (q - p)^2 + f[p]) over p in [a-1, b+1], where
/// f = buf on [a, b] (+inf = no feature) and f = 0 at a-1 / b+1 when leftZero / rightZero.
/// Felzenszwalb & Huttenlocher in index units (f scaled by 1/s^2): breakpoints are compared
/// with integer positions by cross-multiplication.
void lowerEnvelope(float* buf, int a, int b, bool leftZero, bool rightZero, double s,
                   Envelope& env) {
    const double s2 = s * s, inv = 1.0 / s2;
    int* v = env.v.data();
    float* fv = env.f.data();
    double* g = env.g.data();
    double* zn = env.zn.data();
    double* zd = env.zd.data();
    int k = -1;
    auto push = [&](int q, float fq) {
        const double gq = fq * inv + static_cast<double>(q) * q;
        double num = 0.0, den = 1.0;
        while (k >= 0) {
            num = gq - g[k];
            den = 2.0 * (q - v[k]);
            // Pop the top parabola while the new one undercuts it at its left breakpoint.
            if (k == 0 || num * zd[k] > zn[k] * den) break;
            --k;
        }
        ++k;
        v[k] = q;
        fv[k] = fq;
        g[k] = gq;
        zn[k] = num;
        zd[k] = den;
    };
    if (leftZero) push(a - 1, 0.0f);
    for (int q = a; q <= b; ++q)
        if (buf[q] < kInfF) push(q, buf[q]);
    if (rightZero) push(b + 1, 0.0f);
    if (k < 0) {
        std::fill(buf + a, buf + b + 1, kInfF);
        return;
    }
    const int top = k;
    k = 0;
    for (int q = a; q <= b; ++q) {
        while (k < top && zn[k + 1] < q * zd[k + 1])
            ++k;
        const double d = q - v[k];
        buf[q] = static_cast<float>(s2 * d * d + fv[k]);
    }
}

/// Line buffers for one worker.
struct LineScratch {
    Envelope env;
    explicit LineScratch(int n) : env(n) {}
};

/// Transforms one gathered line in place (buf = h along the line, m = mask along the line).
/// Signed: inside voxels get the distance to the nearest outside voxel, outside voxels to the
/// nearest inside voxel. Unsigned: distance to the mask (0 inside). Either way a voxel of a run
/// (maximal stretch of one state) only sees the run's own partial values and the two voxels that
/// bound the run (feature value 0): anything beyond a bounding voxel is farther than it. So each
/// run is one small envelope, and the whole line costs one envelope of n (+2 per run) samples.
void transformLine(float* buf, const std::uint8_t* m, int n, double s, bool signedMode,
                   LineScratch& sc) {
    int a = 0;
    while (a < n) {
        const bool in = m[a] != 0;
        int b = a;
        while (b + 1 < n && (m[b + 1] != 0) == in)
            ++b;
        if (!signedMode && in) {
            std::fill(buf + a, buf + b + 1, 0.0f);
        } else {
            lowerEnvelope(buf, a, b, a > 0, b + 1 < n, s, sc.env);
        }
        a = b + 1;
    }
}

constexpr int kTile = 64; // lines gathered together for the strided passes (4 cache lines)

/// The three passes. Returns false when cancelled.
bool edtPasses(const Mask& mask, bool signedMode, std::vector<float>& h, const Progress& progress) {
    const auto& g = mask.geometry;
    const int nx = g.dims[0], ny = g.dims[1], nz = g.dims[2];
    const auto sx = static_cast<std::size_t>(nx);
    const std::size_t plane = sx * static_cast<std::size_t>(ny);
    h.assign(g.voxelCount(), kInfF);
    if (h.empty()) return true;
    const std::uint8_t* mv = mask.voxels.data();

    // Pass 1 (x, contiguous): two scans in index units per row.
    const double spx = g.spacingMm.x;
    parallelFor(0, static_cast<std::size_t>(ny) * nz, [&](std::size_t r0, std::size_t r1) {
        std::vector<int> fwd(sx);
        for (std::size_t r = r0; r < r1; ++r) {
            const std::uint8_t* m = mv + r * sx;
            float* out = h.data() + r * sx;
            constexpr int kNone = std::numeric_limits<int>::min() / 4;
            int lastIn = kNone, lastOut = kNone;
            for (int q = 0; q < nx; ++q) {
                const bool in = m[q] != 0;
                (in ? lastIn : lastOut) = q;
                const int src = signedMode ? (in ? lastOut : lastIn) : lastIn;
                fwd[static_cast<std::size_t>(q)] = src == kNone ? -1 : q - src;
            }
            int nextIn = -1, nextOut = -1;
            for (int q = nx - 1; q >= 0; --q) {
                const bool in = m[q] != 0;
                (in ? nextIn : nextOut) = q;
                const int src = signedMode ? (in ? nextOut : nextIn) : nextIn;
                int d = fwd[static_cast<std::size_t>(q)];
                if (src >= 0 && (d < 0 || src - q < d)) d = src - q;
                if (d >= 0) {
                    const double mm = d * spx;
                    out[q] = static_cast<float>(mm * mm);
                }
            }
        }
    });
    if (progress.cancelled()) return false;
    progress.report(0.34, "distance field");

    // Pass 2 (y): per slice, tiles of kTile columns gathered into contiguous lines.
    const double spy = g.spacingMm.y;
    parallelFor(0, static_cast<std::size_t>(nz), [&](std::size_t k0, std::size_t k1) {
        LineScratch sc(ny);
        std::vector<float> buf(static_cast<std::size_t>(kTile) * ny);
        std::vector<std::uint8_t> mb(static_cast<std::size_t>(kTile) * ny);
        for (std::size_t k = k0; k < k1; ++k) {
            if (progress.cancelled()) return;
            for (int x0 = 0; x0 < nx; x0 += kTile) {
                const int t = std::min(kTile, nx - x0);
                for (int y = 0; y < ny; ++y) {
                    const std::size_t base = k * plane + static_cast<std::size_t>(y) * sx + x0;
                    for (int c = 0; c < t; ++c) {
                        buf[static_cast<std::size_t>(c) * ny + y] = h[base + c];
                        mb[static_cast<std::size_t>(c) * ny + y] = mv[base + c];
                    }
                }
                for (int c = 0; c < t; ++c)
                    transformLine(buf.data() + static_cast<std::size_t>(c) * ny,
                                  mb.data() + static_cast<std::size_t>(c) * ny, ny, spy, signedMode,
                                  sc);
                for (int y = 0; y < ny; ++y) {
                    const std::size_t base = k * plane + static_cast<std::size_t>(y) * sx + x0;
                    for (int c = 0; c < t; ++c)
                        h[base + c] = buf[static_cast<std::size_t>(c) * ny + y];
                }
            }
        }
    });
    if (progress.cancelled()) return false;
    progress.report(0.67, "distance field");

    // Pass 3 (z): per row j, tiles of kTile columns, lines along z.
    const double spz = g.spacingMm.z;
    parallelFor(0, static_cast<std::size_t>(ny), [&](std::size_t j0, std::size_t j1) {
        LineScratch sc(nz);
        std::vector<float> buf(static_cast<std::size_t>(kTile) * nz);
        std::vector<std::uint8_t> mb(static_cast<std::size_t>(kTile) * nz);
        for (std::size_t j = j0; j < j1; ++j) {
            if (progress.cancelled()) return;
            for (int x0 = 0; x0 < nx; x0 += kTile) {
                const int t = std::min(kTile, nx - x0);
                for (int z = 0; z < nz; ++z) {
                    const std::size_t base = static_cast<std::size_t>(z) * plane + j * sx + x0;
                    for (int c = 0; c < t; ++c) {
                        buf[static_cast<std::size_t>(c) * nz + z] = h[base + c];
                        mb[static_cast<std::size_t>(c) * nz + z] = mv[base + c];
                    }
                }
                for (int c = 0; c < t; ++c)
                    transformLine(buf.data() + static_cast<std::size_t>(c) * nz,
                                  mb.data() + static_cast<std::size_t>(c) * nz, nz, spz, signedMode,
                                  sc);
                for (int z = 0; z < nz; ++z) {
                    const std::size_t base = static_cast<std::size_t>(z) * plane + j * sx + x0;
                    for (int c = 0; c < t; ++c)
                        h[base + c] = buf[static_cast<std::size_t>(c) * nz + z];
                }
            }
        }
    });
    if (progress.cancelled()) return false;
    progress.report(1.0, "distance field");
    return true;
}

} // namespace

std::vector<float> squaredDistanceToMaskMm2(const Mask& mask, const Progress& progress) {
    PRECIS_ASSERT(mask.voxels.size() == mask.geometry.voxelCount(), "mask size != geometry");
    std::vector<float> h;
    if (!edtPasses(mask, false, h, progress)) return {};
    return h;
}

DistanceField::DistanceField(const model::ImageGeometry& geometry, std::vector<float> valuesMm)
    : geometry_(geometry), values_(std::move(valuesMm)) {
    PRECIS_ASSERT(values_.size() == geometry_.voxelCount(), "field size != geometry");
}

bool DistanceField::contains(const glm::dvec3& lps) const {
    const glm::dvec3 p = geometry_.indexFromWorld(lps);
    constexpr double kEps = 1e-9;
    for (int a = 0; a < 3; ++a)
        if (p[a] < -kEps || p[a] > geometry_.dims[a] - 1 + kEps) return false;
    return true;
}

double DistanceField::sampleMm(const glm::dvec3& lps) const {
    PRECIS_ASSERT(!values_.empty(), "sampling an empty distance field");
    const glm::dvec3 p = geometry_.indexFromWorld(lps);
    std::array<int, 3> i0{};
    std::array<int, 3> i1{};
    std::array<double, 3> t{};
    for (int a = 0; a < 3; ++a) {
        const int n = geometry_.dims[a];
        const double c = std::clamp(p[a], 0.0, static_cast<double>(n - 1));
        i0[a] = std::min(static_cast<int>(c), n - 1);
        i1[a] = std::min(i0[a] + 1, n - 1);
        t[a] = c - i0[a];
    }
    auto at = [&](int x, int y, int z) -> double {
        return values_[geometry_.linearIndex(x, y, z)];
    };
    const double c00 = at(i0[0], i0[1], i0[2]) * (1 - t[0]) + at(i1[0], i0[1], i0[2]) * t[0];
    const double c10 = at(i0[0], i1[1], i0[2]) * (1 - t[0]) + at(i1[0], i1[1], i0[2]) * t[0];
    const double c01 = at(i0[0], i0[1], i1[2]) * (1 - t[0]) + at(i1[0], i0[1], i1[2]) * t[0];
    const double c11 = at(i0[0], i1[1], i1[2]) * (1 - t[0]) + at(i1[0], i1[1], i1[2]) * t[0];
    const double c0 = c00 * (1 - t[1]) + c10 * t[1];
    const double c1 = c01 * (1 - t[1]) + c11 * t[1];
    return c0 * (1 - t[2]) + c1 * t[2];
}

DistanceField signedDistanceField(const Mask& mask, const Progress& progress) {
    PRECIS_ASSERT(mask.voxels.size() == mask.geometry.voxelCount(), "mask size != geometry");
    std::vector<float> h;
    if (!edtPasses(mask, true, h, progress)) return {};
    const auto& sp = mask.geometry.spacingMm;
    const float half = static_cast<float>(std::min({sp.x, sp.y, sp.z}) / 2.0);
    const std::uint8_t* mv = mask.voxels.data();
    parallelFor(0, h.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t v = b; v < e; ++v) {
            const float d = std::sqrt(h[v]) - half; // inf stays inf
            h[v] = mv[v] ? -d : d;
        }
    });
    return DistanceField(mask.geometry, std::move(h));
}

DistanceField signedDistanceField(const model::LabelMap& labels,
                                  const std::function<bool(std::uint8_t)>& inside,
                                  const Progress& progress) {
    std::array<std::uint8_t, 256> lut{};
    for (int l = 0; l < 256; ++l)
        lut[static_cast<std::size_t>(l)] = inside(static_cast<std::uint8_t>(l)) ? 1 : 0;
    Mask mask(labels.geometry);
    parallelFor(0, mask.voxels.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t v = b; v < e; ++v)
            mask.voxels[v] = lut[labels.voxels[v]];
    });
    return signedDistanceField(mask, progress);
}

DistanceField signedDistanceField(const model::LabelMap& labels, std::uint8_t label,
                                  const Progress& progress) {
    return signedDistanceField(
        labels, [label](std::uint8_t l) { return l == label; }, progress);
}

} // namespace precis::anatomy
