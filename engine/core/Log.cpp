#include "core/Log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace precis::log {
namespace {
std::atomic<Level> gLevel{Level::Warn};
std::mutex gMutex;
} // namespace

void setLevel(Level l) { gLevel = l; }
Level level() { return gLevel; }

void write(Level l, std::string_view message) {
    static constexpr const char* kNames[] = {"debug", "info", "warning", "error", ""};
    std::lock_guard lock(gMutex);
    std::fprintf(stderr, "[%s] %.*s\n", kNames[static_cast<int>(l)], static_cast<int>(message.size()),
                 message.data());
}

} // namespace precis::log
