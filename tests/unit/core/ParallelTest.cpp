#include "core/Parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

using namespace precis;

TEST(Parallel, CoversRangeExactlyOnce) {
    for (std::size_t n : {0u, 1u, 2u, 7u, 1000u}) {
        std::vector<std::atomic<int>> hits(n);
        parallelFor(0, n, [&](std::size_t b, std::size_t e) {
            for (std::size_t i = b; i < e; ++i) hits[i]++;
        }, 4);
        for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
    }
}

TEST(Parallel, WorkerCountOverride) {
    setWorkerCount(3);
    EXPECT_EQ(workerCount(), 3u);
    setWorkerCount(0);
    EXPECT_GE(workerCount(), 1u);
}
