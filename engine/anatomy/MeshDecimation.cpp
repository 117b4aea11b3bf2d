#include "anatomy/MeshDecimation.h"

#include "anatomy/MeshBvh.h"
#include "anatomy/detail/HalfEdges.h"
#include "core/Parallel.h"

#include <meshoptimizer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace precis::anatomy {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Welds exactly coincident positions (meshopt_generateVertexRemap over positions only).
model::Mesh weld(const model::Mesh& mesh) {
    model::Mesh out;
    std::vector<unsigned int> remap(mesh.positions.size());
    const std::size_t unique = meshopt_generateVertexRemap(
        remap.data(), mesh.indices.data(), mesh.indices.size(), mesh.positions.data(),
        mesh.positions.size(), sizeof(glm::vec3));
    out.positions.resize(unique);
    meshopt_remapVertexBuffer(out.positions.data(), mesh.positions.data(), mesh.positions.size(),
                              sizeof(glm::vec3), remap.data());
    out.indices.resize(mesh.indices.size());
    meshopt_remapIndexBuffer(out.indices.data(), mesh.indices.data(), mesh.indices.size(),
                             remap.data());
    return out;
}

/// The mesh with the vertices joined by zero-length edges merged (into the lowest-numbered one)
/// and the triangles that then repeat a vertex dropped; the positions are kept as they are (the
/// merged vertices end up on no triangle). Marching cubes makes such edges where a voxel equals
/// the iso value (11 % of the vertices of a CT bone surface at 250 HU: integer HU), and
/// meshoptimizer treats their coincident ends as a texture seam and barely simplifies around
/// them. Nullopt when there is no such edge, or when a merged vertex would be on no triangle.
std::optional<model::Mesh> collapseZeroEdges(const model::Mesh& mesh) {
    const std::size_t triangles = mesh.triangleCount();
    std::atomic<bool> any{false};
    parallelFor(0, triangles, [&](std::size_t b, std::size_t e) {
        for (std::size_t t = b; t < e && !any.load(std::memory_order_relaxed); ++t)
            for (int c = 0; c < 3; ++c) {
                const std::uint32_t u = mesh.indices[3 * t + c],
                                    v = mesh.indices[3 * t + (c + 1) % 3];
                if (u != v && mesh.positions[u] == mesh.positions[v]) any = true;
            }
    });
    if (!any) return std::nullopt;
    // Union-find over the zero-length edges, the root the lowest vertex of its set.
    std::vector<std::uint32_t> root(mesh.positions.size());
    for (std::size_t v = 0; v < root.size(); ++v)
        root[v] = static_cast<std::uint32_t>(v);
    auto find = [&](std::uint32_t v) {
        while (root[v] != v)
            v = root[v] = root[root[v]];
        return v;
    };
    for (std::size_t i = 0; i < mesh.indices.size(); ++i) {
        const std::uint32_t u = mesh.indices[i], v = mesh.indices[i - i % 3 + (i % 3 + 1) % 3];
        if (u != v && mesh.positions[u] == mesh.positions[v]) {
            const std::uint32_t a = find(u), b = find(v);
            if (a != b) root[std::max(a, b)] = std::min(a, b);
        }
    }
    model::Mesh out;
    out.positions = mesh.positions;
    out.indices.reserve(mesh.indices.size());
    for (std::size_t t = 0; t < triangles; ++t) {
        const std::uint32_t a = find(mesh.indices[3 * t]), b = find(mesh.indices[3 * t + 1]),
                            c = find(mesh.indices[3 * t + 2]);
        if (a != b && b != c && a != c) out.indices.insert(out.indices.end(), {a, b, c});
    }
    // Each merged vertex stands in for the others at its position, in the measured error too; a
    // part made of zero-area triangles only would vanish unmeasured, so then nothing is merged.
    std::vector<std::uint8_t> used(mesh.positions.size(), 0);
    for (std::uint32_t v : out.indices)
        used[v] = 1;
    for (std::uint32_t v : mesh.indices)
        if (!used[find(v)]) return std::nullopt;
    return out;
}

/// The triangles that share all three vertices with another triangle, in either orientation,
/// ascending. Such a partner of (a, b, c) has the edge a→b or b→a with c as its third vertex,
/// so the half-edges of `indices` find them without comparing every triangle.
std::vector<std::uint32_t> coincidentTriangles(const std::vector<std::uint32_t>& indices,
                                               const detail::HalfEdges& edges) {
    const std::size_t triangles = indices.size() / 3;
    const std::size_t workers =
        std::max<std::size_t>(1, std::min<std::size_t>(workerCount(), triangles / 16384));
    std::vector<std::vector<std::uint32_t>> found(workers);
    auto third = [&](std::uint32_t owner) { // owner: 3t + k, the edge from corner k to k + 1
        return indices[owner - owner % 3 + (owner % 3 + 2) % 3];
    };
    // True when an edge a→b other than triangle t's own ends at c's triangle.
    auto partnered = [&](std::uint32_t a, std::uint32_t b, std::uint32_t c, std::size_t t) {
        const auto begin = edges.targets.begin() + edges.offsets[a];
        const auto end = edges.targets.begin() + edges.offsets[a + 1];
        for (auto it = std::lower_bound(begin, end, b); it != end && *it == b; ++it) {
            const std::uint32_t owner = edges.owners[std::size_t(it - edges.targets.begin())];
            if (owner / 3 != t && third(owner) == c) return true;
        }
        return false;
    };
    parallelFor(
        0, workers,
        [&](std::size_t w0, std::size_t w1) {
            for (std::size_t w = w0; w < w1; ++w)
                for (std::size_t t = triangles * w / workers; t < triangles * (w + 1) / workers;
                     ++t) {
                    const std::uint32_t a = indices[3 * t], b = indices[3 * t + 1],
                                        c = indices[3 * t + 2];
                    if (partnered(a, b, c, t) || partnered(b, a, c, t))
                        found[w].push_back(static_cast<std::uint32_t>(t));
                }
        },
        workers);
    std::vector<std::uint32_t> all;
    for (const auto& f : found)
        all.insert(all.end(), f.begin(), f.end());
    return all;
}

