#include "anatomy/MeshIo.h"

#include "MeshShapes.h"
#include "core/AtomicFile.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>

using namespace precis;
namespace fs = std::filesystem;

namespace {

const glm::dvec3 kCenter(12.0, -40.0, 300.0);

bool hasWarning(const model::ImportReport& report, const std::string& code) {
    return std::any_of(report.warnings.begin(), report.warnings.end(),
                       [&](const model::ImportWarning& w) { return w.code == code; });
}

/// Largest distance from a vertex of `a` to the nearest vertex of `b` (brute force, small meshes).
double vertexSetDistance(const model::Mesh& a, const model::Mesh& b) {
    double worst = 0;
    for (const auto& p : a.positions) {
        double best = INFINITY;
        for (const auto& q : b.positions) best = std::min(best, double(glm::length(p - q)));
        worst = std::max(worst, best);
    }
    return worst;
}

std::string readBytes(const fs::path& file) {
    auto bytes = readFile(file);
    return bytes ? *bytes : std::string();
}

void writeBytes(const fs::path& file, std::string_view bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

} // namespace

TEST(MeshIo, VisibleHumanVertebraeInMetresImportAsClosedMillimetreMeshes) {
    PRECIS_REQUIRE_SHARED(dir, "meshes/lumbosacral-spine-visible-human-obj");
    for (const std::string name : {"L1", "L2", "L3", "L4", "L5", "S1"}) {
        const fs::path file = dir / (name + "_Schrumpfverpacken.obj");
        auto imported = anatomy::importMesh(file, {.unit = anatomy::LengthUnit::Metres});
        ASSERT_TRUE(imported.has_value()) << describe(imported.error());
        const model::Mesh& mesh = imported->mesh;
        EXPECT_EQ(imported->unit, anatomy::LengthUnit::Metres);
        EXPECT_TRUE(hasWarning(imported->report, "missing-material")) << name;
        EXPECT_FALSE(hasWarning(imported->report, "assumed-unit")) << name;
        EXPECT_FALSE(hasWarning(imported->report, "suspicious-size")) << name;
        EXPECT_TRUE(mesh.isClosedManifold()) << name;
        const double volumeCm3 = mesh.signedVolumeMm3() / 1000.0;
        if (name == "S1") {
            EXPECT_NEAR(volumeCm3, 245.0, 5.0);
            EXPECT_EQ(mesh.triangleCount(), 26550u);
        } else {
            // The data README gives 69-81 cm^3 rounded to whole cm^3 (L1 is 68.77).
            EXPECT_GE(volumeCm3, 68.5) << name;
            EXPECT_LE(volumeCm3, 81.5) << name;
        }
        if (name == "L1") {
            EXPECT_EQ(mesh.positions.size(), 4026u);
            EXPECT_EQ(mesh.triangleCount(), 8052u);
            // L1's top is at z ~ 0.204 m in the file: 204 mm.
            EXPECT_NEAR(mesh.bounds().maxMm.z, 204.0, 2.0);
        }
    }
}

TEST(MeshIo, UnstatedUnitIsReportedAndSuspiciousSizeFlagged) {
    PRECIS_REQUIRE_SHARED(file, "meshes/lumbosacral-spine-visible-human-obj/L1_Schrumpfverpacken.obj");
    auto imported = anatomy::importMesh(file);
    ASSERT_TRUE(imported.has_value());
    EXPECT_EQ(imported->unit, anatomy::LengthUnit::Millimetres);
    EXPECT_TRUE(hasWarning(imported->report, "assumed-unit"));
    EXPECT_TRUE(hasWarning(imported->report, "suspicious-size")); // 0.05 "mm" across
    for (const auto& w : imported->report.warnings) {
        EXPECT_FALSE(w.message.empty());
        EXPECT_FALSE(w.files.empty());
    }
}

TEST(MeshIo, RoundTripsEveryExportFormatInLpsMm) {
    model::Mesh sphere = test::icoSphere(kCenter, 20.0, 3);
    sphere.computeNormals();
    const fs::path dir = test::makeTempDir("mesh-io");
    for (const std::string ext : {".stl", ".obj", ".ply", ".gltf", ".glb"}) {
        const fs::path file = dir / ("sphere" + ext);
        auto saved = anatomy::exportMesh(sphere, file);
        ASSERT_TRUE(saved.has_value()) << ext << ": " << describe(saved.error());
        auto back = anatomy::importMesh(file, {.unit = anatomy::LengthUnit::Millimetres});
        ASSERT_TRUE(back.has_value()) << ext << ": " << describe(back.error());
        const model::Mesh& mesh = back->mesh;
        EXPECT_EQ(mesh.positions.size(), sphere.positions.size()) << ext;
        EXPECT_EQ(mesh.triangleCount(), sphere.triangleCount()) << ext;
        EXPECT_TRUE(mesh.isClosedManifold()) << ext;
        EXPECT_LT(vertexSetDistance(sphere, mesh), 1e-4) << ext; // float precision at 300 mm
        EXPECT_LT(vertexSetDistance(mesh, sphere), 1e-4) << ext;
        EXPECT_NEAR(mesh.signedVolumeMm3(), sphere.signedVolumeMm3(), 1e-3) << ext;
        EXPECT_FALSE(hasWarning(back->report, "assumed-unit")) << ext;
        EXPECT_FALSE(back->format.empty());
    }
    // glTF read with its default convention (metres) comes back 1000x larger, and says so.
    auto metres = anatomy::importMesh(dir / "sphere.glb");
    ASSERT_TRUE(metres.has_value());
    EXPECT_EQ(metres->unit, anatomy::LengthUnit::Metres);
    EXPECT_TRUE(hasWarning(metres->report, "assumed-unit"));
    EXPECT_TRUE(hasWarning(metres->report, "suspicious-size"));
    EXPECT_NEAR(metres->mesh.bounds().center().z, 300000.0, 1.0);
    fs::remove_all(dir);
}

TEST(MeshIo, TransformToLpsIsAppliedAndMirroringKeepsOutwardWinding) {
    const model::Mesh sphere = test::icoSphere(kCenter, 20.0, 2);
    const fs::path dir = test::makeTempDir("mesh-io-lps");
    const fs::path file = dir / "sphere.ply";
    ASSERT_TRUE(anatomy::exportMesh(sphere, file).has_value());
    // A RAS file: x and y negated.
    auto ras = anatomy::importMesh(file, {.unit = anatomy::LengthUnit::Millimetres,
                                          .toLps = anatomy::lpsFromRas()});
    ASSERT_TRUE(ras.has_value());
    EXPECT_NEAR(glm::length(ras->mesh.bounds().center() - glm::dvec3(-12, 40, 300)), 0.0, 1e-3);
    EXPECT_GT(ras->mesh.signedVolumeMm3(), 0);
    EXPECT_FALSE(hasWarning(ras->report, "mirrored"));
    // Centimetres and a mirror (x → -x): positions scale by 10, winding flips to stay outward.
    glm::dmat4 mirror(1.0);
    mirror[0][0] = -1;
    auto cm = anatomy::importMesh(file, {.unit = anatomy::LengthUnit::Centimetres, .toLps = mirror});
    ASSERT_TRUE(cm.has_value());
    EXPECT_NEAR(glm::length(cm->mesh.bounds().center() - glm::dvec3(-120, -400, 3000)), 0.0, 1e-2);
    EXPECT_GT(cm->mesh.signedVolumeMm3(), 0);
    EXPECT_NEAR(cm->mesh.signedVolumeMm3(), sphere.signedVolumeMm3() * 1000, sphere.signedVolumeMm3());
    EXPECT_TRUE(hasWarning(cm->report, "mirrored"));
    fs::remove_all(dir);
}

TEST(MeshIo, EveryTruncatedPrefixOfAnStlFailsCleanlyNamingTheFile) {
    const fs::path dir = test::makeTempDir("mesh-io-trunc");
    const fs::path good = dir / "box.stl";
    ASSERT_TRUE(anatomy::exportMesh(test::box({0, 0, 0}, {1, 2, 3}), good).has_value());
    const std::string bytes = readBytes(good);
    ASSERT_EQ(bytes.size(), 84u + 12u * 50u);
    ASSERT_TRUE(anatomy::importMesh(good, {.unit = anatomy::LengthUnit::Millimetres}).has_value());
    const fs::path cut = dir / "cut.stl";
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        writeBytes(cut, std::string_view(bytes).substr(0, n));
        auto r = anatomy::importMesh(cut);
        ASSERT_FALSE(r.has_value()) << "prefix of " << n << " bytes was accepted";
        EXPECT_EQ(r.error().code, ErrorCode::ParseError) << n;
        EXPECT_NE(r.error().message.find(cut.string()), std::string::npos) << r.error().message;
    }
    fs::remove_all(dir);
}

