// The markups reader's fuzz entry over a file Precis writes and hundreds of mutated and truncated
// variants, with any compiler (CI runs it without libFuzzer).
#include "FuzzMarkups.h"

#include "export/SlicerMarkups.h"

#include <gtest/gtest.h>

#include <random>

using namespace precis;

namespace {

std::string seed() {
    model::Plan p;
    model::Trajectory t;
    t.name = "needle";
    t.deviceId = "rf-18g-10mm";
    t.entryLps = {40.5, 70.25, -12.0};
    t.targetLps = {18.0, 20.0, -3.5};
    p.trajectories.push_back(t);
    t.name = "lead";
    t.controlPointsLps = {{1.0, 35.0, -60.0}};
    p.trajectories.push_back(t);
    p.landmarks.push_back({"target", "medial_branch_target", "L4", "left", {18.0, 20.0, -3.0}});
    return exporting::markupsToJson(p);
}

} // namespace

TEST(FuzzReplay, MarkupsMutationsNeverCrash) {
    const std::string bytes = seed();
    std::mt19937 rng(20240612);
    const char* tokens[] = {"1e999",  "-0",          "null",    "[]",   "{}",        "\"RAS\"",
                            "\"um\"", "\"\\u0000\"", "[1,2,3]", "true", "\"Entry\"", "\"Target\""};
    fuzz::fuzzMarkups(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    for (int n = 0; n < 600; ++n) {
        std::string m = bytes;
        const std::size_t at = std::uniform_int_distribution<std::size_t>(0, m.size() - 1)(rng);
        switch (n % 4) {
        case 0:
            m.resize(at);
            break;
        case 1:
            for (int k = 0; k < 1 + n % 6; ++k)
                m[std::uniform_int_distribution<std::size_t>(0, m.size() - 1)(rng)] ^=
                    static_cast<char>(1 + rng() % 255);
            break;
        case 2: // a JSON token where a value was: types and numbers the reader must check
            m.replace(at, std::min<std::size_t>(m.size() - at, rng() % 8),
                      tokens[rng() % std::size(tokens)]);
            break;
        default:
            m.erase(at, std::min<std::size_t>(m.size() - at, 1 + rng() % 32));
        }
        fuzz::fuzzMarkups(reinterpret_cast<const std::uint8_t*>(m.data()), m.size());
    }
}
