#include "gui/GuiApp.h"

#include "anatomy/LabelMapFile.h"
#include "anatomy/MeshIo.h"
#include "core/AtomicFile.h"
#include "dicom/SeriesWriter.h"
#include "export/PlanFile.h"
#include "gui/Settings.h"
#include "phantom/LumbarPhantom.h"
#include "render/Image.h"
#include "render/PlanOverlay.h"
#include "render/SliceView.h"
#include "support/Orthanc.h"
#include "support/TestSupport.h"
#include "support/Xvfb.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace precis::gui {
namespace {

class GuiApp : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        xvfb_ = new precis::test::PrivateXvfb();
        // Settings and PACS retrieves go to a private data home, never the user's.
        dataHome_ = new std::filesystem::path(precis::test::makeTempDir("precis-gui-data"));
        ::setenv("XDG_DATA_HOME", dataHome_->c_str(), 1);
    }
    static void TearDownTestSuite() {
        delete xvfb_;
        xvfb_ = nullptr;
        std::error_code ec;
        if (dataHome_) std::filesystem::remove_all(*dataHome_, ec);
        delete dataHome_;
        dataHome_ = nullptr;
    }
    void SetUp() override {
        PRECIS_REQUIRE_XVFB(*xvfb_);
        // Each test starts from fresh settings (the app remembers its layout between runs).
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        const auto home = *dataHome_ / (std::string("test-") + info->name());
        std::filesystem::remove_all(home);
        std::filesystem::create_directories(home);
        ::setenv("XDG_DATA_HOME", home.c_str(), 1);
    }
    static precis::test::PrivateXvfb* xvfb_;
    static std::filesystem::path* dataHome_;
};
precis::test::PrivateXvfb* GuiApp::xvfb_ = nullptr;
std::filesystem::path* GuiApp::dataHome_ = nullptr;

/// Pixels of the bone colour (warm, red over blue) right of the side panel.
int bonePixels(const render::ImageRgba8& img, int fromX = 360) {
    int bone = 0;
    for (int y = 0; y < img.height; ++y)
        for (int x = fromX; x < img.width; ++x) {
            const auto* p = img.at(x, y);
            bone += p[0] > 150 && p[0] > p[2] + 10;
        }
    return bone;
}

/// The small lumbar phantom written once as a CT series (128 x 128 x 60, 2.3 mm pixels).
struct PhantomSeries {
    std::filesystem::path dir;
    model::SeriesIdentity identity;
};
/// Written under `base` (the suite's data home, removed with it).
const PhantomSeries& phantomSeries(const std::filesystem::path& base) {
    static std::optional<PhantomSeries> series;
    if (series) return *series;
    phantom::PhantomOptions opts;
    opts.columns = 128;
    opts.rows = 128;
    opts.slices = 60;
    opts.pixelMm = 2.3;
    opts.sliceMm = 2.5;
    auto ph = phantom::makeLumbarPhantom(opts);
    EXPECT_TRUE(ph) << describe(ph.error());
    PhantomSeries s;
    s.dir = base / "phantom";
    if (ph) {
        dicom::SeriesWriteOptions o;
        o.patientName = "PHANTOM^LUMBAR";
        o.patientId = "PRECIS-GUI-1";
        o.studyDescription = "Lumbar spine phantom";
        o.seriesDescription = "Axial CT 2.5 mm";
        auto id = dicom::writeCtSeries(ph->ct, o, s.dir / "ct");
        EXPECT_TRUE(id) << describe(id.error());
        if (id) s.identity = *id;
    }
    series = std::move(s);
    return *series;
}

/// A small CT: a 40 mm "bone" ball at the centre and a 15 mm one at the patient's left (+x).
std::filesystem::path writeBallsSeries() {
    model::ImageGeometry g;
    g.dims = {64, 64, 48};
    g.spacingMm = {2.0, 2.0, 2.5};
    g.originMm = {-63, -63, -58.75};
    model::Volume v(g, -1000);
    for (int k = 0; k < g.dims[2]; ++k)
        for (int j = 0; j < g.dims[1]; ++j)
            for (int i = 0; i < g.dims[0]; ++i) {
                const glm::dvec3 p = g.worldFromIndex({double(i), double(j), double(k)});
                if (glm::length(p) < 40 || glm::length(p - glm::dvec3(48, 0, 0)) < 15)
                    v.at(i, j, k) = 1200;
            }
    const auto dir = precis::test::makeTempDir("precis-gui-series");
    dicom::SeriesWriteOptions o;
    o.patientName = "GUI^TEST";
    auto written = dicom::writeCtSeries(v, o, dir);
    EXPECT_TRUE(written) << describe(written.error());
    return dir;
}

TEST_F(GuiApp, ScriptedRunWritesScreenshotWithoutValidationMessages) {
    const auto series = writeBallsSeries();
    const auto shot = precis::test::outputDir("gui") / "gui_oblique_resized.png";
    std::filesystem::remove(shot);
    GuiOptions o;
    o.seriesPath = series;
    o.screenshotPath = shot;
    o.width = 1000;
    o.height = 640;
    o.validation = true; // a validation message makes runGui return 1
    o.actions = {"view posterior", "orbit 10 -5", "resize 900 600", "view oblique"};
    o.frames = 8;
    ASSERT_EQ(runGui(o), 0);
    auto img = render::readPng(shot);
    ASSERT_TRUE(img) << describe(img.error());
    EXPECT_EQ(img->width, 900); // the swapchain followed the resize
    EXPECT_EQ(img->height, 600);
    // The bone surface is drawn in the 3D area (right of the side panel).
    EXPECT_GT(bonePixels(*img), 5000) << "no bone surface visible in " << shot;
    std::filesystem::remove_all(series);
}

TEST_F(GuiApp, MissingSeriesFailsAScriptedRun) {
    GuiOptions o;
    o.seriesPath = precis::test::makeTempDir("precis-gui-empty") / "nothing-here";
    o.frames = 2;
    o.width = 640;
    o.height = 480;
    o.validation = true;
    EXPECT_EQ(runGui(o), 1);
}

TEST_F(GuiApp, UnknownActionFails) {
    const auto series = writeBallsSeries();
    GuiOptions o;
    o.seriesPath = series;
    o.frames = 3;
    o.width = 640;
    o.height = 480;
    o.actions = {"fly-through"};
    EXPECT_EQ(runGui(o), 1);
    std::filesystem::remove_all(series);
}

TEST_F(GuiApp, BrowserListsSeriesAndLoadsTheFirstImageSeries) {
    const auto& ph = phantomSeries(*dataHome_);
    ASSERT_FALSE(ph.identity.seriesInstanceUid.empty());
    // The folder the user browses: the phantom, a non-image object and a file that is not DICOM.
    const auto folder = precis::test::makeTempDir("precis-gui-browse");
    std::filesystem::copy(ph.dir / "ct", folder / "ct");
    const auto rtss = precis::test::sharedData("conformance/rtstruct-dicompyler/rtss.dcm");
    const bool haveRtss = std::filesystem::exists(rtss);
    if (haveRtss) {
        std::filesystem::create_directories(folder / "rtstruct");
        std::filesystem::copy_file(rtss, folder / "rtstruct" / "rtss.dcm");
    }
    {
        std::ofstream notes(folder / "README.txt");
        notes << "not DICOM\n";
    }
    const auto out = precis::test::outputDir("gui");
    const auto browserShot = out / "gui_browser.png";
    const auto loadedShot = out / "gui_browser_loaded.png";
    std::filesystem::remove(browserShot);
    std::filesystem::remove(loadedShot);

    GuiOptions o; // no series at start: the user opens one
    o.screenshotPath = loadedShot;
    o.width = 1280;
    o.height = 800;
    o.validation = true;
    o.actions = {"browse:" + folder.string(), "screenshot:" + browserShot.string(), "load-first",
                 "view posterior"};
    o.frames = 4;
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0);
    EXPECT_TRUE(report.errors.empty()) << report.errors.front();

    // The browser listed the phantom (first, loadable) and the RTSTRUCT (greyed, by kind).
    ASSERT_FALSE(report.browserSeries.empty());
    const auto& first = report.browserSeries.front();
    EXPECT_EQ(first.kind, "image");
    EXPECT_EQ(first.modality, "CT");
    EXPECT_EQ(first.imageCount, 60);
    EXPECT_EQ(first.seriesInstanceUid, ph.identity.seriesInstanceUid);
    EXPECT_EQ(first.description, ph.identity.seriesDescription);
    if (haveRtss) {
        ASSERT_EQ(report.browserSeries.size(), 2u);
        EXPECT_EQ(report.browserSeries[1].kind, "rtstruct");
        EXPECT_EQ(report.browserSeries[1].imageCount, 0);
    }
    // load-first loaded it and it is drawn.
    ASSERT_TRUE(report.caseLoaded);
    EXPECT_EQ(report.loadedDims, (std::array<int, 3>{128, 128, 60}));
    EXPECT_EQ(report.loadedSeriesUid, ph.identity.seriesInstanceUid);
    EXPECT_GT(report.loadedTriangles, 1000u);
    EXPECT_TRUE(report.importAcknowledged); // no warnings: nothing to acknowledge
    ASSERT_EQ(report.screenshots.size(), 2u);
    auto browserImg = render::readPng(browserShot);
    ASSERT_TRUE(browserImg) << describe(browserImg.error());
    auto img = render::readPng(loadedShot);
    ASSERT_TRUE(img) << describe(img.error());
    EXPECT_GT(bonePixels(*img), 5000) << "no bone surface visible in " << loadedShot;

    // The folder is remembered for the next session.
    const auto recent = Settings::load().recentFolders();
    ASSERT_FALSE(recent.empty());
    EXPECT_EQ(recent.front(), folder.string());
    std::filesystem::remove_all(folder);
}

