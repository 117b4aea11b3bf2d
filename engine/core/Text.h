#pragma once
// Small text helpers shared by the file and wire formats.
#include <cstddef>
#include <string>

namespace precis {

/// `s` cut to at most `bytes` bytes without splitting a UTF-8 sequence (fixed-width fields:
/// DICOM LO/SH values, OpenIGTLink names).
inline std::string fitUtf8(const std::string& s, std::size_t bytes) {
    if (s.size() <= bytes) return s;
    std::size_t end = bytes;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    return s.substr(0, end);
}

} // namespace precis
