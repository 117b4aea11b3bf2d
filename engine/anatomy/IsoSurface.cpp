#include "anatomy/IsoSurface.h"

#include "core/Parallel.h"

#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

namespace precis::anatomy {
namespace {

// ---------------------------------------------------------------------------------------------
// Case table, generated at start-up rather than copied: for each of the 256 corner
// configurations, the crossings on each cube face are joined into segments with one fixed rule
// (on a face with four crossings the inside corners are kept apart). Because the rule depends only
// on the face's own corners, the two cells sharing a face make the same segments, so the surface is
// watertight. Segments are directed so that, seen from outside the cube, the inside lies on their
// left; chaining them gives closed loops whose fan triangulation winds counter-clockwise seen from
// the outside of the region (normals point from "inside" = above iso toward "outside").
//
// Corner c sits at (c&1, (c>>1)&1, (c>>2)&1). Edge ids: axis*4 + the two other coordinate bits
// (x-edges: y + 2z; y-edges: x + 2z; z-edges: x + 2y).

// A loop of crossed edges. Fanned from its first vertex unless two non-neighbouring vertices lie
// on one cube face (only possible through an ambiguous face): a fan diagonal there could coincide
// with the neighbouring cell's, so such loops are fanned around an extra centre vertex instead.
struct Loop {
    std::array<std::int8_t, 12> edges{};
    std::uint8_t size = 0;
    bool needsCenter = false;
};

struct CaseTable {
    std::array<std::array<Loop, 4>, 256> loops{};
    std::array<std::uint8_t, 256> loopCount{};
};

constexpr std::array<std::array<int, 2>, 12> kEdgeCorners = [] {
    std::array<std::array<int, 2>, 12> ec{};
    for (int e = 0; e < 12; ++e) {
        int axis = e >> 2, b0 = e & 1, b1 = (e >> 1) & 1;
        int u = axis == 0 ? 1 : 0, v = axis == 2 ? 1 : 2; // the two other axes, ascending
        int c = (b0 << u) | (b1 << v);
        ec[e] = {c, c | (1 << axis)};
    }
    return ec;
}();

bool edgesShareFace(int e1, int e2) {
    int corners[4] = {kEdgeCorners[e1][0], kEdgeCorners[e1][1], kEdgeCorners[e2][0], kEdgeCorners[e2][1]};
    for (int axis = 0; axis < 3; ++axis) {
        int bit = (corners[0] >> axis) & 1;
        bool same = true;
        for (int c : corners) same = same && ((c >> axis) & 1) == bit;
        if (same) return true;
    }
    return false;
}

int edgeBetween(int a, int b) {
    int diff = a ^ b;
    int axis = diff == 1 ? 0 : diff == 2 ? 1 : 2;
    int lo = a & b; // the corner with the differing bit cleared... both share the other bits
    int x = lo & 1, y = (lo >> 1) & 1, z = (lo >> 2) & 1;
    switch (axis) {
    case 0: return 0 + y + 2 * z;
    case 1: return 4 + x + 2 * z;
    default: return 8 + x + 2 * y;
    }
}

glm::ivec3 cornerPos(int c) { return {c & 1, (c >> 1) & 1, (c >> 2) & 1}; }

CaseTable buildCaseTable() {
    // Faces: fixed axis/side, corners in a cycle; flip cycles so they run counter-clockwise seen
    // from outside (cross product of consecutive edges = outward normal).
    std::array<std::array<int, 4>, 6> faces{};
    int f = 0;
    for (int axis = 0; axis < 3; ++axis) {
        for (int side = 0; side < 2; ++side, ++f) {
            int u = (axis + 1) % 3, v = (axis + 2) % 3;
            auto corner = [&](int a, int b) {
                int c = 0;
                if (side) c |= 1 << axis;
                if (a) c |= 1 << u;
                if (b) c |= 1 << v;
                return c;
            };
            std::array<int, 4> cyc{corner(0, 0), corner(1, 0), corner(1, 1), corner(0, 1)};
            glm::ivec3 p0 = cornerPos(cyc[0]), p1 = cornerPos(cyc[1]), p2 = cornerPos(cyc[2]);
            glm::vec3 n = glm::cross(glm::vec3(p1 - p0), glm::vec3(p2 - p1));
            glm::ivec3 outward(0);
            outward[axis] = side ? 1 : -1;
            if (glm::dot(n, glm::vec3(outward)) < 0) std::swap(cyc[1], cyc[3]);
            faces[f] = cyc;
        }
    }
    CaseTable table;
    for (int config = 0; config < 256; ++config) {
        auto inside = [&](int c) { return (config >> c) & 1; };
        std::array<int, 12> next;
        next.fill(-1);
        for (const auto& cyc : faces) {
            // Crossings in cycle order with their type.
            std::array<int, 4> edge{};
            std::array<bool, 4> outToIn{};
            int n = 0;
            for (int i = 0; i < 4; ++i) {
                int a = cyc[i], b = cyc[(i + 1) % 4];
                if (inside(a) != inside(b)) {
                    edge[n] = edgeBetween(a, b);
                    outToIn[n] = !inside(a);
                    ++n;
                }
            }
            for (int i = 0; i < n; ++i)
                if (outToIn[i]) next[edge[i]] = edge[(i + 1) % n];
        }
        std::array<bool, 12> used{};
        int count = 0;
        for (int start = 0; start < 12; ++start) {
            if (next[start] < 0 || used[start]) continue;
            Loop& loop = table.loops[config][count++];
            for (int e = start; !used[e]; e = next[e]) {
                used[e] = true;
                loop.edges[loop.size++] = static_cast<std::int8_t>(e);
            }
            for (int a = 0; a < loop.size; ++a)
                for (int b = a + 2; b < loop.size; ++b)
                    if (!(a == 0 && b == loop.size - 1) && edgesShareFace(loop.edges[a], loop.edges[b]))
                        loop.needsCenter = true;
        }
        table.loopCount[config] = static_cast<std::uint8_t>(count);
    }
    return table;
}

const CaseTable& caseTable() {
    static const CaseTable table = buildCaseTable();
    return table;
}

// ---------------------------------------------------------------------------------------------
// Extraction over a virtually padded grid (when closing at the border): one layer of "outside"
// around the volume closes regions that touch its border (caps lie on the border voxel centres).
//
// Speed comes from the trimming idea of Flying Edges (Schroeder et al. 2015): each slice is first
// classified row by row (inside bytes + the x-range where the row crosses the iso value); rows,
// row pairs and cell rows that see no crossing are skipped, and work inside a row is limited to
// the union of its neighbours' ranges. Because of the padding, a row is either empty or crosses.
//
// Field::inside(i, j, k) and Field::value(i, j, k) take real (unpadded) indices; value() is only
// used to place vertices.

struct RowInfo {
    int first = 0; // first padded x-edge index that crosses (in[x] != in[x+1]), or -1 when none
    int last = -1; // last such index
    // An end of the row is inside (only without border closing): the row is not "empty" outside
    // its crossing range, so neighbouring work cannot be trimmed to that range.
    bool endInside = false;
};

/// Calls f(i) for every i in [lo, hi] where a[i] != b[i] (bytes are 0/1), 8 bytes at a time.
template <class F>
inline void forEachDiff(const std::uint8_t* a, const std::uint8_t* b, int lo, int hi, F&& f) {
    int i = lo;
    for (; i + 8 <= hi + 1; i += 8) {
        std::uint64_t wa, wb;
        std::memcpy(&wa, a + i, 8);
        std::memcpy(&wb, b + i, 8);
        for (std::uint64_t x = wa ^ wb; x; x &= x - 1) f(i + (std::countr_zero(x) >> 3));
    }
    for (; i <= hi; ++i)
        if (a[i] != b[i]) f(i);
}

template <class Field>
class Extractor {
public:
    Extractor(const model::ImageGeometry& g, const Field& field, bool closeBorder)
        : g_(g), field_(field), closeBorder_(closeBorder), pad_(closeBorder ? 1 : 0),
          px_(g.dims[0] + 2 * pad_), py_(g.dims[1] + 2 * pad_), pz_(g.dims[2] + 2 * pad_) {}

