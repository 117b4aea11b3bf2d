#pragma once
// Label volumes on disk as NRRD (raw, uint8) with "space: left-posterior-superior", so 3D Slicer,
// ITK and Precis read them with the same LPS geometry. Atomic write (temp file + rename).
#include "core/Error.h"
#include "model/Volume.h"

#include <filesystem>

namespace precis::anatomy {

Result<void> writeLabelMap(const model::LabelMap& labels, const std::filesystem::path& file);
Result<model::LabelMap> readLabelMap(const std::filesystem::path& file);

} // namespace precis::anatomy
