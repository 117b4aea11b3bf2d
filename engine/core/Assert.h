#pragma once
// Contract violations: a bug in the caller, not bad input. Aborts with a message in every build
// type (tests rely on it; release keeps it because a silent wrong answer is worse than a stop).
#include <cstdio>
#include <cstdlib>

#define PRECIS_ASSERT(cond, msg)                                                                   \
    do {                                                                                           \
        if (!(cond)) [[unlikely]] {                                                                \
            std::fprintf(stderr, "precis: contract violation at %s:%d: %s (%s)\n", __FILE__,       \
                         __LINE__, msg, #cond);                                                    \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)