    model::Mesh run(const Progress& progress) {
        const int cellSlices = pz_ - 1;
        const std::size_t chunkCount =
            std::min<std::size_t>(std::max(1u, workerCount()) * 4, std::size_t(cellSlices));
        std::vector<Chunk> chunks(chunkCount);
        std::atomic<int> slicesDone{0};
        std::atomic<std::size_t> nextChunk{0};
        // Workers pull chunks so a thread that drew empty slices takes more.
        parallelFor(0, std::min<std::size_t>(workerCount(), chunkCount), [&](std::size_t, std::size_t) {
            for (std::size_t c; (c = nextChunk++) < chunkCount;) {
                int k0 = int(cellSlices * c / chunkCount);
                int k1 = int(cellSlices * (c + 1) / chunkCount);
                runChunk(chunks[c], k0, k1, [&] {
                    int n = ++slicesDone;
                    if (n % 16 == 0) progress.report(double(n) / cellSlices, "iso-surface");
                });
            }
        });

        // Stitch: each chunk's last block (x/y edges of its top slice) duplicates the next chunk's
        // first block; drop it and point its indices at the next chunk's vertices.
        std::vector<std::uint32_t> base(chunkCount);
        std::size_t total = 0;
        auto dropped = [&](std::size_t c) {
            return c + 1 == chunkCount ? 0u : chunks[c].topEnd - chunks[c].topStart;
        };
        for (std::size_t c = 0; c < chunkCount; ++c) {
            base[c] = static_cast<std::uint32_t>(total);
            total += chunks[c].positions.size() - dropped(c);
        }
        model::Mesh mesh;
        mesh.positions.resize(total);
        std::size_t triTotal = 0;
        for (auto& ch : chunks) triTotal += ch.indices.size();
        mesh.indices.resize(triTotal);
        std::vector<std::size_t> triBase(chunkCount);
        for (std::size_t c = 0, at = 0; c < chunkCount; ++c) {
            triBase[c] = at;
            at += chunks[c].indices.size();
        }
        parallelFor(0, chunkCount, [&](std::size_t b, std::size_t e) {
            for (std::size_t c = b; c < e; ++c) {
                const Chunk& ch = chunks[c];
                const std::uint32_t lo = ch.topStart, drop = dropped(c), hiStart = lo + drop;
                std::copy(ch.positions.begin(), ch.positions.begin() + lo,
                          mesh.positions.begin() + base[c]);
                std::copy(ch.positions.begin() + hiStart, ch.positions.end(),
                          mesh.positions.begin() + base[c] + lo);
                for (std::size_t i = 0; i < ch.indices.size(); ++i) {
                    std::uint32_t local = ch.indices[i];
                    std::uint32_t global;
                    if (local < lo) global = base[c] + local;
                    else if (local < hiStart) global = base[c + 1] + (local - lo);
                    else global = base[c] + local - drop;
                    mesh.indices[triBase[c] + i] = global;
                }
            }
        });
        return mesh;
    }

private:
    struct Chunk {
        std::vector<glm::vec3> positions;
        std::vector<std::uint32_t> indices;
        std::uint32_t topStart = 0; // [topStart, topEnd): x/y edges of the top slice, which
        std::uint32_t topEnd = 0;   // duplicate the next chunk's first block [0, topEnd - topStart)
    };