/// meshoptimizer can leave a pair of coincident triangles of opposite orientation (a zero-volume
/// fold) where a thin region collapsed. Removing both keeps every remaining edge paired. An exact
/// duplicate with the same orientation keeps one copy. `candidates`: ascending triangle indices
/// that include every triangle with a coincident partner (all of them will do). Returns the
/// triangles removed.
std::size_t removeFolds(std::vector<std::uint32_t>& indices,
                        const std::vector<std::uint32_t>& candidates) {
    // Candidates with the same vertex set are taken together, in triangle order.
    struct Entry {
        std::array<std::uint32_t, 3> key;
        std::uint32_t triangle;
    };
    std::vector<Entry> entries(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const std::uint32_t t = candidates[i];
        entries[i] = {{indices[3 * t], indices[3 * t + 1], indices[3 * t + 2]}, t};
        std::sort(entries[i].key.begin(), entries[i].key.end());
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
        return x.key != y.key ? x.key < y.key : x.triangle < y.triangle;
    });
    std::vector<std::uint32_t> drop;
    for (std::size_t i = 0; i < entries.size();) {
        std::size_t j = i + 1;
        while (j < entries.size() && entries[j].key == entries[i].key)
            ++j;
        // The first triangle of the set stays until a later one folds it away; after a fold the
        // next one starts over.
        std::uint32_t first = entries[i].triangle;
        bool firstDropped = false;
        for (std::size_t k = i + 1; k < j; ++k) {
            const std::uint32_t t = entries[k].triangle;
            if (firstDropped) {
                first = t;
                firstDropped = false;
                continue;
            }
            // Same orientation when triangle t is a rotation of the first one.
            const std::uint32_t* a = &indices[3 * std::size_t{first}];
            const std::uint32_t* b = &indices[3 * std::size_t{t}];
            bool same = false;
            for (int r = 0; r < 3; ++r)
                same = same || (a[0] == b[r] && a[1] == b[(r + 1) % 3] && a[2] == b[(r + 2) % 3]);
            drop.push_back(t);
            if (!same) {
                drop.push_back(first);
                firstDropped = true;
            }
        }
        i = j;
    }
    if (drop.empty()) return 0;
    std::sort(drop.begin(), drop.end());
    const std::size_t n = indices.size() / 3;
    std::size_t w = 0, d = 0;
    for (std::size_t t = 0; t < n; ++t) {
        if (d < drop.size() && drop[d] == t) {
            ++d;
            continue;
        }
        for (int k = 0; k < 3; ++k)
            indices[w++] = indices[3 * t + k];
    }
    indices.resize(w);
    return drop.size();
}

/// removeFolds over every triangle, for small index lists (no half-edges needed).
std::size_t removeFolds(std::vector<std::uint32_t>& indices) {
    std::vector<std::uint32_t> all(indices.size() / 3);
    for (std::size_t t = 0; t < all.size(); ++t)
        all[t] = static_cast<std::uint32_t>(t);
    return removeFolds(indices, all);
}

/// Output mesh with only the used vertices, in their original order (stable, so callers can
/// relate them to the input).
void compact(const model::Mesh& source, const std::vector<std::uint32_t>& indices,
             model::Mesh& out) {
    std::vector<std::uint32_t> remap(source.positions.size(), kNoTriangle);
    for (std::uint32_t i : indices) remap[i] = 0;
    out.positions.clear();
    out.normals.clear();
    for (std::size_t v = 0; v < source.positions.size(); ++v)
        if (remap[v] == 0) {
            remap[v] = static_cast<std::uint32_t>(out.positions.size());
            out.positions.push_back(source.positions[v]);
        }
    out.indices.resize(indices.size());
    for (std::size_t i = 0; i < indices.size(); ++i) out.indices[i] = remap[indices[i]];
}

/// Some triangles of a mesh on a compact copy of the vertices they use (the simplifier's cost
/// grows with the vertex count it is given). The first `ownVertices` positions are those of
/// `indices`; `ring` (for the error measurement of a piece) may use more, appended after them.
struct LocalMesh {
    std::vector<glm::vec3> positions;
    std::vector<std::uint32_t> indices, ring;
    std::vector<std::uint32_t> globalOf; // local vertex → vertex of the whole mesh
    /// The directed edges of `indices` without a twin among them (u << 32 | v), ascending.
    std::vector<std::uint64_t> border;
    std::size_t ownVertices = 0;

    /// The local vertex of global vertex g, added when new. `scratch`: kNoTriangle per vertex of
    /// the whole mesh, except for the vertices added so far.
    std::uint32_t add(const model::Mesh& mesh, std::uint32_t g,
                      std::vector<std::uint32_t>& scratch) {
        std::uint32_t& l = scratch[g];
        if (l == kNoTriangle) {
            l = static_cast<std::uint32_t>(globalOf.size());
            globalOf.push_back(g);
            positions.push_back(mesh.positions[g]);
        }
        return l;
    }
    /// Puts `scratch` back to all kNoTriangle.
    void release(std::vector<std::uint32_t>& scratch) const {
        for (std::uint32_t g : globalOf)
            scratch[g] = kNoTriangle;
    }
};

/// meshopt_simplify over the own triangles of `local`, to about targetTriangles, error target
/// errorMm. Returns local indices; errorMmOut gets the simplifier's estimate in mm.
std::vector<std::uint32_t> simplifyLocal(const LocalMesh& local, std::size_t targetTriangles,
                                         double errorMm, unsigned flags, double& errorMmOut) {
    errorMmOut = 0;
    if (targetTriangles * 3 >= local.indices.size() || local.ownVertices == 0) return local.indices;
    const float scale =
        meshopt_simplifyScale(&local.positions[0].x, local.ownVertices, sizeof(glm::vec3));
    if (!(scale > 0)) return local.indices;
    const glm::vec3* positions = local.positions.data();
    std::vector<std::uint32_t> out(local.indices.size());
    float relativeError = 0;
    out.resize(meshopt_simplify(out.data(), local.indices.data(), local.indices.size(),
                                &positions[0].x, local.ownVertices, sizeof(glm::vec3),
                                3 * targetTriangles, static_cast<float>(errorMm / scale), flags,
                                &relativeError));
    errorMmOut = double(relativeError) * scale;
    return out;
}

/// True when the simplified triangles `kept` of a piece can replace the piece in a closed mesh:
/// no degenerate or repeated directed edge, and the edges without a twin are exactly the piece's
/// border (locked, so the simplifier keeps it). meshoptimizer does not check the link condition:
/// where a thin part collapses, two sheets can end up sharing an edge (four triangles). `bad`
/// gets the (local) vertices of the edges at fault.
bool keepsBorder(const std::vector<std::uint32_t>& kept, const std::vector<std::uint64_t>& border,
                 std::vector<std::uint32_t>& bad) {
    bad.clear();
    auto blame = [&](std::uint64_t k) {
        bad.push_back(static_cast<std::uint32_t>(k >> 32));
        bad.push_back(static_cast<std::uint32_t>(k));
    };
    std::vector<std::uint64_t> e(kept.size());
    for (std::size_t t = 0; t < kept.size() / 3; ++t)
        for (std::size_t c = 0; c < 3; ++c)
            e[3 * t + c] = std::uint64_t{kept[3 * t + c]} << 32 | kept[3 * t + (c + 1) % 3];
    std::sort(e.begin(), e.end());
    std::size_t open = 0;
    for (std::size_t i = 0; i < e.size(); ++i) {
        const std::uint64_t k = e[i], twin = k << 32 | k >> 32;
        if (k == twin || (i + 1 < e.size() && e[i + 1] == k)) {
            blame(k);
        } else if (!std::binary_search(e.begin(), e.end(), twin)) {
            if (std::binary_search(border.begin(), border.end(), k))
                ++open;
            else
                blame(k);
        }
    }
    if (open != border.size())
        for (std::uint64_t k : border)
            if (!std::binary_search(e.begin(), e.end(), k)) blame(k);
    return bad.empty();
}

/// Triangles per piece of the split simplification, at least: meshoptimizer runs about 1.4x
/// faster per triangle on pieces of 70 k triangles than on pieces of 290 k (cache; measured on
/// a 2.3 M triangle CT skin), and pieces run in parallel. Below twice this the mesh is
/// simplified whole.
constexpr std::size_t kPieceTriangles = 40000;

/// Simplifications of a mesh or piece before it is given back as it was.
constexpr int kMaxAttempts = 5;

