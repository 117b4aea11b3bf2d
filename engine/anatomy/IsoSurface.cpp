#include "anatomy/IsoSurface.h"

#include "core/Parallel.h"

#include <array>
#include <atomic>
#include <cmath>
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
// Extraction over a virtually padded grid: one layer of "outside" around the volume closes
// regions that touch its border (caps lie on the border voxel centres).

template <class Sampler>
class Extractor {
public:
    Extractor(const model::ImageGeometry& g, Sampler sampler, float iso)
        : g_(g), sample_(sampler), iso_(iso), px_(g.dims[0] + 2), py_(g.dims[1] + 2),
          pz_(g.dims[2] + 2) {}

    model::Mesh run(const Progress& progress) {
        const int cellSlices = pz_ - 1;
        const std::size_t chunkCount =
            std::min<std::size_t>(std::max(1u, workerCount()) * 2, std::size_t(cellSlices));
        std::vector<Chunk> chunks(chunkCount);
        std::atomic<int> slicesDone{0};
        parallelFor(0, chunkCount, [&](std::size_t b, std::size_t e) {
            for (std::size_t c = b; c < e; ++c) {
                int k0 = int(cellSlices * c / chunkCount);
                int k1 = int(cellSlices * (c + 1) / chunkCount);
                runChunk(chunks[c], k0, k1, [&] {
                    int n = ++slicesDone;
                    if (n % 16 == 0) progress.report(double(n) / cellSlices, "iso-surface");
                });
            }
        }, chunkCount);

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
        }, chunkCount);
        return mesh;
    }

private:
    struct Chunk {
        std::vector<glm::vec3> positions;
        std::vector<std::uint32_t> indices;
        std::uint32_t topStart = 0; // [topStart, topEnd): x/y edges of the top slice, which
        std::uint32_t topEnd = 0;   // duplicate the next chunk's first block [0, topEnd - topStart)
    };

    // Padded coordinates: p = index + 1; outside the volume the value is -inf (outside).
    [[nodiscard]] float value(int pi, int pj, int pk) const {
        int i = pi - 1, j = pj - 1, k = pk - 1;
        if (i < 0 || j < 0 || k < 0 || i >= g_.dims[0] || j >= g_.dims[1] || k >= g_.dims[2])
            return -INFINITY;
        return sample_(i, j, k);
    }

    [[nodiscard]] glm::vec3 edgePoint(glm::ivec3 a, glm::ivec3 b, float va, float vb) const {
        glm::dvec3 ia(a - 1), ib(b - 1);
        double t;
        if (std::isinf(va)) t = 1.0;
        else if (std::isinf(vb)) t = 0.0;
        else t = (double(iso_) - va) / (double(vb) - va);
        return glm::vec3(g_.worldFromIndex(ia + (ib - ia) * t));
    }

    template <class Tick>
    void runChunk(Chunk& ch, int k0, int k1, Tick tick) {
        const std::size_t plane = std::size_t(px_) * py_;
        std::vector<std::uint32_t> xe[2], ye[2], ze(plane);
        for (int l = 0; l < 2; ++l) {
            xe[l].assign(plane, 0);
            ye[l].assign(plane, 0);
        }
        std::vector<float> vals[2];
        vals[0].resize(plane);
        vals[1].resize(plane);
        auto loadSlice = [&](int pk, std::vector<float>& v) {
            for (int pj = 0; pj < py_; ++pj)
                for (int pi = 0; pi < px_; ++pi) v[std::size_t(pj) * px_ + pi] = value(pi, pj, pk);
        };
        auto addVertex = [&](glm::vec3 p) {
            ch.positions.push_back(p);
            return std::uint32_t(ch.positions.size() - 1);
        };
        auto inside = [&](float v) { return v > iso_; };
        // x/y edge vertices of one slice, in scan order (the stitching relies on this order).
        auto sliceEdges = [&](int pk, const std::vector<float>& v, std::vector<std::uint32_t>& xs,
                              std::vector<std::uint32_t>& ys) {
            for (int pj = 0; pj < py_; ++pj) {
                for (int pi = 0; pi < px_; ++pi) {
                    std::size_t at = std::size_t(pj) * px_ + pi;
                    float v0 = v[at];
                    if (pi + 1 < px_ && inside(v0) != inside(v[at + 1]))
                        xs[at] = addVertex(edgePoint({pi, pj, pk}, {pi + 1, pj, pk}, v0, v[at + 1]));
                    if (pj + 1 < py_ && inside(v0) != inside(v[at + px_]))
                        ys[at] = addVertex(edgePoint({pi, pj, pk}, {pi, pj + 1, pk}, v0, v[at + px_]));
                }
            }
        };
        const CaseTable& table = caseTable();
        loadSlice(k0, vals[0]);
        sliceEdges(k0, vals[0], xe[0], ye[0]);
        for (int pk = k0; pk < k1; ++pk) {
            const auto& lo = vals[0];
            auto& hi = vals[1];
            loadSlice(pk + 1, hi);
            for (std::size_t at = 0; at < plane; ++at)
                if (inside(lo[at]) != inside(hi[at])) {
                    int pi = int(at % px_), pj = int(at / px_);
                    ze[at] = addVertex(edgePoint({pi, pj, pk}, {pi, pj, pk + 1}, lo[at], hi[at]));
                }
            if (pk + 1 == k1) ch.topStart = std::uint32_t(ch.positions.size());
            sliceEdges(pk + 1, hi, xe[1], ye[1]);
            if (pk + 1 == k1) ch.topEnd = std::uint32_t(ch.positions.size());
            for (int pj = 0; pj + 1 < py_; ++pj) {
                for (int pi = 0; pi + 1 < px_; ++pi) {
                    std::size_t at = std::size_t(pj) * px_ + pi;
                    int config = 0;
                    for (int c = 0; c < 8; ++c) {
                        std::size_t a = at + (c & 1) + ((c >> 1) & 1) * px_;
                        float v = (c & 4) ? hi[a] : lo[a];
                        config |= int(inside(v)) << c;
                    }
                    if (config == 0 || config == 255) continue;
                    auto vertexOf = [&](int e) -> std::uint32_t {
                        int axis = e >> 2, b0 = e & 1, b1 = (e >> 1) & 1;
                        if (axis == 0) return xe[b1][at + b0 * px_]; // (y=b0, z=b1)
                        if (axis == 1) return ye[b1][at + b0];       // (x=b0, z=b1)
                        return ze[at + b0 + b1 * px_];               // (x=b0, y=b1)
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
                            ch.indices.insert(ch.indices.end(), {center, v[i], v[(i + 1) % loop.size]});
                    }
                }
            }
            std::swap(vals[0], vals[1]);
            std::swap(xe[0], xe[1]);
            std::swap(ye[0], ye[1]);
            tick();
        }
        if (k0 == k1) ch.topStart = ch.topEnd = std::uint32_t(ch.positions.size());
    }

    const model::ImageGeometry& g_;
    Sampler sample_;
    float iso_;
    int px_, py_, pz_;
};

