#pragma once
// The colour every export gives a trajectory, by its index in the plan, so it looks the same in
// 3D Slicer over OpenIGTLink, in a markups file, in the DICOM structure set and in the report.
// A suggestion like defaultColor(StructureKind): the plan itself stores no colour (display state
// stays out of the model). Okabe-Ito colours, told apart by colour-blind viewers too.
#include <array>
#include <cstddef>
#include <cstdint>

namespace precis::model {

inline constexpr std::array<std::array<std::uint8_t, 3>, 7> kTrajectoryPalette{{{230, 159, 0},
                                                                                {86, 180, 233},
                                                                                {0, 158, 115},
                                                                                {240, 228, 66},
                                                                                {0, 114, 178},
                                                                                {213, 94, 0},
                                                                                {204, 121, 167}}};

/// 8-bit sRGB.
inline const std::array<std::uint8_t, 3>& trajectoryColor(std::size_t index) {
    return kTrajectoryPalette[index % kTrajectoryPalette.size()];
}

} // namespace precis::model
