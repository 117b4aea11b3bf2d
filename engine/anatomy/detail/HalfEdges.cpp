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
    const std::size_t n = indices.size() / 3 * 3;
    h.offsets.assign(vertexCount + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {
        PRECIS_ASSERT(indices[i] < vertexCount, "triangle index out of range");
        ++h.offsets[indices[i] + 1];
    }
    for (std::size_t v = 0; v < vertexCount; ++v) h.offsets[v + 1] += h.offsets[v];
    h.targets.resize(n);
    h.owners.resize(n);
    std::vector<std::uint32_t> cursor(h.offsets.begin(), h.offsets.end() - 1);
    for (std::size_t t = 0; t < n; t += 3)
        for (std::size_t k = 0; k < 3; ++k) {
            const std::uint32_t a = indices[t + k], b = indices[t + (k + 1) % 3];
            const std::uint32_t at = cursor[a]++;
            h.targets[at] = b;
            h.owners[at] = static_cast<std::uint32_t>(t + k);
        }
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
    std::atomic<bool> ok{true};
    parallelFor(0, nv, [&](std::size_t begin, std::size_t end) {
        for (std::size_t a = begin; a < end && ok.load(std::memory_order_relaxed); ++a)
            for (std::uint32_t i = h.offsets[a]; i < h.offsets[a + 1]; ++i) {
                const std::uint32_t b = h.targets[i];
                const bool duplicate = i + 1 < h.offsets[a + 1] && h.targets[i + 1] == b;
                if (b == a || duplicate || h.find(b, static_cast<std::uint32_t>(a)) == UINT32_MAX) {
                    ok = false;
                    return;
                }
            }
    });
    return ok;
}

bool isClosedOrientedManifold(const std::vector<std::uint32_t>& indices, std::size_t vertexCount) {
    return isClosedOrientedManifold(buildHalfEdges(indices, vertexCount));
}

} // namespace precis::anatomy::detail
