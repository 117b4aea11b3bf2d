#pragma once
// The coordinate frame an export writes. Precis is LPS everywhere (DESIGN.md "Coordinates"); RAS
// exists only at boundaries that demand it (3D Slicer reads OpenIGTLink as RAS). LPS → RAS negates
// x and y (and RAS → LPS is the same operation), for points and direction vectors alike.
#include <glm/glm.hpp>

#include <optional>
#include <string_view>

namespace precis::exporting {

enum class Frame { Lps, Ras };

/// "LPS" / "RAS": the spelling used in device names, files and the command line.
constexpr std::string_view toString(Frame frame) {
    return frame == Frame::Ras ? "RAS" : "LPS";
}

/// "LPS" or "RAS" (exactly, upper case); nullopt otherwise.
constexpr std::optional<Frame> frameFromString(std::string_view s) {
    if (s == "LPS") return Frame::Lps;
    if (s == "RAS") return Frame::Ras;
    return std::nullopt;
}

/// A point or direction given in LPS, expressed in `frame`.
constexpr glm::dvec3 fromLps(const glm::dvec3& lps, Frame frame) {
    return frame == Frame::Ras ? glm::dvec3(-lps.x, -lps.y, lps.z) : lps;
}

/// A point or direction given in `frame`, expressed in LPS.
constexpr glm::dvec3 toLps(const glm::dvec3& p, Frame frame) {
    return fromLps(p, frame);
}

} // namespace precis::exporting
