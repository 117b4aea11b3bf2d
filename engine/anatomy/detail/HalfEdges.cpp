#include "anatomy/detail/HalfEdges.h"

#include "core/Assert.h"
#include "core/Parallel.h"

#include <algorithm>
#include <atomic>

namespace precis::anatomy::detail {

std::uint32_t HalfEdges::find(std::uint32_t a, std::uint32_t b) const {
    const auto begin = targets.begin() + offsets[a], end = targets.begin() + offsets[a + 1];
    const auto it = std::lower_bound(begin, end, b);
    if (it == end || *it != b) return UINT32_MAX;
    return owners[static_cast<std::size_t>(it - targets.begin())];
}

HalfEdges buildHalfEdges(const std::vector<std::uint32_t>& indices, std::size_t vertexCount) {
    HalfEdges h;
    const std::size_t triangles = indices.size() / 3, n = 3 * triangles;
    h.offsets.assign(vertexCount + 1, 0);
    h.targets.resize(n);
    h.owners.resize(n);
    // Each worker counts the edges of its range of triangles per start vertex, in an array of
    // its own; those counts then become its write cursors, after the earlier workers' edges, so
    // each row keeps its edges in triangle order.
    const std::size_t workers =
        std::max<std::size_t>(1, std::min<std::size_t>(workerCount(), triangles / 65536));
    std::vector<std::vector<std::uint32_t>> count(workers);
    std::atomic<bool> inRange{true};
    parallelFor(
        0, workers,
        [&](std::size_t w0, std::size_t w1) {
            for (std::size_t w = w0; w < w1; ++w) {
                count[w].assign(vertexCount, 0);
                bool ok = true;
                for (std::size_t i = 3 * (triangles * w / workers);
                     i < 3 * (triangles * (w + 1) / workers); ++i) {
                    const std::uint32_t a = indices[i];
                    if (a < vertexCount)
                        ++count[w][a];
                    else
                        ok = false;
                }
                if (!ok) inRange = false;
            }
        },
        workers);
    PRECIS_ASSERT(inRange, "triangle index out of range");
    std::uint32_t run = 0;
    for (std::size_t v = 0; v < vertexCount; ++v) {
        h.offsets[v] = run;
        for (std::size_t w = 0; w < workers; ++w) {
            const std::uint32_t c = count[w][v];
            count[w][v] = run;
            run += c;
        }
    }
    h.offsets[vertexCount] = run;
    parallelFor(
        0, workers,
        [&](std::size_t w0, std::size_t w1) {
            for (std::size_t w = w0; w < w1; ++w) {
                std::vector<std::uint32_t>& cursor = count[w];
                for (std::size_t t = 3 * (triangles * w / workers);
                     t < 3 * (triangles * (w + 1) / workers); t += 3)
                    for (std::size_t k = 0; k < 3; ++k) {
                        const std::uint32_t at = cursor[indices[t + k]]++;
                        h.targets[at] = indices[t + (k + 1) % 3];
                        h.owners[at] = static_cast<std::uint32_t>(t + k);
                    }
            }
        },
        workers);
    parallelFor(0, vertexCount, [&](std::size_t begin, std::size_t end) {
        for (std::size_t v = begin; v < end; ++v) {
            const std::uint32_t b = h.offsets[v], e = h.offsets[v + 1];
            // Rows are short (~6): insertion sort of (target, owner) pairs.
            for (std::uint32_t i = b + 1; i < e; ++i) {
                const std::uint32_t kt = h.targets[i], ko = h.owners[i];
                std::uint32_t j = i;
                while (j > b && h.targets[j - 1] > kt) {
                    h.targets[j] = h.targets[j - 1];
                    h.owners[j] = h.owners[j - 1];
                    --j;
                }
                h.targets[j] = kt;
                h.owners[j] = ko;
            }
        }
    });
    return h;
}

bool isClosedOrientedManifold(const HalfEdges& h) {
    const std::size_t nv = h.offsets.size() - 1;
    if (h.targets.empty()) return false;
    // Every edge once and none degenerate; then the edges a→b with a < b each with its twin, and
    // as many of them as of the others: their twins are then all the others, each with its twin.
    std::atomic<bool> ok{true};
    std::atomic<std::size_t> up{0};
    parallelFor(0, nv, [&](std::size_t begin, std::size_t end) {
        std::size_t rising = 0;
        for (std::size_t a = begin; a < end && ok.load(std::memory_order_relaxed); ++a)
            for (std::uint32_t i = h.offsets[a]; i < h.offsets[a + 1]; ++i) {
                const std::uint32_t b = h.targets[i];
                const bool duplicate = i + 1 < h.offsets[a + 1] && h.targets[i + 1] == b;
                if (b == a || duplicate ||
                    (b > a && h.find(b, static_cast<std::uint32_t>(a)) == UINT32_MAX)) {
                    ok = false;
                    return;
                }
                rising += b > a ? 1 : 0;
            }
        up += rising;
    });
    return ok && 2 * up.load() == h.targets.size();
}

bool isClosedOrientedManifold(const std::vector<std::uint32_t>& indices, std::size_t vertexCount) {
    return isClosedOrientedManifold(buildHalfEdges(indices, vertexCount));
}

} // namespace precis::anatomy::detail
