#pragma once
// Minimal data parallelism over an index range on std::threads. Work is split into contiguous
// chunks, one per worker; `fn(begin, end)` must be safe to run concurrently on disjoint ranges.
#include <cstddef>
#include <functional>

namespace precis {

/// Number of workers used by parallelFor (hardware threads, or PRECIS_THREADS if set, >= 1).
unsigned workerCount();

/// Overrides workerCount() for this process (benchmarks compare 1 vs N threads). 0 = default.
void setWorkerCount(unsigned n);

/// Runs fn over [begin, end) split into at most `maxChunks` contiguous chunks (0 = workerCount()).
/// Returns after every chunk finished. Exceptions must not escape fn.
void parallelFor(std::size_t begin, std::size_t end,
                 const std::function<void(std::size_t, std::size_t)>& fn, std::size_t maxChunks = 0);

} // namespace precis