TEST_F(GuiApp, ImportWarningsAreShownAndMustBeAcknowledged) {
    // The balls series with one slice missing in the middle: a gap the report must name.
    const auto series = writeBallsSeries();
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(series))
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    ASSERT_GT(files.size(), 10u);
    std::filesystem::remove(files[files.size() / 2]);
    const auto shot = precis::test::outputDir("gui") / "gui_import_report.png";
    std::filesystem::remove(shot);

    GuiOptions o;
    o.width = 1100;
    o.height = 700;
    o.validation = true;
    o.actions = {"browse:" + series.string(), "load-first", "screenshot:" + shot.string(),
                 "acknowledge-import"};
    o.frames = 3;
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0);
    ASSERT_TRUE(report.caseLoaded);
    EXPECT_GT(report.importWarnings, 0u);
    EXPECT_TRUE(report.importAcknowledged);
    EXPECT_TRUE(std::filesystem::exists(shot));
    std::filesystem::remove_all(series);
}

TEST_F(GuiApp, UnreachablePacsIsAnErrorNotAHang) {
    const auto shot = precis::test::outputDir("gui") / "gui_pacs_error.png";
    std::filesystem::remove(shot);
    GuiOptions o;
    o.width = 1100;
    o.height = 700;
    o.validation = true;
    const int port = precis::test::freePort(); // nothing listens there
    o.actions = {"pacs-echo:127.0.0.1:" + std::to_string(port) + ":ORTHANC"};
    o.screenshotPath = shot;
    o.frames = 3;
    GuiRunReport report;
    o.report = &report;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(runGui(o), 1); // a scripted run notices the error
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 20.0);
    ASSERT_EQ(report.errors.size(), 1u);
    EXPECT_NE(report.errors[0].find(std::to_string(port)), std::string::npos) << report.errors[0];
    EXPECT_TRUE(std::filesystem::exists(shot));
}

TEST_F(GuiApp, PacsQueryRetrieveLoadsThePhantom) {
    if (!precis::test::Orthanc::available()) {
        if (precis::test::inCi()) FAIL() << "Orthanc or storescu missing in CI (scripts/setup.sh)";
        GTEST_SKIP() << "Orthanc or storescu not installed: run scripts/setup.sh";
    }
    using Clock = std::chrono::steady_clock;
    auto since = [](Clock::time_point t) {
        return std::chrono::duration<double>(Clock::now() - t).count();
    };
    auto t0 = Clock::now();
    const auto& ph = phantomSeries(*dataHome_);
    ASSERT_FALSE(ph.identity.seriesInstanceUid.empty());
    const double phantomS = since(t0);
    t0 = Clock::now();
    std::string error;
    auto orthanc = precis::test::Orthanc::start(error);
    ASSERT_TRUE(orthanc) << error;
    const double orthancS = since(t0);
    t0 = Clock::now();
    ASSERT_TRUE(orthanc->store(ph.dir / "ct", error)) << error;
    std::fprintf(stderr, "gui pacs setup: phantom %.2f s, Orthanc %.2f s, seeding %.2f s\n",
                 phantomS, orthancS, since(t0));
    t0 = Clock::now();

    const auto out = precis::test::outputDir("gui");
    const auto queryShot = out / "gui_pacs.png";
    const auto loadedShot = out / "gui_pacs_loaded.png";
    std::filesystem::remove(queryShot);
    std::filesystem::remove(loadedShot);
    GuiOptions o;
    o.width = 1280;
    o.height = 800;
    o.validation = true;
    o.actions = {"pacs-query:127.0.0.1:" + std::to_string(orthanc->dicomPort()) + ":ORTHANC",
                 "screenshot:" + queryShot.string(), "pacs-retrieve-first"};
    o.screenshotPath = loadedShot;
    o.frames = 4;
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0) << orthanc->log();
    std::fprintf(stderr, "gui pacs run: %.2f s\n", since(t0));
    EXPECT_TRUE(report.errors.empty()) << report.errors.front();
    ASSERT_EQ(report.pacsSeries.size(), 1u);
    EXPECT_EQ(report.pacsSeries[0].seriesInstanceUid, ph.identity.seriesInstanceUid);
    EXPECT_EQ(report.pacsSeries[0].numberOfInstances, 60);
    ASSERT_TRUE(report.caseLoaded);
    EXPECT_EQ(report.loadedDims, (std::array<int, 3>{128, 128, 60}));
    EXPECT_EQ(report.loadedSeriesUid, ph.identity.seriesInstanceUid);
    // Retrieved under $XDG_DATA_HOME/precis/pacs/<studyUid>/.
    const auto expected = dataHome() / "pacs" / ph.identity.studyInstanceUid;
    EXPECT_EQ(report.loadedPath.parent_path(), expected);
    auto img = render::readPng(loadedShot);
    ASSERT_TRUE(img) << describe(img.error());
    EXPECT_GT(bonePixels(*img), 5000) << "no bone surface visible in " << loadedShot;
    // The peer is remembered.
    const auto settings = Settings::load();
    EXPECT_EQ(settings.getInt("pacs.port", 0), orthanc->dicomPort());
    EXPECT_EQ(settings.get("pacs.calledAe"), "ORTHANC");
}

} // namespace
} // namespace precis::gui

namespace precis::gui {
namespace {

/// The small phantom as the CLI writes it: the CT series with labels.nrrd and truth.json beside
/// it, so the planner shows one surface per structure and the label overlay.
struct LabelledPhantom {
    std::filesystem::path dir;
    double centreZ = 0; // the volume's centre, where the axial view starts
};
LabelledPhantom writeLabelledPhantom(const std::filesystem::path& base) {
    phantom::PhantomOptions opts;
    opts.columns = 128;
    opts.rows = 128;
    opts.slices = 60;
    opts.pixelMm = 2.3;
    opts.sliceMm = 2.5;
    auto ph = phantom::makeLumbarPhantom(opts);
    EXPECT_TRUE(ph) << describe(ph.error());
    const auto dir = base / "labelled-phantom";
    if (!ph) return {dir, 0};
    dicom::SeriesWriteOptions o;
    o.patientName = "PHANTOM^LUMBAR";
    EXPECT_TRUE(dicom::writeCtSeries(ph->ct, o, dir));
    EXPECT_TRUE(anatomy::writeLabelMap(ph->labels, dir / "labels.nrrd"));
    std::ofstream(dir / "truth.json") << phantom::truthToJson(ph->truth);
    return {dir, ph->ct.geometry.worldBounds().center().z};
}

/// A scripted run on `series` in a window of width x height (at 1280 x 800 four panes of about
/// 468 x 365), validation on, two frames after the last action.
GuiOptions fourPaneRun(const std::filesystem::path& series, int width = 1280, int height = 800) {
    GuiOptions o;
    o.seriesPath = series;
    o.width = width;
    o.height = height;
    o.validation = true;
    o.frames = 2;
    return o;
}

/// Fraction of the pixels inside `pane` (x, y, w, h) whose colour differs by more than 24.
double changedFraction(const render::ImageRgba8& a, const render::ImageRgba8& b,
                       const std::array<float, 4>& pane) {
    std::size_t changed = 0, total = 0;
    for (int y = int(pane[1]) + 2; y < int(pane[1] + pane[3]) - 2; ++y)
        for (int x = int(pane[0]) + 2; x < int(pane[0] + pane[2]) - 2; ++x) {
            const auto* p = a.at(x, y);
            const auto* q = b.at(x, y);
            int d = 0;
            for (int c = 0; c < 3; ++c) d = std::max(d, std::abs(int(p[c]) - int(q[c])));
            changed += d > 24;
            ++total;
        }
    return total ? double(changed) / double(total) : 0.0;
}

TEST_F(GuiApp, FourPanesHideAStructureScrollASliceMaximise) {
    const auto ph = writeLabelledPhantom(*dataHome_);
    const auto out = precis::test::outputDir("gui");
    const auto shot = [&](const char* name) { return (out / name).string(); };
    GuiOptions o = fourPaneRun(ph.dir);
    o.actions = {"screenshot:" + shot("four_panes.png"), "hide L3", "screenshot:" + shot("four_panes_no_l3.png"),
                 "hide dural_sac", "screenshot:" + shot("four_panes_no_sac.png"), "scroll axial 8", "screenshot:" + shot("four_panes_scrolled.png"), "window bone",
                 "maximise axial", "screenshot:" + shot("axial_maximised.png")};
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0);
    ASSERT_TRUE(report.caseLoaded);
    // One surface per structure of truth.json, L3 hidden by the script.
    EXPECT_GT(report.structures.size(), 20u);
    EXPECT_NE(std::find(report.structures.begin(), report.structures.end(), "L3"), report.structures.end());
    EXPECT_EQ(std::find(report.visibleStructures.begin(), report.visibleStructures.end(), "L3"),
              report.visibleStructures.end());
    // Eight slices of 2.5 mm towards superior.
    EXPECT_NEAR(report.slicePositionsLps[0].z, ph.centreZ + 8 * 2.5, 1e-6);
    EXPECT_EQ(report.window[1], 2000.0);                          // bone window
    // The maximised axial pane fills the content area; the others are gone.
    EXPECT_GT(report.panes[1][2], 900.0f);
    EXPECT_EQ(report.panes[0][2], 0.0f);

