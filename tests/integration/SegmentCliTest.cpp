// `precis segment` as scripts use it: the files it writes, the JSON fields, meshes that other
// tools read back in LPS mm, and the real CT in ../shared/data (skin, bone, a continuous canal).
#include "anatomy/IsoSurface.h"
#include "anatomy/LabelMapFile.h"
#include "anatomy/MeshIo.h"
#include "anatomy/MeshSmoothing.h"
#include "anatomy/Segmentation.h"
#include "core/AtomicFile.h"
#include "dicom/SeriesWriter.h"
#include "phantom/LumbarPhantom.h"
#include "render/Camera.h"
#include "render/SceneRenderer.h"

#include "support/RenderTestSupport.h"
#include "support/PrecisCli.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <iostream>
#include <string>
#include <sys/wait.h>
#include <tuple>
#include <vector>

namespace fs = std::filesystem;
using precis::test::CliRun;
using precis::test::runPrecis;
using json = nlohmann::json;
using namespace precis;

namespace {

/// A coarser phantom than the default (1.17 x 1.17 x 1.5 mm, same field of view) keeps the CLI
/// run to a few seconds; what is checked here is the files, not segmentation accuracy.
const fs::path& phantomSeries() {
    static const fs::path dir = [] {
        phantom::PhantomOptions o;
        o.columns = o.rows = 256;
        o.pixelMm = 1.17;
        o.slices = 160;
        o.sliceMm = 1.5;
        auto ph = phantom::makeLumbarPhantom(o);
        EXPECT_TRUE(ph);
        auto d = test::makeTempDir("segment-phantom");
        if (ph) {
            EXPECT_TRUE(dicom::writeCtSeries(ph->ct, {}, d));
        }
        return d;
    }();
    return dir;
}

using Vertex = std::tuple<float, float, float>;

std::vector<Vertex> sortedVertices(const model::Mesh& m) {
    std::vector<Vertex> v;
    v.reserve(m.positions.size());
    for (const auto& p : m.positions) v.emplace_back(p.x, p.y, p.z);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

/// Largest coordinate difference between two sorted vertex lists of equal length (mm).
double largestDifferenceMm(const std::vector<Vertex>& a, const std::vector<Vertex>& b) {
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, double(std::abs(std::get<0>(a[i]) - std::get<0>(b[i]))));
        worst = std::max(worst, double(std::abs(std::get<1>(a[i]) - std::get<1>(b[i]))));
        worst = std::max(worst, double(std::abs(std::get<2>(a[i]) - std::get<2>(b[i]))));
    }
    return worst;
}

} // namespace

TEST(SegmentCli, PhantomWritesLabelsMeshesAndStructuresJson) {
    const fs::path& series = phantomSeries();
    const fs::path out = test::makeTempDir("segment-out");
    CliRun r = runPrecis("segment '" + series.string() + "' --out '" + out.string() + "'");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    ASSERT_TRUE(fs::exists(out / "labels.nrrd"));
    auto text = readFile(out / "structures.json");
    ASSERT_TRUE(text);
    const json doc = json::parse(*text);

    for (const char* k : {"seriesInstanceUid", "dims", "spacingMm", "originMm", "direction"})
        EXPECT_TRUE(doc["series"].contains(k)) << "series." << k;
    EXPECT_EQ(doc["series"]["dims"], json::array({256, 256, 160}));
    for (const char* k : {"load", "segment", "mesh", "write", "total"}) {
        ASSERT_TRUE(doc["timings"].contains(k)) << "timings." << k;
        EXPECT_GE(doc["timings"][k].get<double>(), 0.0);
    }
    ASSERT_TRUE(doc["structures"].is_array());
    int meshed = 0;
    std::vector<std::string> names;
    for (const auto& s : doc["structures"]) {
        for (const char* k : {"name", "kind", "label", "voxels", "volumeMl", "triangles",
                              "watertight", "seconds", "confidence", "notes"})
            EXPECT_TRUE(s.contains(k)) << s.value("name", "?") << " lacks " << k;
        const std::string name = s["name"];
        names.push_back(name);
        if (s["voxels"].get<std::size_t>() == 0) {
            EXPECT_EQ(s["triangles"], 0) << name;
            EXPECT_FALSE(fs::exists(out / (name + ".stl"))) << name;
            continue;
        }
        ++meshed;
        EXPECT_GT(s["triangles"].get<std::size_t>(), 0u) << name;
        EXPECT_TRUE(s["watertight"].get<bool>()) << name;
        EXPECT_TRUE(fs::exists(out / (name + ".stl"))) << name;
        EXPECT_TRUE(fs::exists(out / (name + ".gltf"))) << name;
    }
    for (const char* n : {"skin", "body", "bone", "canal"})
        EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
    EXPECT_GE(meshed, 4);

    // The label volume reads back on the series' grid; the canal mesh written to STL and glTF
    // reads back as the same LPS vertices the pipeline makes in-process (float precision).
    auto labels = anatomy::readLabelMap(out / "labels.nrrd");
    ASSERT_TRUE(labels) << labels.error().message;
    EXPECT_EQ(labels->geometry.dims[2], 160);
    model::Mesh expected = anatomy::extractLabelSurface(*labels, anatomy::seglabel::kCanal);
    ASSERT_TRUE(anatomy::smoothWindowedSinc(expected));
    const auto want = sortedVertices(expected);
    for (const char* file : {"canal.stl", "canal.gltf"}) {
        anatomy::MeshImportOptions io;
        io.unit = anatomy::LengthUnit::Millimetres; // our glTF carries LPS mm, not metres
        auto imported = anatomy::importMesh(out / file, io);
        ASSERT_TRUE(imported) << file << ": " << imported.error().message;
        EXPECT_EQ(imported->mesh.triangleCount(), expected.triangleCount()) << file;
        EXPECT_TRUE(imported->mesh.isClosedManifold()) << file;
        const auto got = sortedVertices(imported->mesh);
        ASSERT_EQ(got.size(), want.size()) << file;
        const double worst = largestDifferenceMm(got, want);
        std::cout << "[ reimport ] " << file << ": " << got.size()
                  << " vertices, largest difference " << worst << " mm\n";
        EXPECT_LT(worst, 1e-4) << file; // float32 at |x| < 300 mm: ~3e-5 mm per ulp
    }
    fs::remove_all(out);
}