    struct Slice {
        std::vector<std::uint8_t> in; // padded px*py inside flags
        std::vector<RowInfo> rows;    // per padded row
        std::vector<std::uint32_t> xe, ye; // vertex ids of crossing x/y edges (others undefined)
    };

    void classify(int pk, Slice& s) const {
        const bool borderSlice = pk == 0 || pk == pz_ - 1;
        for (int pj = 0; pj < py_; ++pj) {
            std::uint8_t* in = s.in.data() + std::size_t(pj) * px_;
            RowInfo& row = s.rows[pj];
            row = RowInfo{-1, -1, false};
            if (closeBorder_ && (borderSlice || pj == 0 || pj == py_ - 1)) {
                std::fill(in, in + px_, std::uint8_t(0));
                continue;
            }
            if (closeBorder_) {
                in[0] = 0;
                in[px_ - 1] = 0;
            }
            field_.classifyRow(pj - pad_, pk - pad_, in + pad_);
            int first = -1, last = -1;
            forEachDiff(in, in + 1, 0, px_ - 2, [&](int pi) {
                if (first < 0) first = pi;
                last = pi;
            });
            row.first = first;
            row.last = last;
            row.endInside = in[0] || in[px_ - 1];
        }
    }

    /// Value at a (padded) grid point; the padding of a closed surface is -inf (outside).
    [[nodiscard]] float valuePadded(int pi, int pj, int pk) const {
        const int i = pi - pad_, j = pj - pad_, k = pk - pad_;
        if (i < 0 || j < 0 || k < 0 || i >= g_.dims[0] || j >= g_.dims[1] || k >= g_.dims[2])
            return -INFINITY;
        return field_.value(i, j, k);
    }