std::size_t pieceCount(std::size_t triangles) {
    std::size_t pieces = 1;
    while (triangles / (2 * pieces) >= kPieceTriangles && pieces < 32)
        pieces *= 2;
    return pieces;
}

/// A mesh cut into pieces to be simplified apart, in parallel, with their borders locked.
///
/// The cut is a k-d tree of the triangle centroids (compact pieces, short seams): median splits
/// along the longest axis, with the planes taken from a fixed sample of the triangles and every
/// triangle then placed by them in parallel. The triangles at the seams are kept as they are
/// (with those that would let a piece duplicate an edge, see freezeChords), so the pieces share
/// no vertex and a closed manifold stays one; they take their part of the triangle budget (2.4 %
/// of a 2.3 M triangle CT skin in 32 pieces). The cut depends on the mesh only, so the result does
/// not depend on the number of threads. Open borders of the input stay in place, as with
/// lockBorder.
class SplitMesh {
public:
    static constexpr std::uint8_t kFrozen = 63;

    /// `edges`: of mesh.indices; both must outlive this. `closed`: the mesh is a closed
    /// oriented manifold. `withRings`: keep each piece's ring, for the error measurement.
    SplitMesh(const model::Mesh& mesh, const detail::HalfEdges& edges, bool closed, bool withRings)
        : mesh_(mesh), edges_(edges), closed_(closed), withRings_(withRings) {}

    /// False when the seams do not settle (then simplify whole).
    bool cut(std::size_t pieces);
    /// Moves the triangles of piece p around the given vertices (their own and their neighbours'
    /// fans) to the frozen seams, then those that would make chords, and takes the piece again.
    /// For a piece whose simplification pinched two sheets together there: with those vertices
    /// locked, it cannot. Calls must not overlap; the other pieces may be simplified meanwhile
    /// (only piece p and its frozen triangles change). False when the seams do not settle (then
    /// the frozen triangles and piece p are as before; p must be kept as it is).
    bool freezeAround(std::size_t p, const std::vector<std::uint32_t>& vertices);

    [[nodiscard]] std::size_t pieceCount() const { return pieces_.size(); }
    [[nodiscard]] const LocalMesh& piece(std::size_t p) const { return pieces_[p]; }
    /// The frozen triangles (indices into the mesh): those of the cut, then those each piece
    /// lost in freezeAround, in piece order (so the order does not depend on timing).
    [[nodiscard]] std::vector<std::uint32_t> frozen() const {
        std::vector<std::uint32_t> all = frozen_;
        for (const auto& extra : extraFrozen_)
            all.insert(all.end(), extra.begin(), extra.end());
        return all;
    }

private:
    void takePiece(std::size_t p, std::vector<std::uint32_t>& scratch);

    const model::Mesh& mesh_;
    const detail::HalfEdges& edges_;
    bool closed_, withRings_;
    std::vector<std::uint8_t> group_; // per triangle: its piece, or kFrozen
    std::vector<LocalMesh> pieces_;
    std::vector<std::uint32_t> frozen_; // indices of the frozen triangles of the cut
    std::vector<std::vector<std::uint32_t>> extraFrozen_;    // per piece, from freezeAround
    std::vector<std::uint8_t> nearFrozen_;                   // per vertex: on a frozen triangle
    std::vector<std::vector<std::uint32_t>> pieceTriangles_; // per piece, ascending
};

glm::vec3 centroidOf(const model::Mesh& mesh, std::size_t t) {
    return (mesh.positions[mesh.indices[3 * t]] + mesh.positions[mesh.indices[3 * t + 1]] +
            mesh.positions[mesh.indices[3 * t + 2]]) /
           3.0f;
}

/// Per vertex, the groups of the triangles around it (bit g for group g). `edges` lists every
/// triangle at a vertex in its row (the edge leaving that corner).
void groupsAtVertices(const detail::HalfEdges& edges, const std::vector<std::uint8_t>& group,
                      std::vector<std::uint64_t>& used) {
    const std::size_t vertices = edges.offsets.size() - 1;
    used.resize(vertices);
    parallelFor(0, vertices, [&](std::size_t b, std::size_t e) {
        for (std::size_t v = b; v < e; ++v) {
            std::uint64_t bits = 0;
            for (std::uint32_t i = edges.offsets[v]; i < edges.offsets[v + 1]; ++i)
                bits |= 1ull << group[edges.owners[i] / 3];
            used[v] = bits;
        }
    });
}

/// Makes the groups of a split simplification safe to simplify apart. Each group but `frozen` is
/// simplified on its own with its border vertices locked, and a collapse there can join two of
/// its border vertices by an edge. When another group already has an edge between those two
/// vertices (other than the twin of the group's own border edge), the joined surface gets an edge
/// with four triangles. So wherever an edge outside group P joins two border vertices of P, P's
/// triangles at both vertices move to `frozen` (not simplified), until no such edge is left.
///
/// Only the edges of the frozen triangles are looked at: the groups must share no vertex but
/// with the frozen ones (the seams are frozen first), and then only a frozen edge can join two
/// border vertices of a group. `frozenTriangles`: all of them, or all that touch the groups that
/// can have new chords; those moved are added.
/// `edges`: the half-edges of `indices`; group ids < 64. False when it does not settle.
bool freezeChords(const std::vector<std::uint32_t>& indices, const detail::HalfEdges& edges,
                  std::vector<std::uint8_t>& group, std::uint8_t frozen,
                  std::vector<std::uint32_t>& frozenTriangles) {
    // Bit g: a triangle of group g touches v. Remembered for the vertices with many triangles
    // (a pole of a UV sphere has a thousand, in as many frozen triangles).
    std::unordered_map<std::uint32_t, std::uint64_t> busy;
    auto usedAt = [&](std::uint32_t v) {
        const std::uint32_t b = edges.offsets[v], e = edges.offsets[v + 1];
        if (e - b > 32)
            if (const auto it = busy.find(v); it != busy.end()) return it->second;
        std::uint64_t bits = 0;
        for (std::uint32_t i = b; i < e; ++i)
            bits |= 1ull << group[edges.owners[i] / 3];
        if (e - b > 32) busy.emplace(v, bits);
        return bits;
    };
    std::vector<std::pair<std::uint8_t, std::uint32_t>> moves; // (group, vertex)
    for (int round = 0; round < 16; ++round) {
        moves.clear();
        busy.clear();
        for (std::uint32_t t : frozenTriangles)
            for (int c = 0; c < 3; ++c) {
                const std::uint32_t u = indices[3 * t + c], v = indices[3 * t + (c + 1) % 3];
                std::uint64_t shared = usedAt(u) & usedAt(v) & ~(1ull << frozen);
                if (shared == 0) continue;
                const std::uint32_t twin = edges.find(v, u);
                if (twin != UINT32_MAX) shared &= ~(1ull << group[twin / 3]);
                for (; shared; shared &= shared - 1) {
                    const auto g = static_cast<std::uint8_t>(std::countr_zero(shared));
                    moves.emplace_back(g, u);
                    moves.emplace_back(g, v);
                }
            }
        if (moves.empty()) return true;
        std::sort(moves.begin(), moves.end());
        moves.erase(std::unique(moves.begin(), moves.end()), moves.end());
        for (const auto& [g, v] : moves)
            for (std::uint32_t i = edges.offsets[v]; i < edges.offsets[v + 1]; ++i)
                if (std::uint8_t& tg = group[edges.owners[i] / 3]; tg == g) {
                    tg = frozen;
                    frozenTriangles.push_back(edges.owners[i] / 3);
                }
    }
    return false;
}