    auto four = render::readPng(shot("four_panes.png"));
    auto noL3 = render::readPng(shot("four_panes_no_l3.png"));
    auto noSac = render::readPng(shot("four_panes_no_sac.png"));
    auto scrolled = render::readPng(shot("four_panes_scrolled.png"));
    auto maxed = render::readPng(shot("axial_maximised.png"));
    ASSERT_TRUE(four && noL3 && noSac && scrolled && maxed);
    // Four-pane geometry as laid out at the start (1280 x 800, side panel 340, toolbar 34).
    const std::array<float, 4> pane3d{340, 34, 468, 363}, axial{812, 34, 468, 363},
        coronal{340, 401, 468, 363}, sagittal{812, 401, 468, 363};
    // Hiding L3 changes the 3D view (the vertebra goes); its overlay on the slices is bone-white
    // over white bone, so the slices barely change. Hiding the dural sac removes its blue
    // overlay from the sagittal and axial slices.
    EXPECT_GT(changedFraction(*four, *noL3, pane3d), 0.01);
    EXPECT_GT(changedFraction(*noL3, *noSac, sagittal), 0.005);
    EXPECT_GT(changedFraction(*noL3, *noSac, axial), 0.001);
    EXPECT_LT(changedFraction(*noL3, *noSac, coronal), 0.001); // the sac is behind this plane
    // Scrolling the axial slice 20 mm changes the axial pane, the coronal one only where the
    // axial line crosses it.
    EXPECT_GT(changedFraction(*noSac, *scrolled, axial), 0.01);
    EXPECT_LT(changedFraction(*noSac, *scrolled, coronal), 0.01);
    // The axial pane shows CT: many grey levels, and the body is not black.
    int grey = 0;
    for (int y = 100; y < 700; y += 4)
        for (int x = 400; x < 1200; x += 4) {
            const auto* p = maxed->at(x, y);
            grey += p[0] == p[1] && p[1] == p[2] && p[0] > 40;
        }
    EXPECT_GT(grey, 2000) << "no CT in the maximised axial pane";
}

} // namespace
} // namespace precis::gui