    [[nodiscard]] glm::vec3 edgePoint(glm::ivec3 a, glm::ivec3 b) const {
        float va = valuePadded(a.x, a.y, a.z), vb = valuePadded(b.x, b.y, b.z);
        glm::dvec3 ia(a - pad_), ib(b - pad_);
        double t;
        if (std::isinf(va)) t = 1.0;
        else if (std::isinf(vb)) t = 0.0;
        else t = (double(field_.iso()) - va) / (double(vb) - va);
        t = std::clamp(t, 0.0, 1.0);
        return glm::vec3(g_.worldFromIndex(ia + (ib - ia) * t));
    }

    /// Union of the crossing ranges of some rows (x-edge indices lo..hi; voxels lo..hi+1 may
    /// differ from the outside); false when every row is entirely outside.
    bool unionRange(std::initializer_list<const RowInfo*> rows, int& lo, int& hi) const {
        lo = INT32_MAX;
        hi = -1;
        for (const RowInfo* r : rows)
            if (r->endInside) {
                lo = 0;
                hi = px_ - 2;
                return true;
            }
        for (const RowInfo* r : rows)
            if (r->first >= 0) {
                lo = std::min(lo, r->first);
                hi = std::max(hi, r->last);
            }
        return hi >= 0;
    }

    template <class Tick>
    void runChunk(Chunk& ch, int k0, int k1, Tick tick) {
        const std::size_t plane = std::size_t(px_) * py_;
        Slice slices[2];
        for (auto& s : slices) {
            s.in.assign(plane, 0);
            s.rows.assign(py_, RowInfo{});
            s.xe.assign(plane, 0);
            s.ye.assign(plane, 0);
        }
        std::vector<std::uint32_t> ze(plane, 0);
        auto addVertex = [&](glm::vec3 p) {
            ch.positions.push_back(p);
            return std::uint32_t(ch.positions.size() - 1);
        };
        // x/y edge vertices of one slice, in a fixed order (the stitching relies on it).
        auto sliceEdges = [&](int pk, Slice& s) {
            for (int pj = 0; pj < py_; ++pj) {
                const RowInfo& row = s.rows[pj];
                const std::uint8_t* in = s.in.data() + std::size_t(pj) * px_;
                const std::size_t rowAt = std::size_t(pj) * px_;
                if (row.first >= 0)
                    forEachDiff(in, in + 1, row.first, row.last, [&](int pi) {
                        s.xe[rowAt + pi] = addVertex(edgePoint({pi, pj, pk}, {pi + 1, pj, pk}));
                    });
                if (pj + 1 >= py_) continue;
                int lo, hi;
                if (!unionRange({&row, &s.rows[pj + 1]}, lo, hi)) continue;
                forEachDiff(in, in + px_, lo, hi + 1, [&](int pi) {
                    s.ye[rowAt + pi] = addVertex(edgePoint({pi, pj, pk}, {pi, pj + 1, pk}));
                });
            }
        };
        const CaseTable& table = caseTable();
        classify(k0, slices[0]);
        sliceEdges(k0, slices[0]);
        for (int pk = k0; pk < k1; ++pk) {
            Slice& lo = slices[0];
            Slice& hi = slices[1];
            classify(pk + 1, hi);
            for (int pj = 0; pj < py_; ++pj) {
                int a, b;
                if (!unionRange({&lo.rows[pj], &hi.rows[pj]}, a, b)) continue;
                const std::size_t rowAt = std::size_t(pj) * px_;
                forEachDiff(lo.in.data() + rowAt, hi.in.data() + rowAt, a, b + 1, [&](int pi) {
                    ze[rowAt + pi] = addVertex(edgePoint({pi, pj, pk}, {pi, pj, pk + 1}));
                });
            }
            if (pk + 1 == k1) ch.topStart = std::uint32_t(ch.positions.size());
            sliceEdges(pk + 1, hi);
            if (pk + 1 == k1) ch.topEnd = std::uint32_t(ch.positions.size());
            for (int pj = 0; pj + 1 < py_; ++pj) {
                int a, b;
                if (!unionRange({&lo.rows[pj], &lo.rows[pj + 1], &hi.rows[pj], &hi.rows[pj + 1]},
                                a, b))
                    continue;
                const std::size_t rowAt = std::size_t(pj) * px_;
                const std::uint8_t* l0 = lo.in.data() + rowAt;
                const std::uint8_t* l1 = l0 + px_;
                const std::uint8_t* h0 = hi.in.data() + rowAt;
                const std::uint8_t* h1 = h0 + px_;
                // Corner bits: c&1 = x, c&2 = y, c&4 = z. The x=0 half of a cell is the x=1 half
                // of the previous one.
                auto half = [&](int pi) {
                    return l0[pi] | (l1[pi] << 2) | (h0[pi] << 4) | (h1[pi] << 6);
                };
                // Runs of 8 cells whose 4 x 9 corners are all inside or all outside are skipped
                // with word compares (most cells of a large body are).
                auto uniformRun = [&](int pi) {
                    std::uint64_t w[4];
                    std::memcpy(&w[0], l0 + pi + 1, 8);
                    std::memcpy(&w[1], l1 + pi + 1, 8);
                    std::memcpy(&w[2], h0 + pi + 1, 8);
                    std::memcpy(&w[3], h1 + pi + 1, 8);
                    const std::uint64_t all = 0x0101010101010101ull;
                    if ((w[0] | w[1] | w[2] | w[3]) == 0) return 0;
                    if ((w[0] & w[1] & w[2] & w[3]) == all) return 255;
                    return -1;
                };
                int left = half(a);
                for (int pi = a; pi <= b; ++pi) {
                    // left holds corners x = pi; cells pi..pi+7 need x = pi+1..pi+8 as well.
                    if ((left == 0 || left == 0x55) && pi + 8 <= b) {
                        int u = uniformRun(pi);
                        if (u == (left ? 255 : 0)) {
                            pi += 7;
                            left = half(pi + 1);
                            continue;
                        }
                    }
                    const int right = half(pi + 1);
                    const int config = left | (right << 1);
                    left = right;
                    if (config == 0 || config == 255) continue;
                    const std::size_t at = rowAt + pi;
                    auto vertexOf = [&](int e) -> std::uint32_t {
                        int axis = e >> 2, b0 = e & 1, b1 = (e >> 1) & 1;
                        if (axis == 0) return (b1 ? hi : lo).xe[at + b0 * px_]; // (y=b0, z=b1)
                        if (axis == 1) return (b1 ? hi : lo).ye[at + b0];       // (x=b0, z=b1)
                        return ze[at + b0 + b1 * px_];                          // (x=b0, y=b1)
                    };
                    for (int l = 0; l < table.loopCount[config]; ++l) {
                        const Loop& loop = table.loops[config][l];
                        std::array<std::uint32_t, 12> v{};
                        for (int i = 0; i < loop.size; ++i) v[i] = vertexOf(loop.edges[i]);
                        if (!loop.needsCenter) {
                            for (int i = 1; i + 1 < loop.size; ++i)
                                ch.indices.insert(ch.indices.end(), {v[0], v[i], v[i + 1]});
                            continue;
                        }
                        glm::vec3 c(0.0f);
                        for (int i = 0; i < loop.size; ++i) c += ch.positions[v[i]];
                        std::uint32_t center = addVertex(c / float(loop.size));
                        for (int i = 0; i < loop.size; ++i)
                            ch.indices.insert(ch.indices.end(),
                                              {center, v[i], v[(i + 1) % loop.size]});
                    }
                }
            }
            std::swap(slices[0], slices[1]);
            tick();
        }
        if (k0 == k1) ch.topStart = ch.topEnd = std::uint32_t(ch.positions.size());
    }