bool SplitMesh::cut(std::size_t pieces) {
    const model::Mesh& mesh = mesh_;
    const detail::HalfEdges& edges = edges_;
    const std::size_t triangles = mesh.triangleCount();
    const std::size_t vertices = mesh.positions.size();
    int depth = 0;
    while ((std::size_t{1} << depth) < pieces)
        ++depth;
    // The planes, from a sample of the centroids: node i of the tree (children 2i + 1, 2i + 2)
    // sends a triangle to its second child when centroid[axis] >= value.
    struct Plane {
        int axis = 0;
        float value = 0;
    };
    std::vector<Plane> planes(pieces - 1);
    {
        constexpr std::size_t kSample = 1 << 16;
        const std::size_t stride = std::max<std::size_t>(1, triangles / kSample);
        std::vector<glm::vec3> sample;
        for (std::size_t t = 0; t < triangles; t += stride)
            sample.push_back(centroidOf(mesh, t));
        std::vector<std::pair<std::size_t, std::size_t>> ranges{{0, sample.size()}};
        for (std::size_t node = 0; node < planes.size(); ++node) {
            const auto [b, e] = ranges[node];
            const auto first = sample.begin() + static_cast<std::ptrdiff_t>(b);
            const auto last = sample.begin() + static_cast<std::ptrdiff_t>(e);
            glm::vec3 lo(std::numeric_limits<float>::max()), hi(-lo);
            for (auto it = first; it != last; ++it) {
                lo = glm::min(lo, *it);
                hi = glm::max(hi, *it);
            }
            const glm::vec3 size = hi - lo;
            Plane& plane = planes[node];
            plane.axis = size.x >= size.y && size.x >= size.z ? 0 : size.y >= size.z ? 1 : 2;
            std::size_t m = b;
            if (e > b) {
                const auto mid = first + (last - first) / 2;
                const int axis = plane.axis;
                std::nth_element(first, mid, last, [axis](const glm::vec3& x, const glm::vec3& y) {
                    return x[axis] < y[axis];
                });
                plane.value = (*mid)[axis];
                m = b + std::size_t(std::partition(
                                        first, last,
                                        [&](const glm::vec3& c) { return c[axis] < plane.value; }) -
                                    first);
            }
            ranges.emplace_back(b, m);
            ranges.emplace_back(m, e);
        }
    }
    std::vector<std::uint8_t>& group = group_;
    group.resize(triangles);
    parallelFor(0, triangles, [&](std::size_t b, std::size_t e) {
        for (std::size_t t = b; t < e; ++t) {
            const glm::vec3 c = centroidOf(mesh, t);
            std::size_t node = 0;
            for (int level = 0; level < depth; ++level)
                node = 2 * node + 1 + (c[planes[node].axis] >= planes[node].value ? 1 : 0);
            group[t] = static_cast<std::uint8_t>(node - planes.size());
        }
    });
    // Pieces share no vertex: two pieces could both join the same two shared border vertices by
    // a new edge. The triangles at the seams are frozen; the pieces' borders are then their own.
    std::vector<std::uint32_t> frozenTriangles;
    {
        std::vector<std::uint64_t> used;
        groupsAtVertices(edges, group, used);
        const std::size_t workers = std::max(1u, workerCount());
        std::vector<std::vector<std::uint32_t>> found(workers);
        parallelFor(
            0, workers,
            [&](std::size_t w0, std::size_t w1) {
                for (std::size_t w = w0; w < w1; ++w)
                    for (std::size_t t = triangles * w / workers; t < triangles * (w + 1) / workers;
                         ++t)
                        for (int c = 0; c < 3; ++c)
                            if (std::popcount(used[mesh.indices[3 * t + c]]) > 1) {
                                group[t] = kFrozen;
                                found[w].push_back(static_cast<std::uint32_t>(t));
                                break;
                            }
            },
            workers);
        for (const auto& f : found)
            frozenTriangles.insert(frozenTriangles.end(), f.begin(), f.end());
    }
    if (!freezeChords(mesh.indices, edges, group, kFrozen, frozenTriangles)) return false;

    // The triangles of each group, in order (counting sort; the frozen ones last).
    std::vector<std::uint32_t> start(kFrozen + 2, 0), order(triangles);
    for (std::uint8_t g : group)
        ++start[g + 1];
    for (std::size_t g = 0; g <= kFrozen; ++g)
        start[g + 1] += start[g];
    {
        std::vector<std::uint32_t> at(start.begin(), start.end() - 1);
        for (std::size_t t = 0; t < triangles; ++t)
            order[at[group[t]]++] = static_cast<std::uint32_t>(t);
    }
    frozen_.assign(order.begin() + start[kFrozen], order.begin() + start[kFrozen + 1]);
    nearFrozen_.assign(mesh.positions.size(), 0);
    for (std::uint32_t t : frozen_)
        for (int c = 0; c < 3; ++c)
            nearFrozen_[mesh.indices[3 * std::size_t{t} + c]] = 1;
    pieceTriangles_.resize(pieces);
    extraFrozen_.assign(pieces, {});
    // Each piece on its own vertices, in parallel.
    pieces_.assign(pieces, {});
    std::atomic<std::size_t> next{0};
    const std::size_t workers = std::min<std::size_t>(std::max(1u, workerCount()), pieces);
    parallelFor(
        0, workers,
        [&](std::size_t, std::size_t) {
            std::vector<std::uint32_t> scratch(vertices, kNoTriangle);
            for (std::size_t p; (p = next++) < pieces;) {
                pieceTriangles_[p].assign(order.begin() + start[p], order.begin() + start[p + 1]);
                takePiece(p, scratch);
            }
        },
        workers);
    return true;
}

/// Squared distance from p to the triangle abc (Ericson, Real-Time Collision Detection 5.1.5).
double pointTriangleDistance2(const glm::dvec3& p, const glm::dvec3& a, const glm::dvec3& b,
                              const glm::dvec3& c) {
    const glm::dvec3 ab = b - a, ac = c - a, ap = p - a;
    const double d1 = glm::dot(ab, ap), d2 = glm::dot(ac, ap);
    auto at = [&](const glm::dvec3& q) { return glm::dot(p - q, p - q); };
    if (d1 <= 0 && d2 <= 0) return at(a);
    const glm::dvec3 bp = p - b;
    const double d3 = glm::dot(ab, bp), d4 = glm::dot(ac, bp);
    if (d3 >= 0 && d4 <= d3) return at(b);
    const double vc = d1 * d4 - d3 * d2;
    if (vc <= 0 && d1 >= 0 && d3 <= 0) return at(a + ab * (d1 / (d1 - d3)));
    const glm::dvec3 cp = p - c;
    const double d5 = glm::dot(ab, cp), d6 = glm::dot(ac, cp);
    if (d6 >= 0 && d5 <= d6) return at(c);
    const double vb = d5 * d2 - d1 * d6;
    if (vb <= 0 && d2 >= 0 && d6 <= 0) return at(a + ac * (d2 / (d2 - d6)));
    const double va = d3 * d6 - d5 * d4;
    if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0)
        return at(b + (c - b) * ((d4 - d3) / ((d4 - d3) + (d5 - d6))));
    const double denom = 1.0 / (va + vb + vc);
    return at(a + ab * (vb * denom) + ac * (vc * denom));
}