namespace precis::gui {
namespace {

/// Pixels of the imported sphere's colour (StructureImport's first fallback, magenta) inside `pane`,
/// and their centroid in window pixels.
struct ColourBlob {
    int pixels = 0;
    double x = 0, y = 0;
};
ColourBlob magentaIn(const render::ImageRgba8& img, const std::array<float, 4>& pane) {
    ColourBlob b;
    for (int y = int(pane[1]); y < int(pane[1] + pane[3]); ++y)
        for (int x = int(pane[0]); x < int(pane[0] + pane[2]); ++x) {
            const auto* p = img.at(x, y);
            if (p[0] > 120 && p[2] > 110 && p[1] + 60 < p[0] && p[1] + 60 < p[2]) {
                ++b.pixels;
                b.x += x;
                b.y += y;
            }
        }
    if (b.pixels > 0) b.x /= b.pixels, b.y /= b.pixels;
    return b;
}

TEST_F(GuiApp, ImportedMeshIsAStructureShownAndPickedIn3d) {
    const auto ph = writeLabelledPhantom(*dataHome_);
    const auto labels = anatomy::readLabelMap(ph.dir / "labels.nrrd");
    ASSERT_TRUE(labels) << describe(labels.error());
    // A 15 mm sphere (STL, LPS mm, no colour in the file) posterior of the spine, at the
    // volume's left-right and cranio-caudal centre: in the posterior view it hides the spine's
    // middle, in front of every structure shown.
    const auto& g = labels->geometry;
    const glm::dvec3 c0 = g.worldBounds().center();
    const glm::dvec3 centre(c0.x, g.worldBounds().maxMm.y - 25.0, c0.z);
    const double radius = 15.0;
    const auto stl = precis::test::makeTempDir("precis-gui-import") / "probe_sphere.stl";
    ASSERT_TRUE(anatomy::exportMesh(render::sphereMesh(centre, radius, 48), stl));
    const auto out = precis::test::outputDir("gui");
    const auto before = out / "import_mesh_before.png", after = out / "import_mesh_after.png";
    GuiOptions o = fourPaneRun(ph.dir);
    o.actions = {"screenshot:" + before.string(), "import-structures:" + stl.string(), "view posterior",
                 "screenshot:" + after.string(), "pick-at 3d 0.5 0.5"};
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0) << (report.errors.empty() ? "" : report.errors.front());
    ASSERT_TRUE(report.caseLoaded);
    auto has = [](const std::vector<std::string>& v, const std::string& x) {
        return std::find(v.begin(), v.end(), x) != v.end();
    };
    EXPECT_TRUE(has(report.structures, "probe_sphere"));
    EXPECT_TRUE(has(report.visibleStructures, "probe_sphere"));
    EXPECT_GT(report.structures.size(), 20u); // the phantom's are all still there
    // The report says what was assumed: millimetres, and no label voxels.
    auto noted = [&](const char* code) {
        return std::ranges::any_of(report.structureImportNotes,
                                   [&](const std::string& n) { return n.rfind(code, 0) == 0; });
    };
    EXPECT_TRUE(noted("assumed-unit"));
    EXPECT_TRUE(noted("surface-only"));
    // The sphere's magenta appears in the 3D pane, around its centre (the camera looks along
    // +y at the scene's centre), and nowhere before the import.
    auto a = render::readPng(before);
    auto b = render::readPng(after);
    ASSERT_TRUE(a && b);
    const auto& pane = report.panes[0];
    EXPECT_LT(magentaIn(*a, pane).pixels, 20);
    const ColourBlob blob = magentaIn(*b, pane);
    EXPECT_GT(blob.pixels, 1500) << "no imported sphere in " << after;
    EXPECT_NEAR(blob.x, pane[0] + pane[2] / 2, pane[2] * 0.15) << after;
    EXPECT_NEAR(blob.y, pane[1] + pane[3] / 2, pane[3] * 0.15) << after;
    // It is pickable: the ray through the pane's centre hits the sphere's posterior surface.
    ASSERT_FALSE(report.picks.empty());
    EXPECT_EQ(report.lastPick.structure, "probe_sphere");
    EXPECT_NEAR(glm::length(report.lastPick.lps - centre), radius, 1.0);
    EXPECT_GT(report.lastPick.lps.y, centre.y);
    std::filesystem::remove_all(stl.parent_path());
}

TEST_F(GuiApp, RtStructOnTheLoadedSeriesBecomesLabelledStructures) {
    // The real RTSTRUCT beside the one CT slice it references that is present (ct.0.dcm): the
    // contours on that slice are filled into a new label map, the others reported.
    PRECIS_REQUIRE_SHARED(dir, "conformance/rtstruct-dicompyler");
    const auto out = precis::test::outputDir("gui");
    const auto before = out / "import_rtstruct_before.png", after = out / "import_rtstruct_after.png";
    GuiOptions o = fourPaneRun(dir / "ct.0.dcm");
    o.actions = {"acknowledge-import", "screenshot:" + before.string(),
                 "import-structures:" + (dir / "rtss.dcm").string(), "screenshot:" + after.string()};
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0) << (report.errors.empty() ? "" : report.errors.front());
    auto has = [](const std::vector<std::string>& v, const std::string& x) {
        return std::find(v.begin(), v.end(), x) != v.end();
    };
    EXPECT_TRUE(has(report.structures, "BODY"));
    EXPECT_TRUE(has(report.visibleStructures, "BODY"));
    // Only BODY has contours on ct.0: the other nine ROIs are reported, not made empty structures.
    EXPECT_EQ(report.structures.size(), 2u); // the bone iso-surface and BODY
    auto noted = [&](const std::string& prefix) {
        return std::ranges::any_of(report.structureImportNotes,
                                   [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
    };
    EXPECT_TRUE(noted("new-label-map"));
    EXPECT_TRUE(noted("contours-off-grid: rtss.dcm: ")) << "contours on the missing slices are reported";
    EXPECT_TRUE(noted("empty-structure: rtss.dcm: Heart has no voxels"));
    // The label overlay appears on the axial slice.
    auto a = render::readPng(before);
    auto b = render::readPng(after);
    ASSERT_TRUE(a && b);
    EXPECT_GT(changedFraction(*a, *b, report.panes[1]), 0.05) << after;
}

TEST_F(GuiApp, StructuresDrawnOnAnotherSeriesAreRefused) {
    PRECIS_REQUIRE_SHARED(rtss, "conformance/rtstruct-dicompyler/rtss.dcm");
    const auto ph = writeLabelledPhantom(*dataHome_);
    const auto junk = precis::test::makeTempDir("precis-gui-import") / "notes.txt";
    std::ofstream(junk) << "not a segmentation\n";
    const auto out = precis::test::outputDir("gui");
    const auto shot = out / "import_refused.png";
    GuiOptions o = fourPaneRun(ph.dir);
    o.actions = {"import-structures:" + rtss.string(), "import-structures:" + junk.string(), "hide L3",
                 "screenshot:" + shot.string()};
    GuiRunReport report;
    o.report = &report;
    EXPECT_EQ(runGui(o), 1); // a scripted run notices the errors, and ran to the end
    ASSERT_TRUE(report.caseLoaded);
    ASSERT_EQ(report.errors.size(), 2u);
    // Each error names the file; the RTSTRUCT's says what it was drawn on instead.
    EXPECT_NE(report.errors[0].find(rtss.string()), std::string::npos) << report.errors[0];
    EXPECT_NE(report.errors[0].find("not on the loaded series"), std::string::npos) << report.errors[0];
    EXPECT_NE(report.errors[1].find(junk.string()), std::string::npos) << report.errors[1];
    // The case is intact: the phantom's structures only, and the run went on (L3 hidden).
    EXPECT_GT(report.structures.size(), 20u);
    EXPECT_EQ(std::ranges::count_if(report.structures, [](const std::string& n) { return n == "BODY"; }), 0);
    EXPECT_TRUE(std::ranges::find(report.visibleStructures, "L3") == report.visibleStructures.end());
    EXPECT_TRUE(render::readPng(shot).has_value());
    std::filesystem::remove_all(junk.parent_path());
}

/// Pixels changed (by more than 24 in a channel) inside the box spanned by two window points,
/// grown by `marginPx`.
std::size_t changedAround(const render::ImageRgba8& a, const render::ImageRgba8& b,
                          const std::array<float, 4>& line, float marginPx) {
    const int x0 = std::max(0, int(std::min(line[0], line[2]) - marginPx));
    const int x1 = std::min(a.width - 1, int(std::max(line[0], line[2]) + marginPx));
    const int y0 = std::max(0, int(std::min(line[1], line[3]) - marginPx));
    const int y1 = std::min(a.height - 1, int(std::max(line[1], line[3]) + marginPx));
    std::size_t changed = 0;
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) {
            int d = 0;
            for (int c = 0; c < 3; ++c) d = std::max(d, std::abs(int(a.at(x, y)[c]) - int(b.at(x, y)[c])));
            changed += d > 24;
        }
    return changed;
}

TEST_F(GuiApp, ProposeUndoSaveAndReopenAPlan) {
    const auto ph = writeLabelledPhantom(*dataHome_);
    const auto out = precis::test::outputDir("gui");
    const auto shot = [&](const char* name) { return (out / name).string(); };
    const auto work = precis::test::makeTempDir("precis-gui-plan");
    const auto planFile = work / "plan.json";
    const auto undoneFile = work / "undone.json";

    GuiOptions o = fourPaneRun(ph.dir);
    o.autosaveIntervalS = 0;
    // The slices move to a proposal's target (and stay on undo): compare the 3D pane between
    // states with the same slices, so only the needle differs.
    o.actions = {"tab plan", "view left", "propose mbrfa L4 left",
                 "screenshot:" + shot("plan_proposed.png"), "undo",
                 "screenshot:" + shot("plan_undone.png"), "plan-save:" + undoneFile.string(), "redo",
                 "screenshot:" + shot("plan_redone.png"), "plan-save:" + planFile.string()};
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0);
    ASSERT_TRUE(report.sceneReady);
    EXPECT_TRUE(report.errors.empty()) << report.errors.front();
    // The proposal is listed green, with its device, and active.
    ASSERT_EQ(report.trajectories.size(), 1u);
    const auto& t = report.trajectories[0];
    EXPECT_EQ(t.procedure, "mbrfa");
    EXPECT_EQ(t.level, "L4");
    EXPECT_EQ(t.side, "left");
    EXPECT_EQ(t.deviceId, "rf-18g-10mm");
    EXPECT_EQ(t.verdict, "green") << t.name;
    EXPECT_TRUE(t.collisions.empty());
    EXPECT_GT(t.lengthMm, 30.0);
    EXPECT_EQ(report.activeTrajectory, t.name);
    EXPECT_EQ(report.planPath, planFile);
    EXPECT_FALSE(report.planDirty);
    EXPECT_EQ(report.undoLabel, "propose " + t.name);
    EXPECT_TRUE(report.redoLabel.empty());
    // Undo removed it (saved in between), redo brought it back (saved at the end).
    auto undone = exporting::loadPlan(undoneFile);
    ASSERT_TRUE(undone) << describe(undone.error());
    EXPECT_TRUE(undone->trajectories.empty());
    auto saved = exporting::loadPlan(planFile);
    ASSERT_TRUE(saved) << describe(saved.error());
    ASSERT_EQ(saved->trajectories.size(), 1u);
    EXPECT_EQ(saved->trajectories[0].name, t.name);
    EXPECT_EQ(saved->series.path, ph.dir.string());

    // The needle is drawn in the 3D pane where it projects, and gone again after undo.
    auto proposed = render::readPng(shot("plan_proposed.png"));
    auto undonePng = render::readPng(shot("plan_undone.png"));
    auto redone = render::readPng(shot("plan_redone.png"));
    ASSERT_TRUE(proposed && undonePng && redone);
    const auto& n = report.needle3d;
    ASSERT_GT(std::abs(n[0] - n[2]) + std::abs(n[1] - n[3]), 10.0f) << "needle not in view";
    const auto& pane = report.panes[0];
    for (float v : {n[0], n[2]}) EXPECT_TRUE(v > pane[0] && v < pane[0] + pane[2]);
    for (float v : {n[1], n[3]}) EXPECT_TRUE(v > pane[1] && v < pane[1] + pane[3]);
    const std::size_t removed = changedAround(*proposed, *undonePng, n, 6);
    const std::size_t redrawn = changedAround(*undonePng, *redone, n, 6);
    EXPECT_GT(removed, 150u) << "undo did not remove the needle from the 3D pane";
    EXPECT_GT(redrawn, 150u) << "redo did not draw the needle again";
    EXPECT_LT(changedAround(*proposed, *redone, n, 6), 20u); // the same plan looks the same
    // Nothing changes far from the needle in the 3D pane (its lower left corner).
    EXPECT_LT(changedFraction(*proposed, *undonePng, {pane[0], pane[1] + pane[3] * 0.75f,
                                                      pane[2] * 0.25f, pane[3] * 0.25f}),
              0.001);

