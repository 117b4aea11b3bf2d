#pragma once
// DICOM RT Structure Set (RTSTRUCT) reading: ROI names, types, colours and contours (LPS mm).
// Failure modes: NotFound / ParseError naming the file; a file that is not an RTSTRUCT is a
// ParseError saying what it is instead.
#include "core/Error.h"
#include "model/ContourSet.h"

#include <filesystem>

namespace precis::dicom {

Result<model::ContourSet> readRtStruct(const std::filesystem::path& file);

} // namespace precis::dicom