/// Output triangles binned in a sparse uniform grid (cells about one output edge wide): every
/// triangle is listed in each cell its bounding box touches, so "is any triangle within r of p"
/// (r up to a cell) looks at a handful of triangles in at most 8 cells.
class TriangleGrid {
public:
    /// Triangles spanning more than kMaxSpan cells along an axis (flat caps) are left out:
    /// anyWithin() may then miss them, and its caller searches exactly.
    static constexpr int kMaxSpan = 8;

    TriangleGrid(const model::Mesh& mesh, double cellMm) : mesh_(mesh), inv_(1.0 / cellMm) {
        const auto triangles = static_cast<std::uint32_t>(mesh.triangleCount());
        // Passes over the (cell, triangle) pairs: how many, then per cell, then the runs.
        auto forEachCell = [&](auto&& fn) {
            for (std::uint32_t t = 0; t < triangles; ++t) {
                glm::dvec3 lo(std::numeric_limits<double>::infinity()), hi(-lo);
                for (int c = 0; c < 3; ++c) {
                    const glm::dvec3 q(mesh.positions[mesh.indices[3 * std::size_t{t} + c]]);
                    lo = glm::min(lo, q);
                    hi = glm::max(hi, q);
                }
                const glm::ivec3 a = cellOf(lo), b = cellOf(hi);
                if (glm::any(glm::greaterThan(b - a, glm::ivec3(kMaxSpan - 1)))) continue;
                for (int z = a.z; z <= b.z; ++z)
                    for (int y = a.y; y <= b.y; ++y)
                        for (int x = a.x; x <= b.x; ++x)
                            fn(glm::ivec3(x, y, z), t);
            }
        };
        std::size_t pairs = 0;
        forEachCell([&](glm::ivec3, std::uint32_t) { ++pairs; });
        std::size_t size = 16;
        while (size < 2 * pairs)
            size *= 2;
        slots_.assign(size, Slot{});
        forEachCell([&](glm::ivec3 c, std::uint32_t) { ++insert(key(c)).end; }); // counts first
        std::uint32_t at = 0;
        for (Slot& slot : slots_) {
            slot.begin = at;
            at += slot.end;
            slot.end = slot.begin; // filled below
        }
        triangles_.resize(at);
        forEachCell([&](glm::ivec3 c, std::uint32_t t) { triangles_[insert(key(c)).end++] = t; });
    }

    /// True when some triangle lies within r of p (r <= one cell).
    [[nodiscard]] bool anyWithin(const glm::dvec3& p, double r) const {
        const double r2 = r * r;
        const glm::ivec3 own = cellOf(p);
        if (anyInCell(own, p, r2)) return true;
        const glm::ivec3 a = cellOf(p - glm::dvec3(r)), b = cellOf(p + glm::dvec3(r));
        for (int z = a.z; z <= b.z; ++z)
            for (int y = a.y; y <= b.y; ++y)
                for (int x = a.x; x <= b.x; ++x)
                    if (glm::ivec3(x, y, z) != own && anyInCell({x, y, z}, p, r2)) return true;
        return false;
    }

private:
    struct Slot {
        std::uint64_t key = 0;
        std::uint32_t begin = 0, end = 0;
        bool used = false;
    };
    [[nodiscard]] glm::ivec3 cellOf(const glm::dvec3& q) const {
        return glm::ivec3(glm::floor(q * inv_));
    }
    static std::uint64_t key(glm::ivec3 c) {
        auto u = [](int v) {
            return static_cast<std::uint64_t>(static_cast<std::uint32_t>(v) & 0x1FFFFFu);
        };
        return u(c.x) | (u(c.y) << 21) | (u(c.z) << 42);
    }
    [[nodiscard]] std::size_t firstSlot(std::uint64_t k) const {
        std::uint64_t h = k ^ (k >> 31);
        h *= 0x9E3779B97F4A7C15ull;
        return static_cast<std::size_t>(h ^ (h >> 29)) & (slots_.size() - 1);
    }
    /// The slot of a cell, added when missing (open addressing, linear probing; the table has
    /// twice as many slots as (cell, triangle) pairs, so it never fills).
    Slot& insert(std::uint64_t k) {
        for (std::size_t i = firstSlot(k);; i = (i + 1) & (slots_.size() - 1)) {
            Slot& s = slots_[i];
            if (!s.used) {
                s.used = true;
                s.key = k;
                return s;
            }
            if (s.key == k) return s;
        }
    }
    /// The slot of a cell, or nullptr when no triangle touches it.
    [[nodiscard]] const Slot* find(std::uint64_t k) const {
        for (std::size_t i = firstSlot(k);; i = (i + 1) & (slots_.size() - 1)) {
            const Slot& s = slots_[i];
            if (!s.used) return nullptr;
            if (s.key == k) return &s;
        }
    }
    [[nodiscard]] bool anyInCell(glm::ivec3 c, const glm::dvec3& p, double r2) const {
        const Slot* s = find(key(c));
        for (std::uint32_t i = s ? s->begin : 0; s && i < s->end; ++i) {
            const std::uint32_t* tri = &mesh_.indices[3 * std::size_t{triangles_[i]}];
            if (pointTriangleDistance2(p, glm::dvec3(mesh_.positions[tri[0]]),
                                       glm::dvec3(mesh_.positions[tri[1]]),
                                       glm::dvec3(mesh_.positions[tri[2]])) <= r2)
                return true;
        }
        return false;
    }

    const model::Mesh& mesh_;
    double inv_;
    std::vector<std::uint32_t> triangles_;
    std::vector<Slot> slots_;
};

