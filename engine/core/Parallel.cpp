#include "core/Parallel.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

namespace precis {
namespace {
std::atomic<unsigned> gOverride{0};
}

unsigned workerCount() {
    if (unsigned o = gOverride.load()) return o;
    if (const char* env = std::getenv("PRECIS_THREADS")) {
        int n = std::atoi(env);
        if (n > 0) return static_cast<unsigned>(n);
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

void setWorkerCount(unsigned n) { gOverride = n; }

void parallelFor(std::size_t begin, std::size_t end,
                 const std::function<void(std::size_t, std::size_t)>& fn, std::size_t maxChunks) {
    if (end <= begin) return;
    std::size_t n = end - begin;
    std::size_t chunks = maxChunks ? maxChunks : workerCount();
    chunks = std::min(chunks, n);
    if (chunks <= 1) {
        fn(begin, end);
        return;
    }
    std::vector<std::thread> threads;
    threads.reserve(chunks - 1);
    std::size_t step = n / chunks, rest = n % chunks, at = begin;
    std::size_t firstEnd = 0;
    for (std::size_t c = 0; c < chunks; ++c) {
        std::size_t len = step + (c < rest ? 1 : 0);
        if (c == 0) {
            firstEnd = at + len;
        } else {
            threads.emplace_back(fn, at, at + len);
        }
        at += len;
    }
    fn(begin, firstEnd); // the calling thread does the first chunk
    for (auto& t : threads) t.join();
}

} // namespace precis
