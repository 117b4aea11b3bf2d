#include "anatomy/DistanceField.h"

#include "core/Assert.h"
#include "core/Parallel.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <limits>
#include <thread>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace precis::anatomy {
namespace {

constexpr float kInfF = std::numeric_limits<float>::infinity();
/// "No voxel of that state on this side" for the binary scans: far enough that differences
/// stay far beyond any grid size, small enough not to overflow.
constexpr int kFar = 1 << 28;

/// Scratch for the lower envelope of one line of at most n samples (+2 bounding features): per
/// parabola its vertex, its value there, g = f / s^2 + v^2 (index units) and its left
/// breakpoint as a fraction zn / zd (zd > 0), so the envelope is built without a division.
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

/// buf[q] = sign * (s2 (q - v)^2 + f) for q in [q0, q1) (chunks of 16: vectorised at -O2).
[[gnu::noinline]] void fillParabola(float* __restrict buf, int q0, int q1, int v, float f, float s2,
                                    float sign) {
    auto one = [&](int q) {
        const auto d = static_cast<float>(q - v);
        buf[q] = sign * (s2 * d * d + f);
    };
    int q = q0;
    for (; q + 16 <= q1; q += 16)
        for (int u = 0; u < 16; ++u)
            one(q + u);
    for (; q < q1; ++q)
        one(q);
}

/// Writes the lower envelope held in env[0..top] over buf[a..b]: parabola p owns the positions up
/// to its successor's breakpoint (a tie stays with p). `sign` is +1 or -1 (the run's state).
void fillEnvelope(float* buf, int a, int b, int top, float s2, float sign, const Envelope& env) {
    int q = a;
    for (int p = 0; p <= top && q <= b; ++p) {
        int last = b;
        if (p < top) {
            const double x = std::floor(env.zn[static_cast<std::size_t>(p) + 1] /
                                        env.zd[static_cast<std::size_t>(p) + 1]);
            if (x < last) last = x < a ? a - 1 : static_cast<int>(x);
        }
        if (q <= last) {
            fillParabola(buf, q, last + 1, env.v[static_cast<std::size_t>(p)],
                         env.f[static_cast<std::size_t>(p)], s2, sign);
            q = last + 1;
        }
    }
}

/// The first index >= q where buf differs (bitwise) from `value`, or n.
int skipEqual(const float* buf, int q, int n, float value) {
    const auto pattern = std::bit_cast<std::uint32_t>(value);
    while (q + 16 <= n) {
        std::uint32_t differ = 0;
        for (int u = 0; u < 16; ++u)
            differ |= std::bit_cast<std::uint32_t>(buf[q + u]) ^ pattern;
        if (differ) break;
        q += 16;
    }
    while (q < n && std::bit_cast<std::uint32_t>(buf[q]) == pattern)
        ++q;
    return q;
}

/// Transforms one line in place. The line holds partial squared distances (mm^2) whose sign
/// carries the voxel's state in signed mode (negative = inside); in unsigned mode inside voxels
/// hold 0. Result: min_p (s^2 (q - p)^2 + |f(p)|), with the state's sign.
///
/// Signed: inside voxels get the distance to the nearest outside voxel, outside voxels to the
/// nearest inside voxel. Unsigned: distance to the mask (0 inside). Either way a voxel of a run
/// (maximal stretch of one state) only sees the run's own partial values and the two voxels that
/// bound the run (feature value 0): anything beyond a bounding voxel is farther than it. So each
/// run is one lower envelope (Felzenszwalb & Huttenlocher) of its finite samples plus those two,
/// found in the same scan that finds the run's end. While it is built, breakpoints are
/// fractions zn / zd (zd > 0) compared by cross-multiplication (exact in double, no division);
/// writing it out divides once per parabola of the envelope.
void transformLine(float* buf, int n, double s2, bool signedMode, Envelope& env) {
    const double inv = 1.0 / s2;
    const auto s2f = static_cast<float>(s2);
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
    int a = 0;
    while (a < n) {
        const bool in = signedMode ? std::signbit(buf[a]) : buf[a] == 0.0f;
        int q = a;
        if (!signedMode && in) { // the mask itself: 0 already
            while (q < n && buf[q] == 0.0f)
                ++q;
            a = q;
            continue;
        }
        k = -1;
        if (a > 0) push(a - 1, 0.0f);
        bool finite = false;
        // Infinities of the run's own state (no voxel that counts on their column) push
        // nothing: skip them 16 at a time, they often fill most of a line.
        const float skip = in ? -kInfF : kInfF;
        for (;;) {
            q = skipEqual(buf, q, n, skip);
            if (q >= n) break;
            const float f = buf[q];
            if (signedMode ? std::signbit(f) != in : f == 0.0f) break; // the run ends
            push(q, std::fabs(f));
            finite = true;
            ++q;
        }
        const int b = q - 1;
        const float sign = in ? -1.0f : 1.0f;
        if (q < n) push(q, 0.0f);
        if (k < 0) {
            // No voxel of the other state on this line and no partial distance: the run holds
            // infinities of its own state already.
        } else if (!finite) { // only the bounding voxels: the nearer one
            for (int p = a; p <= b; ++p) {
                const int dl = a > 0 ? p - a + 1 : kFar, dr = q < n ? q - p : kFar;
                const auto d = static_cast<float>(std::min(dl, dr));
                buf[p] = sign * s2f * d * d;
            }
        } else {
            fillEnvelope(buf, a, b, k, s2f, sign, env);
        }
        a = q;
    }
}

/// The z pass keeps, per voxel, its distance along z (index units) to the nearest voxel that
/// counts (signed: of the other state; unsigned: inside), in the low bits of a compact code, and
/// the voxel's state in the top bit: 2 bytes a voxel for up to 32766 slices instead of a float,
/// which halves what the slice pass has to read back from memory.
template <class Code> struct ZCode {
    static constexpr int kBits = 8 * static_cast<int>(sizeof(Code));
    static constexpr Code kState = static_cast<Code>(Code{1} << (kBits - 1));
    static constexpr Code kNone = static_cast<Code>(kState - 1); // no such voxel on the column
    static constexpr int kMaxSlices = static_cast<int>(kNone) - 1;
};

/// One column of one slice of the binary z scans. Forward: `nearIn` / `nearOut` = the last z of
/// either state so far, fz = distance to the one that counts. Backward: they hold the next z of
/// either state, and out = the code of the nearer side. Selects are bit masks (vectorisable).
template <class Code, bool Signed, bool Forward>
[[gnu::always_inline]] inline void zStep(const std::uint8_t* __restrict m, int* __restrict nearIn,
                                         int* __restrict nearOut, int* __restrict fz,
                                         Code* __restrict out, std::size_t c, int z) {
    constexpr int kNoneI = ZCode<Code>::kNone;
    constexpr int kStateI = ZCode<Code>::kState;
    const int inM = -static_cast<int>(m[c] != 0); // all ones inside
    const int in = (z & inM) | (nearIn[c] & ~inM);
    const int out0 = (nearOut[c] & inM) | (z & ~inM);
    nearIn[c] = in;
    nearOut[c] = out0;
    const int other = Signed ? (out0 & inM) | (in & ~inM) : in;
    if constexpr (Forward) {
        fz[c] = z - other;
    } else {
        const int ahead = other - z;
        int d = fz[c] < ahead ? fz[c] : ahead;
        d = d < kNoneI ? d : kNoneI;
        out[c] = static_cast<Code>(d | (inM & kStateI));
    }
}

/// zStep over n columns, in fixed chunks of 16 so that -O2 vectorises it (not inlined: the
/// restrict qualifiers are what allows that).
template <class Code, bool Signed, bool Forward>
[[gnu::noinline]] void zScan(const std::uint8_t* __restrict m, int* __restrict nearIn,
                             int* __restrict nearOut, int* __restrict fz, Code* __restrict out,
                             std::size_t n, int z) {
    std::size_t c = 0;
    for (; c + 16 <= n; c += 16)
        for (std::size_t u = 0; u < 16; ++u)
            zStep<Code, Signed, Forward>(m, nearIn, nearOut, fz, out, c + u, z);
    for (; c < n; ++c)
        zStep<Code, Signed, Forward>(m, nearIn, nearOut, fz, out, c, z);
}

/// Codes of one row to squared mm distances along z, the state in the sign in signed mode
/// (chunks of 16 and bit-mask selects, so that -O2 vectorises it).
template <class Code, bool Signed>
[[gnu::noinline]] void decodeRow(const Code* __restrict code, float* __restrict out, std::size_t n,
                                 float sz2) {
    constexpr int kInfBits = std::bit_cast<int>(kInfF);
    constexpr int kSignBit = std::bit_cast<int>(-0.0f);
    auto one = [&](std::size_t c) {
        const int v = code[c];
        const int d = v & ZCode<Code>::kNone;
        const auto df = static_cast<float>(d);
        const int noneM = -static_cast<int>(d == ZCode<Code>::kNone);
        int bits = (std::bit_cast<int>(sz2 * df * df) & ~noneM) | (kInfBits & noneM);
        if constexpr (Signed) bits |= -static_cast<int>((v & ZCode<Code>::kState) != 0) & kSignBit;
        out[c] = std::bit_cast<float>(bits);
    };
    std::size_t c = 0;
    for (; c + 16 <= n; c += 16)
        for (std::size_t u = 0; u < 16; ++u)
            one(c + u);
    for (; c < n; ++c)
        one(c);
}

/// Copies `rows` rows of a row-major band (row length sx, rows apart by `stride`) into / out of
/// the column-major copy t (column length sy) at rows y0..: short contiguous runs on the column
/// side, `rows` sequential streams on the row side.
template <bool ToColumns>
void transposeBand(float* __restrict band, std::size_t stride, float* __restrict t, std::size_t sx,
                   std::size_t sy, std::size_t y0, std::size_t rows) {
    for (std::size_t x = 0; x < sx; ++x) {
        float* col = t + x * sy + y0;
        float* row = band + x;
        for (std::size_t r = 0; r < rows; ++r) {
            if constexpr (ToColumns)
                col[r] = row[r * stride];
            else
                row[r * stride] = col[r];
        }
    }
}

/// Squared distances with the state in the sign to DistanceField's values: -(sqrt - h) inside,
/// +(sqrt - h) outside; infinities stay infinite. (SSE where there is SSE: without
/// -fno-math-errno the compiler keeps a scalar sqrt with an errno check.)
void finishValues(float* __restrict v, std::size_t n, float half) {
    std::size_t i = 0;
#if defined(__SSE2__)
    const __m128 signMask = _mm_set1_ps(-0.0f), h = _mm_set1_ps(half);
    for (; i + 4 <= n; i += 4) {
        const __m128 x = _mm_loadu_ps(v + i);
        const __m128 sign = _mm_and_ps(x, signMask);
        const __m128 d = _mm_sub_ps(_mm_sqrt_ps(_mm_andnot_ps(signMask, x)), h);
        _mm_storeu_ps(v + i, _mm_or_ps(d, sign));
    }
#endif
    for (; i < n; ++i)
        v[i] = std::copysign(std::sqrt(std::fabs(v[i])) - half, v[i]);
}

/// Runs fn(item, scratch) for item in [0, count) on all workers, handing items out one by one
/// (the work per slice or block varies a lot with the mask); each worker has its own Scratch.
template <class Scratch, class Fn> void forEachItem(std::size_t count, const Fn& fn) {
    std::atomic<std::size_t> next{0};
    const std::size_t workers =
        std::max<std::size_t>(1, std::min<std::size_t>(workerCount(), count));
    parallelFor(
        0, workers,
        [&](std::size_t, std::size_t) {
            Scratch scratch;
            for (std::size_t item = next++; item < count; item = next++)
                fn(item, scratch);
        },
        workers);
}

struct ZScratch {
    std::vector<int> nearIn, nearOut, fwd;
};

struct SliceScratch {
    std::vector<float> band, columns;
    std::unique_ptr<Envelope> env;
};

constexpr int kRowsPerBlock = 2; // rows of columns per z block (2 x 512 columns x 600: ~2.4 MB)
constexpr int kBand = 8;         // rows decoded and transposed together in the slice pass

/// The transform into `h` (allocated, not initialised): squared mm when `finish` is false, the
/// signed half-voxel corrected distance of DistanceField.h with it. Pass z (binary, two scans per
/// column over blocks of rows) into compact codes; then slice by slice, in cache: pass x along
/// the rows, a transpose, pass y along the columns, the final value, and the transpose back.
/// Returns false when cancelled.
template <class Code, bool Signed>
bool edtPassesT(const Mask& mask, bool finish, float* h, const Progress& progress) {
    const auto& g = mask.geometry;
    const int nx = g.dims[0], ny = g.dims[1], nz = g.dims[2];
    const auto sx = static_cast<std::size_t>(nx), sy = static_cast<std::size_t>(ny);
    const std::size_t plane = sx * sy;
    const std::uint8_t* mv = mask.voxels.data();
    std::atomic<bool> cancelled{false};
    auto stop = [&] {
        if (cancelled.load(std::memory_order_relaxed)) return true;
        if (!progress.cancelled()) return false;
        cancelled = true;
        return true;
    };

    // The z pass's compact codes get a buffer of their own. (Keeping them in the upper half of h
    // saved ~0.1 s of page faults but read the same memory as two types, which C++'s aliasing
    // rules do not allow; the per-slice read flags below stay as the hand-off between passes.)
    const std::size_t voxels = g.voxelCount();
    const std::unique_ptr<Code[]> ownCodes = std::make_unique_for_overwrite<Code[]>(voxels);
    Code* codes = ownCodes.get();
    const std::unique_ptr<std::atomic<bool>[]> codesRead(new std::atomic<bool>[nz]);
    for (int k = 0; k < nz; ++k)
        codesRead[static_cast<std::size_t>(k)].store(false, std::memory_order_relaxed);
    const std::size_t blocks = (sy + kRowsPerBlock - 1) / kRowsPerBlock;
    forEachItem<ZScratch>(blocks, [&](std::size_t blk, ZScratch& sc) {
        if (stop()) return;
        const std::size_t off = blk * kRowsPerBlock * sx;
        const std::size_t n = std::min<std::size_t>(kRowsPerBlock, sy - blk * kRowsPerBlock) * sx;
        sc.nearIn.assign(n, -kFar);
        sc.nearOut.assign(n, -kFar);
        sc.fwd.resize(n * static_cast<std::size_t>(nz));
        for (int z = 0; z < nz; ++z)
            zScan<Code, Signed, true>(
                mv + static_cast<std::size_t>(z) * plane + off, sc.nearIn.data(), sc.nearOut.data(),
                sc.fwd.data() + static_cast<std::size_t>(z) * n, nullptr, n, z);
        std::fill(sc.nearIn.begin(), sc.nearIn.end(), kFar); // now the next z of either state
        std::fill(sc.nearOut.begin(), sc.nearOut.end(), kFar);
        for (int z = nz - 1; z >= 0; --z)
            zScan<Code, Signed, false>(mv + static_cast<std::size_t>(z) * plane + off,
                                       sc.nearIn.data(), sc.nearOut.data(),
                                       sc.fwd.data() + static_cast<std::size_t>(z) * n,
                                       codes + static_cast<std::size_t>(z) * plane + off, n, z);
    });
    if (cancelled) return false;
    progress.report(0.3, "distance field");

    const double s2x = g.spacingMm.x * g.spacingMm.x, s2y = g.spacingMm.y * g.spacingMm.y;
    const auto sz2 = static_cast<float>(g.spacingMm.z * g.spacingMm.z);
    const auto half =
        static_cast<float>(std::min({g.spacingMm.x, g.spacingMm.y, g.spacingMm.z}) / 2.0);
    forEachItem<SliceScratch>(static_cast<std::size_t>(nz), [&](std::size_t k, SliceScratch& sc) {
        if (stop()) return;
        if (!sc.env) sc.env = std::make_unique<Envelope>(std::max(nx, ny));
        sc.band.resize(kBand * sx);
        sc.columns.resize(plane);
        float* band = sc.band.data();
        float* t = sc.columns.data();
        const Code* ck = codes + k * plane;
        for (std::size_t y0 = 0; y0 < sy; y0 += kBand) {
            const std::size_t rows = std::min<std::size_t>(kBand, sy - y0);
            for (std::size_t r = 0; r < rows; ++r) {
                float* row = band + r * sx;
                decodeRow<Code, Signed>(ck + (y0 + r) * sx, row, sx, sz2);
                transformLine(row, nx, s2x, Signed, *sc.env);
            }
            transposeBand<true>(band, sx, t, sx, sy, y0, rows);
        }
        codesRead[k].store(true, std::memory_order_release);
        for (std::size_t x = 0; x < sx; ++x)
            transformLine(t + x * sy, ny, s2y, Signed, *sc.env);
        if (finish) finishValues(t, plane, half);
        if constexpr (2 * sizeof(Code) == sizeof(float)) {
            // (A cancelled slice may never mark its codes read: stop() ends the wait.)
            auto read = [&](long q) {
                return q < 0 ||
                       codesRead[static_cast<std::size_t>(q)].load(std::memory_order_acquire);
            };
            const long first = 2 * static_cast<long>(k) - nz;
            while (!(read(first) && read(first + 1))) {
                if (stop()) return;
                std::this_thread::yield();
            }
        }
        float* hs = h + k * plane;
        for (std::size_t y0 = 0; y0 < sy; y0 += kBand)
            transposeBand<false>(hs + y0 * sx, sx, t, sx, sy, y0,
                                 std::min<std::size_t>(kBand, sy - y0));
    });
    if (cancelled) return false;
    progress.report(1.0, "distance field");
    return true;
}

bool edtPasses(const Mask& mask, bool signedMode, bool finish, float* h, const Progress& progress) {
    if (mask.geometry.voxelCount() == 0) return true;
    if (mask.geometry.dims[2] <= ZCode<std::uint16_t>::kMaxSlices)
        return signedMode ? edtPassesT<std::uint16_t, true>(mask, finish, h, progress)
                          : edtPassesT<std::uint16_t, false>(mask, finish, h, progress);
    return signedMode ? edtPassesT<std::uint32_t, true>(mask, finish, h, progress)
                      : edtPassesT<std::uint32_t, false>(mask, finish, h, progress);
}

} // namespace

