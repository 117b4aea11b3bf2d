// The mesh importer's fuzz entry over files our own exporter writes (binary STL, OBJ, binary
// PLY, glTF with its buffer embedded, GLB) and hundreds of truncated and mutated variants of
// each, with any compiler (CI runs it without libFuzzer).
#include "FuzzMeshImport.h"

#include "anatomy/MeshIo.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <unistd.h>

using namespace precis;
namespace fs = std::filesystem;

namespace {

/// An octahedron (closed, 8 triangles), LPS mm.
model::Mesh octahedron() {
    model::Mesh m;
    m.positions = {{10, 0, 0}, {-10, 0, 0}, {0, 10, 0}, {0, -10, 0}, {0, 0, 10}, {0, 0, -10}};
    m.indices = {0, 2, 4, 2, 1, 4, 1, 3, 4, 3, 0, 4, 2, 0, 5, 1, 2, 5, 3, 1, 5, 0, 3, 5};
    return m;
}

/// Selector byte + the bytes our exporter writes for `selector`'s format.
std::vector<std::uint8_t> seed(std::uint8_t selector) {
    const fs::path dir = fs::temp_directory_path() / ("precis-fuzz-mesh-" + std::to_string(getpid()));
    fs::create_directories(dir);
    const fs::path file = dir / fuzz::fuzzMeshFileName(selector);
    auto saved = anatomy::exportMesh(octahedron(), file);
    EXPECT_TRUE(saved) << file;
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint8_t> bytes{selector};
    bytes.insert(bytes.end(), std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    fs::remove_all(dir);
    return bytes;
}

} // namespace

TEST(FuzzReplay, MeshImportSeedsReadBackAndMutationsNeverCrash) {
    std::mt19937 rng(20240613);
    for (std::uint8_t selector = 0; selector < 5; ++selector) {
        const std::vector<std::uint8_t> bytes = seed(selector);
        const std::string name = fuzz::fuzzMeshFileName(selector);
        ASSERT_GT(bytes.size(), 1u) << name;
        // The seed itself reads back: the replay starts from valid input.
        auto whole = anatomy::importMeshFromMemory(std::span(bytes).subspan(1), name);
        ASSERT_TRUE(whole) << name << ": " << whole.error().message;
        EXPECT_EQ(whole->mesh.triangleCount(), 8u) << name;
        EXPECT_TRUE(whole->mesh.isClosedManifold()) << name;
        // Truncated prefixes (64 lengths spread over the file, and the first bytes one by one).
        for (std::size_t n = 1; n < bytes.size(); n += std::max<std::size_t>(1, bytes.size() / 64))
            fuzz::fuzzMeshImport(bytes.data(), n);
        for (std::size_t n = 1; n < std::min<std::size_t>(bytes.size(), 40); ++n)
            fuzz::fuzzMeshImport(bytes.data(), n);
        // Bit flips, byte runs overwritten, bytes erased.
        for (int k = 0; k < 1000; ++k) {
            std::vector<std::uint8_t> m = bytes;
            const std::size_t at = std::uniform_int_distribution<std::size_t>(1, m.size() - 1)(rng);
            switch (k % 3) {
            case 0:
                for (int f = 0; f < 1 + k % 5; ++f)
                    m[std::uniform_int_distribution<std::size_t>(1, m.size() - 1)(rng)] ^=
                        static_cast<std::uint8_t>(1u << (rng() % 8));
                break;
            case 1:
                for (std::size_t i = at; i < std::min(m.size(), at + 1 + rng() % 8); ++i)
                    m[i] = static_cast<std::uint8_t>(rng() % 2 ? 0xFF : rng());
                break;
            default:
                m.erase(m.begin() + static_cast<std::ptrdiff_t>(at),
                        m.begin() + static_cast<std::ptrdiff_t>(
                                        std::min(m.size(), at + 1 + rng() % 32)));
            }
            fuzz::fuzzMeshImport(m.data(), m.size());
        }
    }
}

TEST(FuzzReplay, MeshImportErrorsNameTheFile) {
    const std::vector<std::uint8_t> stl = seed(0);
    for (std::size_t n : {std::size_t{0}, std::size_t{40}, stl.size() / 2}) {
        auto r = anatomy::importMeshFromMemory(std::span(stl).subspan(1, n), "cut.stl");
        ASSERT_FALSE(r) << n << " bytes";
        EXPECT_EQ(r.error().code, ErrorCode::ParseError);
        EXPECT_NE(r.error().message.find("cut.stl"), std::string::npos) << r.error().message;
    }
    // Assimp 5.2's PLY reader never returns on a header cut short: refused before it.
    const std::string ply = "ply\nformat binary_";
    auto cut = anatomy::importMeshFromMemory(
        std::span(reinterpret_cast<const std::uint8_t*>(ply.data()), ply.size()), "cut.ply");
    ASSERT_FALSE(cut);
    EXPECT_NE(cut.error().message.find("cut.ply"), std::string::npos) << cut.error().message;
    const std::string nan = "v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n";
    auto r = anatomy::importMeshFromMemory(
        std::span(reinterpret_cast<const std::uint8_t*>(nan.data()), nan.size()), "nan.obj");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("nan.obj"), std::string::npos) << r.error().message;
}