template <class Sampler>
model::Mesh extract(const model::ImageGeometry& g, Sampler sampler, float iso,
                    const IsoSurfaceOptions& options, const Progress& progress) {
    if (g.voxelCount() == 0) return {};
    Extractor<Sampler> ex(g, sampler, iso);
    model::Mesh mesh = ex.run(progress);
    // A left-handed direction matrix mirrors index space: flip winding to keep normals outward.
    if (glm::determinant(g.direction) < 0)
        for (std::size_t t = 0; t + 2 < mesh.indices.size(); t += 3)
            std::swap(mesh.indices[t + 1], mesh.indices[t + 2]);
    if (options.computeNormals) mesh.computeNormals();
    return mesh;
}

} // namespace

model::Mesh extractIsoSurface(const model::Volume& volume, double isoHu,
                              const IsoSurfaceOptions& options, const Progress& progress) {
    const auto* v = volume.voxels.data();
    const auto& g = volume.geometry;
    auto sampler = [v, &g](int i, int j, int k) { return float(v[g.linearIndex(i, j, k)]); };
    return extract(g, sampler, float(isoHu), options, progress);
}

model::Mesh extractLabelSurface(const model::LabelMap& labels, std::uint8_t label,
                                const IsoSurfaceOptions& options, const Progress& progress) {
    const auto* v = labels.voxels.data();
    const auto& g = labels.geometry;
    auto sampler = [v, &g, label](int i, int j, int k) {
        return v[g.linearIndex(i, j, k)] == label ? 1.0f : 0.0f;
    };
    return extract(g, sampler, 0.5f, options, progress);
}

} // namespace precis::anatomy
