#pragma once
// JPEG 2000 decoding with OpenJPEG for engine/dicom (private; DCMTK 3.6.7 has no J2K codec).
// Handles a raw J2K codestream (what DICOM 1.2.840.10008.1.2.4.90/.91 require) and, leniently, a
// JP2-wrapped one (some encoders, e.g. old GDCM, wrap it).
#include "core/Error.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace precis::dicom::detail {

/// One decoded frame: the first component's samples as OpenJPEG gives them (sign-extended when
/// the codestream says signed), with the codestream's own precision and signedness.
struct J2kImage {
    int width = 0;
    int height = 0;
    int components = 0;
    int precision = 0;     // bits per sample in the codestream (SIZ Ssiz)
    bool isSigned = false; // codestream signedness (may disagree with Pixel Representation)
    std::vector<std::int32_t> samples; // width*height, first component only
};

/// Decodes one frame. Failure: ParseError with the decoder's own messages in `detail` (the caller
/// names the file). Truncated streams fail (strict mode) instead of decoding partially.
Result<J2kImage> decodeJpeg2000(const std::uint8_t* data, std::size_t size);

/// True when the bytes start like a J2K codestream (SOC+SIZ) or a JP2 signature box.
bool looksLikeJpeg2000(const std::uint8_t* data, std::size_t size);

} // namespace precis::dicom::detail