/// The largest distance from an input vertex to the output surface: the one-sided Hausdorff
/// distance from the input to the output, taken at every input vertex, exactly. Vertices with
/// skip[v] set are left out (those the output kept, at 0, and those on no input triangle).
/// `workers`: threads to use (1 inside a task that is itself one of many).
///
/// Only the maximum is wanted, so most vertices need no search: exact distances (BVH) at a
/// spread sample give a running maximum L, and a vertex with an output triangle within L cannot
/// raise it; that is asked of a grid of the output triangles, and only the vertices with nothing
/// that close are searched exactly.
double measureError(const std::vector<glm::vec3>& input, const std::vector<std::uint8_t>& skip,
                    const model::Mesh& output, std::size_t workers) {
    const std::size_t n = input.size();
    if (std::find(skip.begin(), skip.end(), 0) == skip.end()) return 0.0;
    if (output.empty()) return std::numeric_limits<double>::infinity();
    const MeshBvh bvh(output);
    std::vector<double> partial(workers, 0.0);
    const std::size_t stride = std::max<std::size_t>(1, n / 4096);
    parallelFor(
        0, workers,
        [&](std::size_t w0, std::size_t w1) {
            for (std::size_t w = w0; w < w1; ++w)
                for (std::size_t v = w * stride; v < n; v += stride * workers)
                    if (!skip[v])
                        partial[w] =
                            std::max(partial[w], bvh.closestPoint(glm::dvec3(input[v])).distanceMm);
        },
        workers);
    const double sampled = *std::max_element(partial.begin(), partial.end());
    // Cells as long as the median output edge (flat regions make huge triangles: those are
    // left to the BVH), and never shorter than twice the sampled maximum.
    std::vector<double> edges;
    const std::size_t triangles = output.triangleCount();
    for (std::size_t t = 0; t < triangles; t += std::max<std::size_t>(1, triangles / 1024))
        edges.push_back(glm::length(glm::dvec3(output.positions[output.indices[3 * t]]) -
                                    glm::dvec3(output.positions[output.indices[3 * t + 1]])));
    const auto mid = edges.begin() + static_cast<std::ptrdiff_t>(edges.size() / 2);
    std::nth_element(edges.begin(), mid, edges.end());
    const double cellMm = std::max({*mid, 2.0 * sampled, 1e-3});
    const TriangleGrid grid(output, cellMm);
    auto distance2To = [&](const glm::dvec3& p, std::uint32_t t) {
        const std::uint32_t* tri = &output.indices[3 * std::size_t{t}];
        return pointTriangleDistance2(p, glm::dvec3(output.positions[tri[0]]),
                                      glm::dvec3(output.positions[tri[1]]),
                                      glm::dvec3(output.positions[tri[2]]));
    };
    std::atomic<std::size_t> next{0};
    constexpr std::size_t kChunk = 4096;
    parallelFor(
        0, workers,
        [&](std::size_t w0, std::size_t w1) {
            for (std::size_t w = w0; w < w1; ++w) {
                double worst = sampled;
                for (std::size_t c0 = next++ * kChunk; c0 < n; c0 = next++ * kChunk) {
                    std::uint32_t near = kNoTriangle; // the last triangle the BVH found
                    for (std::size_t v = c0; v < std::min(n, c0 + kChunk); ++v) {
                        if (skip[v]) continue;
                        const glm::dvec3 p(input[v]);
                        if (near != kNoTriangle && distance2To(p, near) <= worst * worst) continue;
                        if (worst <= cellMm && grid.anyWithin(p, worst)) continue;
                        MeshClosestPoint c = bvh.closestPoint(p, worst);
                        if (c.triangle == kNoTriangle) {
                            c = bvh.closestPoint(p);
                            worst = std::max(worst, c.distanceMm);
                        }
                        near = c.triangle;
                    }
                }
                partial[w] = worst;
            }
        },
        workers);
    return *std::max_element(partial.begin(), partial.end());
}

/// Piece p from its triangles (ascending), with its border; with its ring (the frozen triangles
/// that touch it) when the error is to be measured.
void SplitMesh::takePiece(std::size_t p, std::vector<std::uint32_t>& scratch) {
    const std::vector<std::uint32_t>& triangles = pieceTriangles_[p];
    LocalMesh& local = pieces_[p];
    local = {};
    local.indices.reserve(3 * triangles.size());
    for (const std::size_t t : triangles)
        for (int c = 0; c < 3; ++c) {
            const std::uint32_t u = mesh_.indices[3 * t + c],
                                v = mesh_.indices[3 * t + (c + 1) % 3];
            const std::uint32_t lu = local.add(mesh_, u, scratch);
            local.indices.push_back(lu);
            // In a closed mesh a border edge joins two vertices of frozen triangles.
            if (closed_ && !(nearFrozen_[u] && nearFrozen_[v])) continue;
            const std::uint32_t twin = edges_.find(v, u);
            if (twin == UINT32_MAX || group_[twin / 3] != p)
                local.border.push_back(std::uint64_t{lu} << 32 | local.add(mesh_, v, scratch));
        }
    std::sort(local.border.begin(), local.border.end());
    local.ownVertices = local.globalOf.size();
    // (Another piece's extra frozen triangles touch only its own vertices.)
    if (withRings_)
        for (const auto* list : {&frozen_, &extraFrozen_[p]})
            for (std::uint32_t t : *list) {
                const std::uint32_t* tri = &mesh_.indices[3 * std::size_t{t}];
                if (scratch[tri[0]] >= local.ownVertices && scratch[tri[1]] >= local.ownVertices &&
                    scratch[tri[2]] >= local.ownVertices)
                    continue; // kNoTriangle, or a ring vertex only
                for (int c = 0; c < 3; ++c)
                    local.ring.push_back(local.add(mesh_, tri[c], scratch));
            }
    local.release(scratch);
}

bool SplitMesh::freezeAround(std::size_t p, const std::vector<std::uint32_t>& vertices) {
    std::vector<std::uint32_t> around = vertices;
    for (std::uint32_t v : vertices)
        for (std::uint32_t i = edges_.offsets[v]; i < edges_.offsets[v + 1]; ++i)
            around.push_back(edges_.targets[i]);
    std::vector<std::uint32_t> fresh; // frozen now; kept only when the seams settle
    for (std::uint32_t v : around)
        for (std::uint32_t i = edges_.offsets[v]; i < edges_.offsets[v + 1]; ++i)
            if (std::uint8_t& g = group_[edges_.owners[i] / 3]; g == p) {
                g = kFrozen;
                fresh.push_back(edges_.owners[i] / 3);
            }
    // Only piece p lost triangles, and they touch only its vertices: the other pieces, their
    // rings and their chords stay as they are, and only the frozen triangles at p's vertices can
    // make new chords.
    std::vector<std::uint32_t> candidates;
    const LocalMesh& local = pieces_[p];
    for (std::size_t l = 0; l < local.ownVertices; ++l) {
        const std::uint32_t v = local.globalOf[l];
        for (std::uint32_t i = edges_.offsets[v]; i < edges_.offsets[v + 1]; ++i)
            if (group_[edges_.owners[i] / 3] == kFrozen) candidates.push_back(edges_.owners[i] / 3);
    }
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    const std::size_t known = candidates.size();
    const bool settled = freezeChords(mesh_.indices, edges_, group_, kFrozen, candidates);
    fresh.insert(fresh.end(), candidates.begin() + static_cast<std::ptrdiff_t>(known),
                 candidates.end());
    if (!settled) { // as before (only p's triangles were moved)
        for (std::uint32_t t : fresh)
            group_[t] = static_cast<std::uint8_t>(p);
        return false;
    }
    for (std::uint32_t t : fresh)
        for (int c = 0; c < 3; ++c)
            nearFrozen_[mesh_.indices[3 * std::size_t{t} + c]] = 1;
    extraFrozen_[p].insert(extraFrozen_[p].end(), fresh.begin(), fresh.end());
    std::erase_if(pieceTriangles_[p], [&](std::uint32_t t) { return group_[t] != p; });
    std::vector<std::uint32_t> scratch(mesh_.positions.size(), kNoTriangle);
    takePiece(p, scratch);
    return true;
}

/// What a simplification gave, before compaction.
struct Simplified {
    std::vector<std::uint32_t> indices; // into the source mesh
    double estimatedErrorMm = 0;
    double measuredErrorMm = -1; // for the split path: the largest over the pieces
    int attempts = 0;
    std::size_t foldsRemoved = 0;
    std::size_t crossFolds = 0; // of foldsRemoved, those found only in the merged result
    bool closed = false;
};