    // `precis PLAN.json`: the plan opens with its series, evaluated, unchanged.
    GuiOptions r = fourPaneRun({});
    r.planPath = planFile;
    r.autosaveIntervalS = 0;
    r.screenshotPath = shot("plan_reopened.png");
    // Then the entry is clicked on the sagittal slice (through the target since "select").
    r.actions = {"select 0", "screenshot:" + shot("plan_reopened_first.png"), "pick entry",
                 "click sagittal 0.9 0.45", "view needle", "tab plan",
                 "screenshot:" + shot("plan_tab.png"), "tab export",
                 "screenshot:" + shot("plan_export_tab.png")};
    GuiRunReport reopened;
    r.report = &reopened;
    ASSERT_EQ(runGui(r), 0);
    EXPECT_TRUE(reopened.caseLoaded);
    EXPECT_EQ(reopened.loadedPath, ph.dir);
    EXPECT_TRUE(reopened.planWarnings.empty()) << reopened.planWarnings.front();
    ASSERT_EQ(reopened.trajectories.size(), 1u);
    const auto& moved = reopened.trajectories[0];
    EXPECT_FALSE(moved.verdict.empty()); // evaluated
    EXPECT_NEAR(moved.entryLps.x, reopened.slicePositionsLps[2].x, 1e-6); // on the sagittal plane
    EXPECT_NEAR(moved.targetLps.x, reopened.slicePositionsLps[2].x, 1e-6);
    EXPECT_GT(glm::length(moved.entryLps - saved->trajectories[0].entryLps), 5.0);
    EXPECT_EQ(moved.targetLps, saved->trajectories[0].targetLps);
    EXPECT_TRUE(reopened.planDirty);
    EXPECT_EQ(reopened.undoLabel, "move entry of " + t.name);
    EXPECT_TRUE(reopened.downTheNeedle);
    // Down the needle: entry and tip project onto the same point.
    EXPECT_LT(std::abs(reopened.needle3d[0] - reopened.needle3d[2]) +
                  std::abs(reopened.needle3d[1] - reopened.needle3d[3]),
              2.0f);
    // The Export tab replaces the plan panel in the side panel (and nothing else).
    auto planTab = render::readPng(shot("plan_tab.png"));
    auto exportTab = render::readPng(shot("plan_export_tab.png"));
    ASSERT_TRUE(planTab && exportTab);
    EXPECT_GT(changedFraction(*planTab, *exportTab, {0, 60, 330, 500}), 0.02);
    EXPECT_LT(changedFraction(*planTab, *exportTab, {700, 60, 500, 300}), 0.001);
    std::filesystem::remove_all(work);
}

TEST_F(GuiApp, PlanWithMissingSeriesStaysOpenAndItsAutosaveIsOffered) {
    const auto work = precis::test::makeTempDir("precis-gui-plan-missing");
    const auto planFile = work / "plan.json";
    model::Plan plan;
    plan.name = "Orphan";
    plan.series.seriesInstanceUid = "1.2.3.4";
    plan.series.path = (work / "gone").string();
    model::Trajectory t;
    t.name = "manual 1";
    t.procedure = "manual";
    t.deviceId = "spinal-22g";
    t.entryLps = {10, 80, 0};
    t.targetLps = {10, 20, 0};
    plan.trajectories.push_back(t);
    ASSERT_TRUE(exporting::savePlan(plan, planFile));

    // An edit, autosaved, then the session "crashes" (never saves).
    GuiOptions o = fourPaneRun({}, 1100, 700);
    o.planPath = planFile;
    o.autosaveIntervalS = 0;
    o.actions = {"select 0", "set-entry 12 90 5", "autosave"};
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0);
    EXPECT_FALSE(report.caseLoaded);
    ASSERT_EQ(report.planWarnings.size(), 1u);
    EXPECT_NE(report.planWarnings[0].find("missing"), std::string::npos) << report.planWarnings[0];
    ASSERT_EQ(report.trajectories.size(), 1u); // the plan stays
    EXPECT_TRUE(report.planDirty);
    EXPECT_TRUE(std::filesystem::exists(exporting::autosavePath(planFile)));
    EXPECT_EQ(exporting::loadPlan(planFile)->trajectories[0].entryLps, t.entryLps); // untouched

    // Reopening offers the autosave; recovering it is an edit that can be saved.
    const auto shot = precis::test::outputDir("gui") / "plan_recover.png";
    GuiOptions r = o;
    r.actions = {"tab plan", "screenshot:" + shot.string(), "recover-autosave"};
    GuiRunReport recovered;
    r.report = &recovered;
    ASSERT_EQ(runGui(r), 0);
    ASSERT_TRUE(std::filesystem::exists(shot));
    EXPECT_FALSE(recovered.recoveryPending);
    ASSERT_EQ(recovered.trajectories.size(), 1u);
    EXPECT_EQ(recovered.trajectories[0].entryLps, glm::dvec3(12, 90, 5));
    EXPECT_TRUE(recovered.planDirty);
    EXPECT_EQ(recovered.undoLabel, "recover autosave");
    std::filesystem::remove_all(work);
}

} // namespace
} // namespace precis::gui

namespace precis::gui {
namespace {

/// The axial, coronal and sagittal views as the app starts them for a pane of `paneSize` (x, y
/// width and height): the same SliceView::standard the app uses, so the test knows which LPS
/// point a click at pane fractions lands on.
render::SliceView startView(render::SliceOrientation o, const model::ImageGeometry& g,
                            const std::array<float, 4>& pane) {
    return render::SliceView::standard(o, g, double(pane[2]) / pane[3]);
}
glm::dvec3 lpsAt(const render::SliceView& v, const std::array<float, 4>& pane, double fx, double fy) {
    return v.worldFromViewport(fx * pane[2], fy * pane[3], pane[2], pane[3]);
}
std::array<double, 2> fractionsOf(const render::SliceView& v, const std::array<float, 4>& pane,
                                  const glm::dvec3& lps) {
    const glm::dvec2 px = v.viewportFromWorld(lps, pane[2], pane[3]);
    return {px.x / pane[2], px.y / pane[3]};
}
/// True when a voxel within `radius` voxels of `lps` carries `label`.
bool labelNear(const model::LabelMap& labels, const glm::dvec3& lps, int label, int radius = 1) {
    const glm::dvec3 c = glm::round(labels.geometry.indexFromWorld(lps));
    for (int dk = -radius; dk <= radius; ++dk)
        for (int dj = -radius; dj <= radius; ++dj)
            for (int di = -radius; di <= radius; ++di) {
                const int i = int(c.x) + di, j = int(c.y) + dj, k = int(c.z) + dk;
                if (labels.geometry.contains(i, j, k) && labels.at(i, j, k) == label) return true;
            }
    return false;
}
/// Pixels of the measurement colour (cyan: blue and green high, red low) inside `box`.
int cyanPixels(const render::ImageRgba8& img, const std::array<float, 4>& box) {
    int n = 0;
    for (int y = std::max(0, int(box[1])); y < std::min(img.height, int(box[1] + box[3])); ++y)
        for (int x = std::max(0, int(box[0])); x < std::min(img.width, int(box[0] + box[2])); ++x) {
            const auto* p = img.at(x, y);
            n += p[2] > 200 && p[1] > 180 && p[0] < 110;
        }
    return n;
}

TEST_F(GuiApp, PicksOnSlicesAndIn3dNameTheStructureUnderTheClick) {
    const auto ph = writeLabelledPhantom(*dataHome_);
    auto labels = anatomy::readLabelMap(ph.dir / "labels.nrrd");
    ASSERT_TRUE(labels) << describe(labels.error());
    auto truth = phantom::truthFromJson(readFile(ph.dir / "truth.json").value_or(""));
    ASSERT_TRUE(truth) << describe(truth.error());
    int l3 = 0;
    for (const auto& st : truth->structures)
        if (st.name == "L3") l3 = st.label;
    ASSERT_GT(l3, 0);
    // The L3 body: the phantom puts its centre on x = 0, y = 0; its middle slice along z there.
    const auto& g = labels->geometry;
    const glm::dvec3 column = glm::round(g.indexFromWorld({0, 0, 0}));
    std::vector<int> ks;
    for (int k = 0; k < g.dims[2]; ++k)
        if (labels->at(int(column.x), int(column.y), k) == l3) ks.push_back(k);
    ASSERT_FALSE(ks.empty());
    const int kBody = ks[ks.size() / 2];
    const int steps = int(std::lround((g.worldFromIndex({column.x, column.y, double(kBody)}).z - ph.centreZ) / g.spacingMm.z));

    // Four panes at 1280 x 800: the axial one top right, about 468 x 365 (checked below).
    const std::array<float, 4> roughAxialPane{812, 34, 468, 365};
    auto axial = startView(render::SliceOrientation::Axial, g, roughAxialPane);
    axial.moveAlongNormal(-steps * g.spacingMm.z); // "scroll axial N" moves it N slices superior
    const auto f = fractionsOf(axial, roughAxialPane, {0, 0, axial.centerLps.z});

    const auto out = precis::test::outputDir("gui");
    const auto shot = (out / "pick_3d_skin.png").string();
    GuiOptions o = fourPaneRun(ph.dir);
    o.actions = {"scroll axial " + std::to_string(steps),
                 fmt::format("pick-at axial {} {}", f[0], f[1]),
                 "screenshot:" + (out / "pick_axial.png").string(),
                 "view posterior",
                 "pick-at 3d 0.5 0.5",
                 "screenshot:" + (out / "pick_3d_bone.png").string(),
                 "show skin",
                 "pick-at 3d 0.5 0.5",
                 "screenshot:" + shot,
                 "hide skin",
                 "pick-at 3d 0.02 0.02"}; // the corner: no surface
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0);
    ASSERT_TRUE(report.caseLoaded);
    const auto& axialPane = report.panes[1];
    EXPECT_NEAR(axialPane[3], roughAxialPane[3], 8.0f);
    auto shown = startView(render::SliceOrientation::Axial, g, axialPane);
    shown.moveAlongNormal(-steps * g.spacingMm.z);
    const glm::dvec3 expected = lpsAt(shown, axialPane, f[0], f[1]);
    ASSERT_EQ(report.picks.size(), 3u); // the click on nothing picks nothing

