#include "FuzzSeries.h"

#include "dicom/SeriesReader.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace precis::fuzz {

int fuzzSeries(const std::uint8_t* data, std::size_t size) {
    static const std::filesystem::path file =
        std::filesystem::temp_directory_path() /
        ("precis-fuzz-" + std::to_string(::getpid()) + ".dcm");
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    auto r = dicom::loadLargestSeries(file);
    if (!r && r.error().message.find(file.filename().string()) == std::string::npos) {
        std::fprintf(stderr, "error message does not name the file: %s\n",
                     r.error().message.c_str());
        std::abort();
    }
    if (r && r->volume.voxels.size() != r->volume.geometry.voxelCount()) std::abort();
    return 0;
}

} // namespace precis::fuzz