    const model::ImageGeometry& g_;
    const Field& field_;
    bool closeBorder_;
    int pad_; // 1: a virtual layer of "outside" around the grid; 0: the grid as it is
    int px_, py_, pz_;
};

/// CT/MR values: inside = value > iso.
struct VolumeField {
    const model::Volume& v;
    float isoValue;
    [[nodiscard]] float iso() const { return isoValue; }
    [[nodiscard]] bool inside(int i, int j, int k) const {
        return float(v.voxels[v.geometry.linearIndex(i, j, k)]) > isoValue;
    }
    [[nodiscard]] float value(int i, int j, int k) const {
        return float(v.voxels[v.geometry.linearIndex(i, j, k)]);
    }
    void classifyRow(int j, int k, std::uint8_t* out) const {
        const std::int16_t* row = v.voxels.data() + v.geometry.linearIndex(0, j, k);
        // Integer compare: value > iso  <=>  value > floor(iso) for integer values.
        const int threshold = int(std::floor(isoValue));
        for (int i = 0; i < v.geometry.dims[0]; ++i) out[i] = row[i] > threshold;
    }
};

/// Label maps: inside = label == wanted, iso 0.5.
struct LabelField {
    const model::LabelMap& m;
    std::uint8_t label;
    [[nodiscard]] float iso() const { return 0.5f; }
    [[nodiscard]] bool inside(int i, int j, int k) const {
        return m.voxels[m.geometry.linearIndex(i, j, k)] == label;
    }
    [[nodiscard]] float value(int i, int j, int k) const { return inside(i, j, k) ? 1.0f : 0.0f; }
    void classifyRow(int j, int k, std::uint8_t* out) const {
        const std::uint8_t* row = m.voxels.data() + m.geometry.linearIndex(0, j, k);
        for (int i = 0; i < m.geometry.dims[0]; ++i) out[i] = row[i] == label;
    }
};

/// Union-find root with path halving.
std::uint32_t findRoot(std::vector<std::uint32_t>& parent, std::uint32_t v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
}

/// Moves the vertices of a label surface along their normals so that each connected component
/// encloses the volume of the voxels it bounds (see IsoSurfaceOptions::preserveLabelVolume).
///
/// Every vertex of a label surface away from the grid border sits at the centre of a face between
/// an inside and an outside voxel, so the faces of a component are known from its vertices, and
/// the volume the voxel faces enclose follows from the divergence theorem over the x-faces alone
/// (index space: sum of +-x). Vertices on the border caps (at border voxel centres) stay where they
/// are, and the target loses what the caps cut off the border voxels. Each pass moves every other
/// vertex of a component by the same distance along its area-weighted normal, the component's
/// volume error divided by the volume gradient's size.
void restoreLabelVolume(model::Mesh& mesh, const model::LabelMap& labels, std::uint8_t label) {
    const model::ImageGeometry& g = labels.geometry;
    const std::size_t nv = mesh.positions.size(), nt = mesh.triangleCount();
    if (nt == 0) return;
    std::vector<std::uint32_t> parent(nv);
    for (std::size_t v = 0; v < nv; ++v) parent[v] = static_cast<std::uint32_t>(v);
    for (std::size_t t = 0; t < nt; ++t)
        for (int c = 1; c < 3; ++c) {
            const std::uint32_t a = findRoot(parent, mesh.indices[3 * t]);
            const std::uint32_t b = findRoot(parent, mesh.indices[3 * t + c]);
            if (a != b) parent[std::max(a, b)] = std::min(a, b);
        }
    std::vector<std::uint32_t> component(nv);
    std::uint32_t components = 0;
    for (std::size_t v = 0; v < nv; ++v) {
        const std::uint32_t r = findRoot(parent, static_cast<std::uint32_t>(v));
        component[v] = r == v ? components++ : component[r];
    }

    // Targets in index units (voxels), and which vertices may move.
    std::vector<double> target(components, 0.0);
    std::vector<std::uint8_t> movable(nv, 1);
    constexpr double kTol = 0.01; // of a voxel; positions are float
    for (std::size_t v = 0; v < nv; ++v) {
        const glm::dvec3 q = g.indexFromWorld(glm::dvec3(mesh.positions[v]));
        const glm::dvec3 r = glm::round(q);
        int halfAxis = -1, halves = 0;
        for (int a = 0; a < 3; ++a)
            if (std::abs(std::abs(q[a] - r[a]) - 0.5) < kTol) {
                halfAxis = a;
                ++halves;
            } else if (std::abs(q[a] - r[a]) >= kTol) {
                halves = 9; // neither: a loop centre
            }
        if (halves == 1 && halfAxis == 0) { // an x-face between two voxels
            const int lo = int(std::floor(q.x));
            const bool insideLow = lo >= 0 && labels.at(lo, int(r.y), int(r.z)) == label;
            target[component[v]] += insideLow ? q.x : -q.x;
        } else if (halves == 0) { // on a border cap, at a border voxel centre
            movable[v] = 0;
            const glm::ivec3 i(r);
            int planes = 0;
            double keptFraction = 1.0; // of this voxel, inside the caps
            for (int a = 0; a < 3; ++a) {
                const int on = (i[a] == 0) + (i[a] == g.dims[a] - 1);
                planes += on;
                keptFraction *= 1.0 - 0.5 * on;
            }
            if (planes == 0) continue; // not expected: leave it
            double x = 0;
            if (i.x == 0) x += 0.5;                         // face at -0.5, outward -x
            if (i.x == g.dims[0] - 1) x += g.dims[0] - 0.5; // face at dims - 0.5, outward +x
            // One cap vertex per border plane at this voxel: each takes its share of the voxel
            // faces' volume and of what the caps cut off the voxel.
            target[component[v]] += (x - (1.0 - keptFraction)) / planes;
        }
    }
    const double voxelMm3 =
        std::abs(glm::determinant(g.direction)) * g.spacingMm.x * g.spacingMm.y * g.spacingMm.z;
    for (double& t : target) t *= voxelMm3;

    std::vector<glm::dvec3> normal(nv);
    std::vector<double> volume(components), gradient(components);
    for (int pass = 0; pass < 3; ++pass) {
        std::fill(normal.begin(), normal.end(), glm::dvec3(0.0));
        std::fill(volume.begin(), volume.end(), 0.0);
        std::fill(gradient.begin(), gradient.end(), 0.0);
        for (std::size_t t = 0; t < nt; ++t) {
            const std::uint32_t* f = &mesh.indices[3 * t];
            // Relative to the triangle's first vertex for the cross product, and to a point of
            // the component for the volume, so float-sized coordinates keep their precision.
            const glm::dvec3 o(mesh.positions[f[0]]);
            const glm::dvec3 a = glm::dvec3(mesh.positions[f[1]]) - o;
            const glm::dvec3 b = glm::dvec3(mesh.positions[f[2]]) - o;
            const glm::dvec3 n = glm::cross(a, b);
            for (int c = 0; c < 3; ++c) normal[f[c]] += n;
            const glm::dvec3 base =
                o - glm::dvec3(mesh.positions[findRoot(parent, f[0])]); // component's root
            volume[component[f[0]]] += glm::dot(base, n) / 6.0;
        }
        for (std::size_t v = 0; v < nv; ++v)
            if (movable[v]) gradient[component[v]] += glm::length(normal[v]) / 6.0;
        bool done = true;
        std::vector<double> step(components, 0.0);
        for (std::uint32_t c = 0; c < components; ++c)
            if (gradient[c] > 0 && std::abs(target[c] - volume[c]) > 1e-6 * std::abs(target[c])) {
                step[c] = (target[c] - volume[c]) / gradient[c];
                done = false;
            }
        if (done) break;
        for (std::size_t v = 0; v < nv; ++v) {
            const double len = glm::length(normal[v]);
            if (movable[v] && len > 0)
                mesh.positions[v] += glm::vec3(normal[v] * (step[component[v]] / len));
        }
    }
}

template <class Field>
model::Mesh extract(const model::ImageGeometry& g, const Field& field,
                    const IsoSurfaceOptions& options, const Progress& progress) {
    if (g.voxelCount() == 0) return {};
    Extractor<Field> ex(g, field, options.closeAtBorder);
    model::Mesh mesh = ex.run(progress);
    // A left-handed direction matrix mirrors index space: flip winding to keep normals outward.
    if (glm::determinant(g.direction) < 0)
        for (std::size_t t = 0; t + 2 < mesh.indices.size(); t += 3)
            std::swap(mesh.indices[t + 1], mesh.indices[t + 2]);
    if constexpr (std::is_same_v<Field, LabelField>)
        if (options.preserveLabelVolume) restoreLabelVolume(mesh, field.m, field.label);
    if (options.computeNormals) mesh.computeNormals();
    return mesh;
}

} // namespace

model::Mesh extractIsoSurface(const model::Volume& volume, double isoHu,
                              const IsoSurfaceOptions& options, const Progress& progress) {
    return extract(volume.geometry, VolumeField{volume, float(isoHu)}, options, progress);
}

model::Mesh extractLabelSurface(const model::LabelMap& labels, std::uint8_t label,
                                const IsoSurfaceOptions& options, const Progress& progress) {
    return extract(labels.geometry, LabelField{labels, label}, options, progress);
}

} // namespace precis::anatomy