    // On the slice: the plane's point under the click, the label map's structure there, its HU.
    const auto& onSlice = report.picks[0];
    EXPECT_EQ(onSlice.pane, "axial");
    EXPECT_LT(glm::length(onSlice.lps - expected), 1e-3);
    EXPECT_EQ(onSlice.structure, "L3");
    EXPECT_EQ(onSlice.label, l3);
    ASSERT_TRUE(onSlice.hasHu);
    EXPECT_GT(onSlice.hu, 150.0); // bone
    EXPECT_EQ(onSlice.text.rfind(fmt::format("L {:.1f} P {:.1f} S {:.1f} mm \xc2\xb7 L3 \xc2\xb7 ", expected.x,
                                             expected.y, expected.z),
                                 0),
              0u)
        << onSlice.text;

    // In 3D from behind (skin hidden, as at the start): the ray through the centre meets a bone
    // first, on its surface: that label lies within a voxel of the point.
    const auto& bone = report.picks[1];
    EXPECT_EQ(bone.pane, "3d");
    ASSERT_FALSE(bone.structure.empty());
    const auto* st = [&]() -> const model::Structure* {
        for (const auto& s : truth->structures)
            if (s.name == bone.structure) return &s;
        return nullptr;
    }();
    ASSERT_NE(st, nullptr) << bone.structure;
    EXPECT_EQ(st->kind, model::StructureKind::Bone) << bone.structure;
    EXPECT_TRUE(labelNear(*labels, bone.lps, st->label)) << bone.text;
    // With the skin shown the same ray stops at the skin, farther back (posterior is +y).
    const auto& skin = report.picks[2];
    EXPECT_EQ(skin.structure, "skin");
    EXPECT_TRUE(labelNear(*labels, skin.lps, skin.label)) << skin.text;
    EXPECT_GT(skin.lps.y, bone.lps.y + 10.0);
    EXPECT_LT(std::abs(skin.lps.x - bone.lps.x) + std::abs(skin.lps.z - bone.lps.z), 10.0);
    EXPECT_EQ(report.lastPick.structure, "skin");
    auto img = render::readPng(shot);
    ASSERT_TRUE(img) << describe(img.error());
}

TEST_F(GuiApp, MeasuresDistancesAndAnglesOnSlicesAndIn3d) {
    const auto ph = writeLabelledPhantom(*dataHome_);
    auto labels = anatomy::readLabelMap(ph.dir / "labels.nrrd");
    ASSERT_TRUE(labels) << describe(labels.error());
    const auto& g = labels->geometry;

    const auto out = precis::test::outputDir("gui");
    const auto shot = [&](const char* name) { return (out / name).string(); };
    GuiOptions o = fourPaneRun(ph.dir);
    o.actions = {"measure distance", "screenshot:" + shot("measure_before.png"),
                 "click axial 0.3 0.35", "click axial 0.7 0.6",
                 "screenshot:" + shot("measure_distance.png"),
                 "measure angle", "click coronal 0.3 0.3", "click coronal 0.5 0.6", "click coronal 0.8 0.35",
                 // A measurement in progress that Esc drops.
                 "measure distance", "click sagittal 0.5 0.5", "key escape",
                 // 3D: two picks on the bone surface.
                 "view posterior", "click 3d 0.5 0.5", "click 3d 0.5 0.62",
                 // A sagittal distance, drawn, then deleted.
                 "click sagittal 0.4 0.4", "click sagittal 0.6 0.7", "screenshot:" + shot("measure_all.png"),
                 "delete-measurement 3", "screenshot:" + shot("measure_deleted.png"),
                 // Left in progress: two of an angle's three points.
                 "measure angle", "click axial 0.5 0.5", "click axial 0.6 0.5"};
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0);
    EXPECT_TRUE(report.errors.empty()) << report.errors.front();
    // Where the clicks landed, from the panes' geometry (the slices never moved).
    const auto &pane3d = report.panes[0], &axialPane = report.panes[1], &coronalPane = report.panes[2],
               &sagittalPane = report.panes[3];
    const auto axial = startView(render::SliceOrientation::Axial, g, axialPane);
    const auto coronal = startView(render::SliceOrientation::Coronal, g, coronalPane);
    const glm::dvec3 a = lpsAt(axial, axialPane, 0.3, 0.35), b = lpsAt(axial, axialPane, 0.7, 0.6);
    const glm::dvec3 p = lpsAt(coronal, coronalPane, 0.3, 0.3), q = lpsAt(coronal, coronalPane, 0.5, 0.6),
                     r = lpsAt(coronal, coronalPane, 0.8, 0.35);
    EXPECT_EQ(report.measureMode, "angle");
    EXPECT_TRUE(report.measuring); // two of the three angle points placed

    // The axial distance, the coronal angle and the 3D distance remain (the sagittal one went).
    ASSERT_EQ(report.measurements.size(), 3u);
    const auto& axialDistance = report.measurements[0];
    EXPECT_EQ(axialDistance.kind, "distance");
    EXPECT_EQ(axialDistance.pane, "axial");
    ASSERT_EQ(axialDistance.pointsLps.size(), 2u);
    EXPECT_LT(glm::length(axialDistance.pointsLps[0] - a), 1e-3);
    EXPECT_LT(glm::length(axialDistance.pointsLps[1] - b), 1e-3);
    EXPECT_NEAR(axialDistance.value, glm::length(b - a), 1e-3);
    EXPECT_NEAR(a.z, b.z, 1e-9); // both on the axial plane
    const auto& angle = report.measurements[1];
    EXPECT_EQ(angle.kind, "angle");
    EXPECT_EQ(angle.pane, "coronal");
    ASSERT_EQ(angle.pointsLps.size(), 3u);
    EXPECT_LT(glm::length(angle.pointsLps[0] - p), 1e-3);
    EXPECT_LT(glm::length(angle.pointsLps[1] - q), 1e-3); // the vertex
    EXPECT_LT(glm::length(angle.pointsLps[2] - r), 1e-3);
    EXPECT_NEAR(angle.value, glm::degrees(std::acos(glm::dot(glm::normalize(p - q), glm::normalize(r - q)))), 1e-3);
    const auto& d3 = report.measurements[2];
    EXPECT_EQ(d3.kind, "distance");
    EXPECT_EQ(d3.pane, "3d");
    ASSERT_EQ(d3.pointsLps.size(), 2u);
    EXPECT_NEAR(d3.value, glm::length(d3.pointsLps[1] - d3.pointsLps[0]), 1e-9);
    EXPECT_GT(d3.value, 5.0); // two points on the surface, 12 % of the pane apart
    // The 3D points are picks on surfaces (the last two picks of the 3D clicks).
    bool found = false;
    for (std::size_t i = 0; i + 1 < report.picks.size(); ++i)
        found |= report.picks[i].pane == "3d" && report.picks[i].lps == d3.pointsLps[0] &&
                 report.picks[i + 1].lps == d3.pointsLps[1] && !report.picks[i].structure.empty();
    EXPECT_TRUE(found);