TEST(SegmentCli, ErrorsNameTheFolderAndBadOptionsAreUsageErrors) {
    CliRun missing = runPrecis("segment /nonexistent/precis-ct --out /tmp/precis-never");
    EXPECT_EQ(missing.exitCode, 1);
    EXPECT_NE(missing.err.find("/nonexistent/precis-ct"), std::string::npos) << missing.err;
    CliRun ratio = runPrecis("segment '" + phantomSeries().string() +
                             "' --out /tmp/precis-never --decimate 1.5");
    EXPECT_EQ(ratio.exitCode, 2);
    EXPECT_NE(ratio.err.find("--decimate"), std::string::npos) << ratio.err;
    CliRun noOut = runPrecis("segment '" + phantomSeries().string() + "'");
    EXPECT_EQ(noOut.exitCode, 2);
    CliRun help = runPrecis("--help");
    for (const char* s : {"segment", "--smooth", "--decimate", "--max-error-mm", "structures.json",
                          "watertight", "bench mesh"})
        EXPECT_NE(help.out.find(s), std::string::npos) << "help does not mention " << s;
    EXPECT_FALSE(fs::exists("/tmp/precis-never"));
}

TEST(SegmentCli, RealCtGivesSkinBoneAndContinuousCanal) {
    PRECIS_REQUIRE_SHARED(dir, "ct/pancreatic-ct-cbct-seg_001_subset");
    const fs::path out = test::makeTempDir("segment-real");
    CliRun r = runPrecis("segment '" + dir.string() + "' --out '" + out.string() + "'");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const json doc = json::parse(readFile(out / "structures.json").value_or("{}"));
    std::cout << "[ real ct ] timings " << doc["timings"].dump() << "\n";
    for (const char* name : {"skin", "bone", "canal"}) {
        const json* s = nullptr;
        for (const auto& e : doc["structures"])
            if (e["name"] == name) s = &e;
        ASSERT_TRUE(s) << name;
        std::cout << "[ real ct ] " << s->dump() << "\n";
        EXPECT_GT((*s)["voxels"].get<std::size_t>(), 0u) << name;
        EXPECT_GT((*s)["confidence"].get<double>(), 0.0) << name;
        EXPECT_TRUE((*s)["watertight"].get<bool>()) << name;
        EXPECT_TRUE(fs::exists(out / (std::string(name) + ".stl"))) << name;
    }

    // Canal continuous over the lumbar levels: instances 72-116 of the series (README of the
    // data set), z = 412.91 - 3 (instance - 25), every slice holds canal voxels.
    auto labels = anatomy::readLabelMap(out / "labels.nrrd");
    ASSERT_TRUE(labels) << labels.error().message;
    const auto& g = labels->geometry;
    const double zHi = 412.91 - 3.0 * (72 - 25), zLo = 412.91 - 3.0 * (116 - 25);
    const std::size_t plane = static_cast<std::size_t>(g.dims[0]) * g.dims[1];
    int slices = 0, missing = 0;
    for (int k = 0; k < g.dims[2]; ++k) {
        const double z = g.worldFromIndex({0, 0, k}).z;
        if (z > zHi + 0.5 || z < zLo - 0.5) continue;
        ++slices;
        const auto first = labels->voxels.begin() + static_cast<std::ptrdiff_t>(k * plane);
        missing += std::find(first, first + static_cast<std::ptrdiff_t>(plane),
                             anatomy::seglabel::kCanal) == first + static_cast<std::ptrdiff_t>(plane);
    }
    EXPECT_EQ(slices, 45);
    EXPECT_EQ(missing, 0);

    // The canal mesh spans the lumbar levels too; draw it inside translucent bone, from the left.
    anatomy::MeshImportOptions io;
    io.unit = anatomy::LengthUnit::Millimetres;
    auto canal = anatomy::importMesh(out / "canal.stl", io);
    auto bone = anatomy::importMesh(out / "bone.stl", io);
    ASSERT_TRUE(canal && bone);
    EXPECT_LT(canal->mesh.bounds().minMm.z, zLo + 1.5);
    EXPECT_GT(canal->mesh.bounds().maxMm.z, zHi - 1.5);
    auto ctx = render::test::makeValidatedContext();
    ASSERT_TRUE(ctx);
    const std::array<render::MeshItem, 2> items{
        render::MeshItem{&canal->mesh, glm::vec4(0.95f, 0.75f, 0.2f, 1.0f)},
        render::MeshItem{&bone->mesh,
                         glm::vec4(model::defaultColor(model::StructureKind::Bone), 0.3f)}};
    auto camera = render::Camera::fit(bone->mesh.bounds(), render::ViewPreset::Left, 4.0 / 3.0);
    auto image = render::renderMeshesOffscreen(*ctx, items, camera, 800, 600);
    ASSERT_TRUE(image) << image.error().message;
    const fs::path png = test::outputDir("segment") / "real_ct_canal_bone_left.png";
    ASSERT_TRUE(render::writePng(*image, png));
    std::cout << "[ real ct ] wrote " << png << "\n";
    render::test::expectNoValidationMessages(*ctx);
    fs::remove_all(out);
}
