#pragma once
// The series loader's fuzz entry, shared by the libFuzzer target (clang) and the replay test (any
// compiler): writes the input to a temporary file and loads it with dicom::loadLargestSeries.
#include <cstddef>
#include <cstdint>

namespace precis::fuzz {

/// Returns 0 always; a crash, sanitizer report or hang is the failure. Also checks the contract
/// that a failure carries a message naming the file.
int fuzzSeries(const std::uint8_t* data, std::size_t size);

} // namespace precis::fuzz