    // The axial distance before it was deleted: its value is the LPS distance of the clicks,
    // and it is drawn between them in the axial pane.
    auto before = render::readPng(shot("measure_before.png"));
    auto distance = render::readPng(shot("measure_distance.png"));
    auto all = render::readPng(shot("measure_all.png"));
    auto deleted = render::readPng(shot("measure_deleted.png"));
    ASSERT_TRUE(before && distance && all && deleted);
    const std::array<float, 4> line{axialPane[0] + 0.3f * axialPane[2], axialPane[1] + 0.35f * axialPane[3],
                                    axialPane[0] + 0.7f * axialPane[2], axialPane[1] + 0.6f * axialPane[3]};
    EXPECT_GT(changedAround(*before, *distance, line, 4), 150u);
    const std::array<float, 4> lineBox{line[0], line[1], line[2] - line[0], line[3] - line[1]};
    EXPECT_GT(cyanPixels(*distance, lineBox), 100) << "no measurement line in the axial pane";
    EXPECT_EQ(cyanPixels(*before, lineBox), 0);
    // Its value, "NN.N mm", is written beside the line's middle: more changed pixels there than
    // the line alone accounts for; nothing changes in the coronal pane.
    EXPECT_LT(changedFraction(*before, *distance, coronalPane), 0.001);
    // Every measurement is drawn where its points are: the angle on the coronal slice, all of
    // them in 3D; the sagittal distance is gone once deleted, the others stay.
    EXPECT_GT(cyanPixels(*all, coronalPane), 100);
    EXPECT_GT(cyanPixels(*all, pane3d), 20);
    // (The 3D distance lies on the sagittal plane too: x = 0 under the posterior view's centre.)
    const std::array<float, 4> sagittalLine{sagittalPane[0] + 0.4f * sagittalPane[2] + 4,
                                            sagittalPane[1] + 0.4f * sagittalPane[3] + 4, 0.2f * sagittalPane[2] - 8,
                                            0.3f * sagittalPane[3] - 8};
    EXPECT_GT(cyanPixels(*all, sagittalLine), 50);
    EXPECT_LT(cyanPixels(*deleted, sagittalLine), 5);
    EXPECT_GT(cyanPixels(*deleted, coronalPane), 100);
    EXPECT_GT(cyanPixels(*deleted, lineBox), 100);
}

TEST_F(GuiApp, MeasurementsAreUndoableAndSavedWithThePlan) {
    const auto ph = writeLabelledPhantom(*dataHome_);
    auto labels = anatomy::readLabelMap(ph.dir / "labels.nrrd");
    ASSERT_TRUE(labels) << describe(labels.error());
    const auto out = precis::test::outputDir("gui");
    const auto shot = [&](const char* name) { return (out / name).string(); };
    const auto dir = precis::test::makeTempDir("gui-measure-plan");
    const auto planFile = dir / "measured.json", undoneFile = dir / "undone.json";

    // Two measurements, saved; the angle undone, saved again; redone.
    GuiOptions o = fourPaneRun(ph.dir);
    o.actions = {"measure distance", "click axial 0.3 0.35", "click axial 0.7 0.6",
                 "measure angle", "click coronal 0.3 0.3", "click coronal 0.5 0.6", "click coronal 0.8 0.35",
                 "plan-save:" + planFile.string(), "undo", "plan-save:" + undoneFile.string(), "redo"};
    GuiRunReport first;
    o.report = &first;
    ASSERT_EQ(runGui(o), 0);
    EXPECT_TRUE(first.errors.empty()) << first.errors.front();
    ASSERT_EQ(first.measurements.size(), 2u); // redone
    auto saved = exporting::loadPlan(planFile);
    ASSERT_TRUE(saved) << describe(saved.error());
    ASSERT_EQ(saved->measurements.size(), 2u);
    EXPECT_EQ(saved->measurements[0].kind, model::MeasurementKind::Distance);
    EXPECT_EQ(saved->measurements[0].pane, "axial");
    EXPECT_EQ(saved->measurements[0].pointsLps, first.measurements[0].pointsLps);
    EXPECT_EQ(saved->measurements[1].kind, model::MeasurementKind::Angle);
    EXPECT_EQ(saved->measurements[1].pointsLps, first.measurements[1].pointsLps);
    EXPECT_NEAR(model::measurementValue(saved->measurements[1]), first.measurements[1].value, 1e-9);
    auto undone = exporting::loadPlan(undoneFile);
    ASSERT_TRUE(undone) << describe(undone.error());
    ASSERT_EQ(undone->measurements.size(), 1u); // the angle was undone
    EXPECT_EQ(undone->measurements[0].kind, model::MeasurementKind::Distance);

    // Opening the plan again brings its measurements back, drawn on their slices.
    GuiOptions again = fourPaneRun(ph.dir);
    again.actions = {"plan-open:" + planFile.string(), "screenshot:" + shot("measure_reopened.png")};
    GuiRunReport second;
    again.report = &second;
    ASSERT_EQ(runGui(again), 0);
    EXPECT_TRUE(second.errors.empty()) << second.errors.front();
    ASSERT_EQ(second.measurements.size(), 2u);
    EXPECT_EQ(second.measurements[0].pointsLps, first.measurements[0].pointsLps);
    EXPECT_NEAR(second.measurements[1].value, first.measurements[1].value, 1e-9);
    auto img = render::readPng(shot("measure_reopened.png"));
    ASSERT_TRUE(img) << describe(img.error());
    const auto &axialPane = second.panes[1], &coronalPane = second.panes[2];
    const std::array<float, 4> lineBox{axialPane[0] + 0.3f * axialPane[2], axialPane[1] + 0.35f * axialPane[3],
                                       0.4f * axialPane[2], 0.25f * axialPane[3]};
    EXPECT_GT(cyanPixels(*img, lineBox), 100) << "the saved distance is not drawn on the axial slice";
    EXPECT_GT(cyanPixels(*img, coronalPane), 100) << "the saved angle is not drawn on the coronal slice";
}

TEST_F(GuiApp, RemembersLayoutWindowAndTabBetweenRuns) {
    const auto series = writeBallsSeries();
    GuiOptions o = fourPaneRun(series, 1100, 700);
    o.actions = {"split 0.3 0.6", "window bone", "tab plan"};
    GuiRunReport first;
    o.report = &first;
    ASSERT_EQ(runGui(o), 0);
    EXPECT_EQ(first.windowSize, (std::array<int, 2>{1100, 700}));
    const auto settings = Settings::load();
    EXPECT_EQ(settings.getInt("window.width", 0), 1100);
    EXPECT_NEAR(settings.getDouble("layout.splitX", 0), 0.3, 1e-4);

    // The second run asks for no size: it opens as the first ended, split as it was left.
    GuiOptions again = fourPaneRun(series, 0, 0);
    again.actions = {"maximise coronal"};
    again.screenshotPath = precis::test::outputDir("gui") / "remembered_layout.png";
    GuiRunReport second;
    again.report = &second;
    ASSERT_EQ(runGui(again), 0);
    EXPECT_EQ(second.windowSize, (std::array<int, 2>{1100, 700}));
    EXPECT_EQ(second.sideTab, "plan");
    EXPECT_EQ(second.window[0], 400.0); // bone: L 400 / W 2000
    EXPECT_EQ(second.window[1], 2000.0);
    EXPECT_NEAR(second.split[0], 0.3, 1e-4);
    EXPECT_NEAR(second.split[1], 0.6, 1e-4);

    // The third run starts with the coronal pane maximised; four panes split 0.3 / 0.6.
    again.actions = {"screenshot:" + (precis::test::outputDir("gui") / "remembered_maximised.png").string(),
                     "four-panes"};
    GuiRunReport third;
    again.report = &third;
    again.screenshotPath = precis::test::outputDir("gui") / "remembered_split.png";
    ASSERT_EQ(runGui(again), 0);
    EXPECT_EQ(third.maximisedPane, "");
    // The content area: right of the 340 px side panel, below the 34 px toolbar.
    const float contentW = 1100 - 340;
    EXPECT_EQ(third.panes[0][0], 340.0f);
    EXPECT_EQ(third.panes[0][2], std::floor((contentW - 4) * 0.3f));
    EXPECT_EQ(third.panes[1][0], 340.0f + third.panes[0][2] + 4);
    const float contentH = third.panes[2][1] + third.panes[2][3] - 34;
    EXPECT_NEAR(third.panes[0][3], std::floor((contentH - 4) * 0.6f), 1.0f);
    // It started maximised: the first screenshot shows the coronal pane over the whole content.
    auto maxed = render::readPng(precis::test::outputDir("gui") / "remembered_maximised.png");
    auto split = render::readPng(precis::test::outputDir("gui") / "remembered_split.png");
    ASSERT_TRUE(maxed && split);
    EXPECT_EQ(maxed->width, 1100);
    EXPECT_GT(changedFraction(*maxed, *split, {340, 34, 760, 600}), 0.05);
    std::filesystem::remove_all(series);
}

/// Bone-coloured pixels inside `box` (x, y, w, h) of the window.
int bonePixelsIn(const render::ImageRgba8& img, const std::array<float, 4>& box) {
    int n = 0;
    for (int y = int(box[1]) + 2; y < int(box[1] + box[3]) - 2; ++y)
        for (int x = int(box[0]) + 2; x < int(box[0] + box[2]) - 2; ++x) {
            const auto* p = img.at(x, y);
            n += p[0] > 150 && p[0] > p[2] + 10;
        }
    return n;
}