/// Removes the folds of `indices` (into a mesh of `vertices` vertices) and says whether the rest
/// is a closed oriented manifold.
bool removeFoldsAndCheck(std::vector<std::uint32_t>& indices, std::size_t vertices,
                         std::size_t& foldsRemoved) {
    detail::HalfEdges edges = detail::buildHalfEdges(indices, vertices);
    const std::size_t removed = removeFolds(indices, coincidentTriangles(indices, edges));
    foldsRemoved += removed;
    if (removed > 0) edges = detail::buildHalfEdges(indices, vertices);
    return detail::isClosedOrientedManifold(edges);
}

/// Simplifies the pieces of `split` in parallel, each to its share of what the frozen triangles
/// leave of targetTriangles, first with the error target errorMm. With options.measureError,
/// each piece's error is measured against its own result and its ring (the frozen triangles that
/// touch it): a subset of the whole output, so never less than the exact error of its vertices.
/// A piece over options.maxErrorMm is simplified again with a tighter target (5 attempts, then
/// kept as it was); the other pieces are left alone.
Simplified simplifySplit(const model::Mesh& mesh, SplitMesh& split, bool closedSource,
                         std::size_t targetTriangles, double errorMm,
                         const DecimationOptions& options, double& measureSeconds) {
    const std::size_t pieces = split.pieceCount();
    const std::size_t frozenTriangles = split.frozen().size();
    const std::size_t pieceTriangles = mesh.triangleCount() - frozenTriangles;
    const double share =
        double(targetTriangles > frozenTriangles ? targetTriangles - frozenTriangles : 0) /
        double(std::max<std::size_t>(1, pieceTriangles));
    std::vector<std::vector<std::uint32_t>> kept(pieces);
    std::vector<double> estimate(pieces, 0.0), measured(pieces, -1.0), target(pieces, errorMm);
    std::vector<int> attempts(pieces, 0);
    std::vector<std::size_t> folds(pieces, 0);
    std::vector<std::vector<std::uint32_t>> bad(pieces); // local vertices where a piece failed
    auto giveBack = [&](std::size_t p) {                 // the piece as it was: closed, error 0
        kept[p] = split.piece(p).indices;
        estimate[p] = 0;
        if (options.measureError) measured[p] = 0;
        folds[p] = 0;
    };
    // Each piece to the end: simplified, checked (and repaired), measured (and redone).
    std::vector<double> measuring(pieces, 0.0); // seconds per piece
    std::vector<std::size_t> before(pieces);    // triangles per piece as cut
    for (std::size_t p = 0; p < pieces; ++p)
        before[p] = split.piece(p).indices.size() / 3;
    std::mutex repairing;
    auto run = [&](std::size_t p) {
        const LocalMesh& local = split.piece(p);
        for (;;) {
            // The piece's share of the budget, less what it lost to the frozen triangles.
            const std::size_t now = local.indices.size() / 3;
            const double budget = share * double(before[p]) - double(before[p] - now);
            const auto triangles = static_cast<std::size_t>(std::max(0.0, budget));
            kept[p] =
                simplifyLocal(local, triangles, target[p], meshopt_SimplifyLockBorder, estimate[p]);
            folds[p] = removeFolds(kept[p]);
            ++attempts[p];
            if (closedSource && !keepsBorder(kept[p], local.border, bad[p])) {
                // Lock the place where it failed (the piece shrinks around it) and try again.
                if (attempts[p] >= kMaxAttempts) {
                    giveBack(p);
                    return;
                }
                std::vector<std::uint32_t> global;
                for (std::uint32_t l : bad[p])
                    global.push_back(local.globalOf[l]);
                const std::lock_guard lock(repairing);
                if (!split.freezeAround(p, global)) {
                    giveBack(p);
                    return;
                }
                continue;
            }
            if (!options.measureError) return;
            const auto t0 = Clock::now();
            model::Mesh output;
            output.positions = local.positions;
            output.indices = kept[p];
            output.indices.insert(output.indices.end(), local.ring.begin(), local.ring.end());
            std::vector<std::uint8_t> skip(local.positions.size(), 0);
            for (std::uint32_t v : kept[p])
                skip[v] = 1;
            std::fill(skip.begin() + static_cast<std::ptrdiff_t>(local.ownVertices), skip.end(), 1);
            measured[p] = measureError(local.positions, skip, output, 1);
            measuring[p] += secondsSince(t0);
            if (measured[p] <= options.maxErrorMm) return;
            if (attempts[p] >= kMaxAttempts) {
                giveBack(p);
                return;
            }
            // As in decimateMesh: from the error this attempt reached, proportionally tighter.
            if (estimate[p] > 0) target[p] = std::min(target[p], estimate[p]);
            target[p] *= std::min(0.7, 0.9 * options.maxErrorMm / measured[p]);
        }
    };
    std::atomic<std::size_t> next{0};
    const std::size_t workers = std::min<std::size_t>(std::max(1u, workerCount()), pieces);
    parallelFor(
        0, workers,
        [&](std::size_t, std::size_t) {
            for (std::size_t p; (p = next++) < pieces;)
                run(p);
        },
        workers);
    double measuringSum = 0;
    for (double m : measuring)
        measuringSum += m;
    measureSeconds += measuringSum / double(workers);
    Simplified s;
    s.indices.reserve(3 * frozenTriangles + [&] {
        std::size_t n = 0;
        for (const auto& k : kept)
            n += k.size();
        return n;
    }());
    for (std::uint32_t t : split.frozen())
        s.indices.insert(s.indices.end(), mesh.indices.begin() + 3 * std::ptrdiff_t{t},
                         mesh.indices.begin() + 3 * std::ptrdiff_t{t} + 3);
    for (std::size_t p = 0; p < pieces; ++p)
        for (std::uint32_t l : kept[p])
            s.indices.push_back(split.piece(p).globalOf[l]);
    s.estimatedErrorMm = *std::max_element(estimate.begin(), estimate.end());
    if (options.measureError)
        s.measuredErrorMm = *std::max_element(measured.begin(), measured.end());
    s.attempts = *std::max_element(attempts.begin(), attempts.end());
    for (std::size_t f : folds)
        s.foldsRemoved += f;
    return s;
}

} // namespace

