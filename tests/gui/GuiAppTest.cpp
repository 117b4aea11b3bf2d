#include "gui/GuiApp.h"

#include "dicom/SeriesWriter.h"
#include "render/Image.h"
#include "support/TestSupport.h"
#include "support/Xvfb.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace precis::gui {
namespace {

class GuiApp : public ::testing::Test {
protected:
    static void SetUpTestSuite() { xvfb_ = new precis::test::PrivateXvfb(); }
    static void TearDownTestSuite() {
        delete xvfb_;
        xvfb_ = nullptr;
    }
    void SetUp() override { PRECIS_REQUIRE_XVFB(*xvfb_); }
    static precis::test::PrivateXvfb* xvfb_;
};
precis::test::PrivateXvfb* GuiApp::xvfb_ = nullptr;

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
    int bone = 0;
    for (int y = 0; y < img->height; ++y)
        for (int x = 360; x < img->width; ++x) {
            const auto* p = img->at(x, y);
            bone += p[0] > 150 && p[0] > p[2] + 10;
        }
    EXPECT_GT(bone, 5000) << "no bone surface visible in " << shot;
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

} // namespace
} // namespace precis::gui
