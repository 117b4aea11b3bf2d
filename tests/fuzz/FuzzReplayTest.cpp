// Runs the fuzz entry over a seed corpus and hundreds of mutated and truncated variants with any
// compiler, so CI exercises the loader's robustness without libFuzzer.
#include "FuzzSeries.h"

#include "dicom/SeriesWriter.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

using namespace precis;
namespace fs = std::filesystem;

namespace {

std::vector<std::uint8_t> readBytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Seeds: a synthetic CT slice (always) and small real files from ../shared/data when present.
std::vector<std::pair<std::string, std::vector<std::uint8_t>>> seeds() {
    std::vector<std::pair<std::string, std::vector<std::uint8_t>>> out;
    model::ImageGeometry g;
    g.dims = {24, 20, 2};
    g.spacingMm = {0.7, 0.7, 1.5};
    model::Volume v(g);
    for (std::size_t i = 0; i < v.voxels.size(); ++i) v.voxels[i] = std::int16_t(i * 13 % 3000 - 1000);
    auto dir = test::makeTempDir("fuzz-seed");
    if (dicom::writeCtSeries(v, {}, dir)) out.emplace_back("synthetic", readBytes(dir / "CT_0001.dcm"));
    fs::remove_all(dir);
    for (const char* rel : {"conformance/pydicom-edge-cases/CT_small.dcm",
                            "conformance/pydicom-edge-cases/MR_small_jp2klossless.dcm",
                            "conformance/pydicom-edge-cases/MR_small_RLE.dcm",
                            "conformance/pydicom-edge-cases/MR_small_jpeg_ls_lossless.dcm",
                            "conformance/pydicom-edge-cases/JPGExtended.dcm",
                            "conformance/pydicom-edge-cases/emri_small.dcm",
                            "conformance/nema-wg04-ct1/CT1_J2KI"}) {
        fs::path p = test::sharedData(rel);
        if (fs::exists(p)) out.emplace_back(rel, readBytes(p));
    }
    return out;
}

} // namespace

TEST(FuzzReplay, SeedsAndMutationsNeverCrash) {
    auto corpus = seeds();
    ASSERT_FALSE(corpus.empty());
    if (test::inCi()) {
        EXPECT_GT(corpus.size(), 1u) << "shared data missing in CI";
    }
    std::mt19937 rng(20240611);
    const int variants = std::getenv("PRECIS_FUZZ_VARIANTS") ? std::atoi(std::getenv("PRECIS_FUZZ_VARIANTS")) : 300;
    for (const auto& [name, bytes] : corpus) {
        SCOPED_TRACE(name);
        fuzz::fuzzSeries(bytes.data(), bytes.size());
        for (int n = 0; n < variants; ++n) {
            std::vector<std::uint8_t> m = bytes;
            switch (n % 4) {
            case 0: // truncate
                m.resize(std::uniform_int_distribution<std::size_t>(0, m.size())(rng));
                break;
            case 1: // flip a few bytes anywhere
                for (int k = 0; k < 1 + n % 8; ++k)
                    m[std::uniform_int_distribution<std::size_t>(0, m.size() - 1)(rng)] ^=
                        std::uint8_t(1 + rng() % 255);
                break;
            case 2: { // overwrite a run in the header area with extreme values (lengths, counts)
                std::size_t at = std::uniform_int_distribution<std::size_t>(
                    0, std::min<std::size_t>(m.size() - 1, 4096))(rng);
                for (std::size_t k = at; k < std::min(m.size(), at + 4); ++k)
                    m[k] = (rng() & 1) ? 0xFF : 0x00;
                break;
            }
            default: { // duplicate or delete a chunk
                std::size_t a = std::uniform_int_distribution<std::size_t>(0, m.size() - 1)(rng);
                std::size_t len = std::min<std::size_t>(m.size() - a, 1 + rng() % 64);
                if (rng() & 1) m.insert(m.begin() + a, bytes.begin() + a, bytes.begin() + a + len);
                else m.erase(m.begin() + a, m.begin() + a + len);
            }
            }
            fuzz::fuzzSeries(m.data(), m.size());
        }
    }
}