Result<DecimatedMesh> decimateMesh(const model::Mesh& mesh, const DecimationOptions& options) {
    if (mesh.empty())
        return fail(ErrorCode::InvalidArgument, "There is no surface to decimate (no triangles).");
    if (options.targetTriangleCount == 0 && !(options.targetRatio > 0 && options.targetRatio <= 1))
        return fail(ErrorCode::InvalidArgument,
                    "Decimation ratio must be greater than 0 and at most 1.",
                    "targetRatio=" + std::to_string(options.targetRatio));
    if (!(options.maxErrorMm > 0))
        return fail(ErrorCode::InvalidArgument, "Decimation needs a maximum error above 0 mm.",
                    "maxErrorMm=" + std::to_string(options.maxErrorMm));
    std::atomic<std::uint32_t> worst{0};
    parallelFor(0, mesh.indices.size(), [&](std::size_t b, std::size_t e) {
        std::uint32_t m = 0;
        for (std::size_t i = b; i < e; ++i)
            m = std::max(m, mesh.indices[i]);
        for (std::uint32_t w = worst; m > w && !worst.compare_exchange_weak(w, m);) {
        }
    });
    if (worst >= mesh.positions.size())
        return fail(ErrorCode::InvalidArgument,
                    "The surface is corrupt (a triangle refers to a missing vertex).",
                    "index " + std::to_string(worst) + " of " +
                        std::to_string(mesh.positions.size()));

    DecimatedMesh result;
    DecimationReport& report = result.report;
    report.trianglesBefore = mesh.triangleCount();
    report.verticesBefore = mesh.positions.size();
    report.targetTriangles =
        options.targetTriangleCount
            ? options.targetTriangleCount
            : static_cast<std::size_t>(std::llround(options.targetRatio * mesh.triangleCount()));
    detail::HalfEdges edges = detail::buildHalfEdges(mesh.indices, mesh.positions.size());
    report.closedBefore = detail::isClosedOrientedManifold(edges);
    // A closed mesh has no seam to weld (and welding could pinch it where two sheets touch);
    // others (STL's split vertices) are welded so that their seams do not block collapses.
    // Zero-length edges of a closed mesh are collapsed first, when it stays closed.
    model::Mesh welded;
    bool closedSource = report.closedBefore, useWelded = false;
    if (!closedSource) {
        welded = weld(mesh);
        edges = detail::buildHalfEdges(welded.indices, welded.positions.size());
        closedSource = detail::isClosedOrientedManifold(edges);
        useWelded = true;
    } else if (std::optional<model::Mesh> collapsed = collapseZeroEdges(mesh)) {
        detail::HalfEdges collapsedEdges =
            detail::buildHalfEdges(collapsed->indices, collapsed->positions.size());
        if (!collapsed->indices.empty() && detail::isClosedOrientedManifold(collapsedEdges)) {
            welded = std::move(*collapsed);
            edges = std::move(collapsedEdges);
            useWelded = true;
        }
    }
    const model::Mesh& source = useWelded ? welded : mesh;
    const std::size_t vertices = source.positions.size();
    auto measureWhole = [&](const std::vector<std::uint32_t>& indices, const model::Mesh& out) {
        const auto t0 = Clock::now();
        std::vector<std::uint8_t> skip(vertices);
        for (std::size_t v = 0; v < vertices; ++v)
            skip[v] = edges.offsets[v] == edges.offsets[v + 1] ? 1 : 0; // on no triangle
        for (std::uint32_t v : indices)
            skip[v] = 1;
        const double e = measureError(source.positions, skip, out, std::max(1u, workerCount()));
        report.measureSeconds += secondsSince(t0);
        return e;
    };

    // (A mesh without extent, all of its vertices at one point, comes back as it is.)
    const bool reduce = report.targetTriangles < source.triangleCount();
    // meshoptimizer's error is a quadric estimate, not a bound: input vertices end up about twice
    // as far from the result (CT bone surface at 0.5 mm: estimate 0.50, measured 0.97; at 0.25:
    // measured 0.44, same triangle count). With the measurement on, ask for half the bound first,
    // so one attempt usually does; when the measured error still exceeds the limit, simplify again
    // from the input with a proportionally tighter target.
    constexpr double kFirstTargetFraction = 0.5;
    const double firstErrorMm =
        options.maxErrorMm * (options.measureError ? kFirstTargetFraction : 1.0);
    model::Mesh& out = result.mesh;

    // Large meshes: in pieces, in parallel. Falls through to the whole mesh when the seams do not
    // settle, when the result is not closed though the source was, or when folds across the
    // pieces were removed and the exact error of the whole then exceeds the bound.
    bool done = false;
    if (const std::size_t pieces = pieceCount(source.triangleCount()); reduce && pieces > 1) {
        SplitMesh split(source, edges, closedSource, options.measureError);
        if (split.cut(pieces)) {
            Simplified s = simplifySplit(source, split, closedSource, report.targetTriangles,
                                         firstErrorMm, options, report.measureSeconds);
            // Folds across pieces and closedness, checked on the compact result (a tenth of the
            // vertices); when there are such folds (rare), they are removed in the source's
            // vertex numbering, as the measurement below needs.
            compact(source, s.indices, out);
            {
                std::vector<std::uint32_t> check = out.indices;
                s.closed = removeFoldsAndCheck(check, out.positions.size(), s.crossFolds);
            }
            if (s.crossFolds > 0) {
                s.crossFolds = 0;
                s.closed = removeFoldsAndCheck(s.indices, vertices, s.crossFolds);
                compact(source, s.indices, out);
            }
            s.foldsRemoved += s.crossFolds;
            if (s.closed || !closedSource) {
                report.estimatedErrorMm = s.estimatedErrorMm;
                report.measuredErrorMm = s.measuredErrorMm;
                report.attempts = s.attempts;
                report.foldsRemoved = s.foldsRemoved;
                report.closedAfter = s.closed;
                done = true;
                // A fold removed across pieces changed the surface the pieces were measured
                // against: measure the whole.
                if (options.measureError && s.crossFolds > 0) {
                    report.measuredErrorMm = measureWhole(s.indices, out);
                    done = report.measuredErrorMm <= options.maxErrorMm;
                }
            }
        }
    }

    if (!done) {
        // The whole mesh at once.
        LocalMesh whole;
        {
            std::vector<std::uint32_t> scratch(vertices, kNoTriangle);
            whole.indices.reserve(source.indices.size());
            for (std::uint32_t g : source.indices)
                whole.indices.push_back(whole.add(source, g, scratch));
            whole.ownVertices = whole.globalOf.size();
        }
        double targetErrorMm = firstErrorMm;
        std::vector<std::uint32_t> indices;
        report.measuredErrorMm = -1;
        for (int attempt = 0;; ++attempt) {
            double estimateMm = 0;
            report.foldsRemoved = 0;
            if (reduce) {
                indices =
                    simplifyLocal(whole, report.targetTriangles, targetErrorMm,
                                  options.lockBorder ? meshopt_SimplifyLockBorder : 0, estimateMm);
                for (std::uint32_t& i : indices)
                    i = whole.globalOf[i];
                report.closedAfter = removeFoldsAndCheck(indices, vertices, report.foldsRemoved);
            } else {
                indices = source.indices;
                report.closedAfter = closedSource;
            }
            report.estimatedErrorMm = estimateMm;
            compact(source, indices, out);
            report.attempts = attempt + 1;
            if (!options.measureError) break;
            report.measuredErrorMm = measureWhole(indices, out);
            if (report.measuredErrorMm <= options.maxErrorMm ||
                indices.size() == source.indices.size())
                break;
            if (attempt == kMaxAttempts - 1) { // still over the bound: the (welded) input, error 0
                indices = source.indices;
                report.foldsRemoved = 0;
                compact(source, indices, out);
                report.measuredErrorMm = 0;
                report.estimatedErrorMm = 0;
                report.closedAfter = closedSource;
                break;
            }
            // Tighten from the error this attempt reached: when the triangle target stopped the
            // simplifier before the error limit did, tightening the limit alone changes nothing.
            if (estimateMm > 0) targetErrorMm = std::min(targetErrorMm, estimateMm);
            targetErrorMm *= std::min(0.7, 0.9 * options.maxErrorMm / report.measuredErrorMm);
        }
    }
    report.trianglesAfter = out.triangleCount();
    report.verticesAfter = out.positions.size();
    report.reachedTarget = report.trianglesAfter <= report.targetTriangles;
    if (options.computeNormals) out.computeNormals();
    return result;
}

} // namespace precis::anatomy