TEST_F(GuiApp, ClippingPlaneAndBoxCutTheSurfacesAndPicking) {
    const auto ph = writeLabelledPhantom(*dataHome_);
    auto labels = anatomy::readLabelMap(ph.dir / "labels.nrrd");
    ASSERT_TRUE(labels) << describe(labels.error());
    const auto out = precis::test::outputDir("gui");
    const auto whole = out / "clip_none.png", plane = out / "clip_plane.png", box = out / "clip_box.png";
    // From behind, the ray through the pane centre first meets a spinous process; a coronal
    // plane 15 mm in front of the most posterior bone there, keeping what is anterior to it
    // (flip), cuts the posterior elements away and the pick goes deeper.
    GuiOptions o = fourPaneRun(ph.dir);
    o.actions = {"maximise 3d",
                 "view posterior",
                 "pick-at 3d 0.5 0.5",
                 "screenshot:" + whole.string(),
                 "clip-plane coronal 45 flip",
                 "pick-at 3d 0.5 0.5",
                 "screenshot:" + plane.string(),
                 "clip-plane off",
                 "clip-box 0 200 -200 200 -200 200", // the patient's left half (L >= 0)
                 "pick-at 3d 0.45 0.5",               // right of the midline in a posterior view
                 "screenshot:" + box.string()};
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0);
    ASSERT_EQ(report.picks.size(), 3u);
    EXPECT_TRUE(report.clipBox);
    EXPECT_FALSE(report.clipPlane);
    const auto& first = report.picks[0];
    ASSERT_FALSE(first.structure.empty());
    EXPECT_GT(first.lps.y, 45.0) << first.text; // the spinous process is behind the plane
    const auto& cut = report.picks[1];
    ASSERT_FALSE(cut.structure.empty()) << "the ray should still meet something in front";
    EXPECT_LE(cut.lps.y, 45.0 + 1e-6) << cut.text;
    // In a posterior view the patient's left is on the image left: x = 0.45 of the pane is
    // their left of the midline... and 0.55 their right. The box keeps L >= 0 only.
    const auto& boxed = report.picks[2];
    if (!boxed.structure.empty()) {
        EXPECT_GE(boxed.lps.x, -1e-6) << boxed.text;
    }

    auto a = render::readPng(whole);
    auto b = render::readPng(plane);
    auto c = render::readPng(box);
    ASSERT_TRUE(a && b && c);
    const auto& pane = report.panes[0];
    ASSERT_GT(pane[2], 600.0f);
    EXPECT_GT(changedFraction(*a, *b, pane), 0.02); // the plane changed the picture
    // The box: the pane's image-right half (the patient's right) loses its bone; the image-left
    // half keeps most of it.
    const std::array<float, 4> left{pane[0], pane[1], pane[2] / 2 - 4, pane[3]};
    const std::array<float, 4> right{pane[0] + pane[2] / 2 + 4, pane[1], pane[2] / 2 - 4, pane[3]};
    ASSERT_GT(bonePixelsIn(*a, right), 1000);
    EXPECT_LT(bonePixelsIn(*c, right), bonePixelsIn(*a, right) / 20);
    EXPECT_GT(bonePixelsIn(*c, left), bonePixelsIn(*a, left) / 2);
}

TEST_F(GuiApp, SkinRiskMapPaintsTheSkinForTheActiveTarget) {
    const auto ph = writeLabelledPhantom(*dataHome_);
    const auto out = precis::test::outputDir("gui");
    const auto before = out / "risk_before.png", on = out / "risk_map.png", off = out / "risk_off.png";
    GuiOptions o = fourPaneRun(ph.dir);
    o.actions = {"tab plan",          "propose mbrfa L4 left", "maximise 3d", "view posterior",
                 "screenshot:" + before.string(), "risk-map on", "screenshot:" + on.string(),
                 "risk-map off",      "screenshot:" + off.string(), "risk-map on"};
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0);
    ASSERT_EQ(report.trajectories.size(), 1u);
    EXPECT_GT(report.riskMapVertices, 100u);
    EXPECT_LT(report.riskMapRange[0], report.riskMapRange[1]);
    auto a = render::readPng(before);
    auto b = render::readPng(on);
    auto c = render::readPng(off);
    ASSERT_TRUE(a && b && c);
    // The map's colours on the back: saturated green (low risk) and red-orange (high), which
    // the posterior view without the map does not have (bone is pale, vessels are behind it).
    auto count = [&](const render::ImageRgba8& img, bool green) {
        const auto& pane = report.panes[0];
        int n = 0;
        for (int y = int(pane[1]); y < int(pane[1] + pane[3]); ++y)
            for (int x = int(pane[0]); x < int(pane[0] + pane[2]); ++x) {
                const auto* p = img.at(x, y);
                n += green ? (p[1] > p[0] + 60 && p[1] > p[2] + 60) : (p[0] > p[1] + 60 && p[0] > p[2] + 60);
            }
        return n;
    };
    EXPECT_GT(count(*b, true), count(*a, true) + 2000);
    EXPECT_GT(count(*b, false), count(*a, false) + 500);
    EXPECT_LT(count(*c, true), count(*a, true) + 200); // off: gone again
}

TEST_F(GuiApp, ARoleMadeMustAvoidIsAvoidedByThePlan) {
    const auto ph = writeLabelledPhantom(*dataHome_);
    GuiOptions o = fourPaneRun(ph.dir);
    // The medial-branch needle goes through the paraspinal muscle, which is no hazard by
    // default; marked must-avoid, the rebuilt safety scene makes the same trajectory a red
    // collision, and back to none it is green again.
    o.actions = {"tab plan", "propose mbrfa L4 left", "role paraspinal_left must-avoid", "tab case",
                 "screenshot:" + (precis::test::outputDir("gui") / "role_must_avoid.png").string()};
    GuiRunReport report;
    o.report = &report;
    ASSERT_EQ(runGui(o), 0);
    ASSERT_EQ(report.trajectories.size(), 1u);
    const auto& t = report.trajectories[0];
    EXPECT_EQ(t.verdict, "red");
    EXPECT_NE(std::find(t.collisions.begin(), t.collisions.end(), "paraspinal_left"), t.collisions.end());

    // The role belongs to the plan: saved with it, undone and redone with it; set back to the
    // structure's own role (none), the plan no longer lists it.
    const auto dir = precis::test::makeTempDir("gui-role-plan");
    const auto withRole = dir / "with-role.json", undone = dir / "undone.json", none = dir / "none.json";
    GuiOptions back = fourPaneRun(ph.dir);
    back.actions = {"tab plan", "propose mbrfa L4 left", "role paraspinal_left must-avoid",
                    "plan-save:" + withRole.string(), "undo", "plan-save:" + undone.string(), "redo",
                    "role paraspinal_left none", "plan-save:" + none.string()};
    GuiRunReport again;
    back.report = &again;
    ASSERT_EQ(runGui(back), 0);
    auto saved = exporting::loadPlan(withRole);
    ASSERT_TRUE(saved) << describe(saved.error());
    ASSERT_EQ(saved->structureRoles.size(), 1u);
    EXPECT_EQ(saved->structureRoles[0].structure, "paraspinal_left");
    EXPECT_EQ(saved->structureRoles[0].role, model::StructureRole::MustAvoid);
    auto undonePlan = exporting::loadPlan(undone);
    ASSERT_TRUE(undonePlan) << describe(undonePlan.error());
    EXPECT_TRUE(undonePlan->structureRoles.empty());
    EXPECT_EQ(undonePlan->trajectories.size(), 1u); // only the role was undone
    auto nonePlan = exporting::loadPlan(none);
    ASSERT_TRUE(nonePlan) << describe(nonePlan.error());
    EXPECT_TRUE(nonePlan->structureRoles.empty());
    ASSERT_EQ(again.trajectories.size(), 1u);
    EXPECT_NE(again.trajectories[0].verdict, "red");
    EXPECT_EQ(std::find(again.trajectories[0].collisions.begin(), again.trajectories[0].collisions.end(),
                        "paraspinal_left"),
              again.trajectories[0].collisions.end());
    // Opening the saved plan brings its role back: the scene is rebuilt and the needle is red.
    GuiOptions reopen = fourPaneRun(ph.dir);
    reopen.actions = {"plan-open:" + withRole.string()};
    GuiRunReport reopened;
    reopen.report = &reopened;
    ASSERT_EQ(runGui(reopen), 0);
    ASSERT_EQ(reopened.trajectories.size(), 1u);
    EXPECT_EQ(reopened.trajectories[0].verdict, "red");
    // A role for a structure that does not exist fails the run.
    GuiOptions bad = fourPaneRun(ph.dir);
    bad.actions = {"role no_such_structure caution"};
    EXPECT_EQ(runGui(bad), 1);
}

} // namespace
} // namespace precis::gui