TEST(MeshIo, GarbageMissingAndUnwritableFilesGiveCleanErrors) {
    const fs::path dir = test::makeTempDir("mesh-io-bad");
    std::mt19937 rng(99);
    std::string garbage(4096, '\0');
    for (char& c : garbage) c = static_cast<char>(rng() & 0xff);
    for (const std::string ext : {".stl", ".obj", ".ply", ".glb", ".gltf", ".xyz"}) {
        const fs::path file = dir / ("garbage" + ext);
        writeBytes(file, garbage);
        auto r = anatomy::importMesh(file);
        ASSERT_FALSE(r.has_value()) << ext;
        EXPECT_EQ(r.error().code, ErrorCode::ParseError) << ext;
        EXPECT_NE(r.error().message.find(file.string()), std::string::npos) << r.error().message;
    }
    auto missing = anatomy::importMesh(dir / "nope.stl");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().message.find("nope.stl"), std::string::npos);

    const model::Mesh box = test::box({0, 0, 0}, {1, 1, 1});
    auto badExt = anatomy::exportMesh(box, dir / "box.xyz");
    ASSERT_FALSE(badExt.has_value());
    EXPECT_EQ(badExt.error().code, ErrorCode::InvalidArgument);
    writeBytes(dir / "plain-file", "x"); // a file where a folder should be
    auto noDir = anatomy::exportMesh(box, dir / "plain-file" / "box.stl");
    ASSERT_FALSE(noDir.has_value());
    EXPECT_EQ(noDir.error().code, ErrorCode::IoError);
    EXPECT_NE(noDir.error().message.find("box.stl"), std::string::npos);
    EXPECT_FALSE(anatomy::exportMesh(model::Mesh{}, dir / "empty.stl").has_value());
    fs::remove_all(dir);
}