std::vector<float> squaredDistanceToMaskMm2(const Mask& mask, const Progress& progress) {
    PRECIS_ASSERT(mask.voxels.size() == mask.geometry.voxelCount(), "mask size != geometry");
    std::vector<float> h(mask.voxels.size());
    if (!edtPasses(mask, false, false, h.data(), progress)) return {};
    return h;
}

DistanceField::DistanceField(const model::ImageGeometry& geometry, std::vector<float> valuesMm)
    : geometry_(geometry), size_(valuesMm.size()) {
    PRECIS_ASSERT(size_ == geometry_.voxelCount(), "field size != geometry");
    values_ = std::make_shared_for_overwrite<float[]>(size_);
    std::copy(valuesMm.begin(), valuesMm.end(), values_.get());
}

DistanceField::DistanceField(const model::ImageGeometry& geometry, std::shared_ptr<float[]> values)
    : geometry_(geometry), values_(std::move(values)), size_(geometry.voxelCount()) {}

bool DistanceField::contains(const glm::dvec3& lps) const {
    const glm::dvec3 p = geometry_.indexFromWorld(lps);
    constexpr double kEps = 1e-9;
    for (int a = 0; a < 3; ++a)
        if (p[a] < -kEps || p[a] > geometry_.dims[a] - 1 + kEps) return false;
    return true;
}

double DistanceField::sampleMm(const glm::dvec3& lps) const {
    PRECIS_ASSERT(size_ != 0, "sampling an empty distance field");
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
    const std::size_t n = mask.voxels.size();
    // Raw storage (no objects, no zero fill): the transform keeps its z codes in the upper half
    // before it writes the floats.
    std::shared_ptr<float[]> values(static_cast<float*>(::operator new(n * sizeof(float))),
                                    [](float* p) { ::operator delete(p); });
    if (!edtPasses(mask, true, true, values.get(), progress)) return {};
    return DistanceField(mask.geometry, std::move(values));
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
