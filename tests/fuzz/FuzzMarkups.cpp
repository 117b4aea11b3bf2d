#include "FuzzMarkups.h"

#include "core/Assert.h"
#include "export/SlicerMarkups.h"

#include <cmath>
#include <string_view>

namespace precis::fuzz {
namespace {

bool finite(const glm::dvec3& v) {
    return std::isfinite(v.x) && std::isfinite(v.y) && std::isfinite(v.z);
}

} // namespace

int fuzzMarkups(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto r = exporting::markupsFromJson(text, "fuzz.mrk.json");
    if (!r) {
        PRECIS_ASSERT(r.error().code == ErrorCode::ParseError, "markups errors are ParseErrors");
        PRECIS_ASSERT(r.error().message.find("fuzz.mrk.json") != std::string::npos,
                      "markups errors name the file");
        return 0;
    }
    for (const auto& t : r->trajectories) {
        PRECIS_ASSERT(finite(t.entryLps) && finite(t.targetLps), "imported points are finite");
        for (const auto& c : t.controlPointsLps)
            PRECIS_ASSERT(finite(c), "control points finite");
    }
    for (const auto& l : r->landmarks)
        PRECIS_ASSERT(finite(l.lps), "landmarks are finite");
    return 0;
}

} // namespace precis::fuzz
