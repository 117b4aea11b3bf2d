#pragma once
// The 3D Slicer markups reader's fuzz entry (export/SlicerMarkups.h), shared by the libFuzzer
// target (clang) and the replay test (any compiler).
#include <cstddef>
#include <cstdint>

namespace precis::fuzz {

/// Returns 0 always; a crash, sanitizer report or hang is the failure. Also checks the contract:
/// a failure is a ParseError naming the source, a success has only finite coordinates.
int fuzzMarkups(const std::uint8_t* data, std::size_t size);

} // namespace precis::fuzz
