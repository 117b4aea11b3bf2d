// Runs `precis` as a user would, under its own Xvfb server, and looks at its screenshots.
#include "core/AtomicFile.h"
#include "render/Image.h"

#include "support/TestSupport.h"
#include "support/Xvfb.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

int run(const std::string& cmd) {
    int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct PixelStats {
    double boneFraction = 0;   // warm light pixels: the lit bone surface
    double distinctColours = 0;
};

PixelStats stats(const precis::render::ImageRgba8& img, int x0, int y0, int x1, int y1) {
    std::size_t bone = 0, total = 0;
    std::vector<bool> seen(1 << 15);
    std::size_t distinct = 0;
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) {
            const auto* p = &img.pixels[(std::size_t(y) * img.width + x) * 4];
            int r = p[0], g = p[1], b = p[2];
            bone += r > 110 && r >= g && g >= b && r - b > 12;
            int key = (r >> 3) << 10 | (g >> 3) << 5 | (b >> 3);
            if (!seen[key]) seen[key] = true, ++distinct;
            ++total;
        }
    return {double(bone) / double(total), double(distinct)};
}

} // namespace

TEST(Gui, OpensThePhantomAndShowsItsBone) {
    auto work = precis::test::makeTempDir("gui");
    ASSERT_EQ(run("'" PRECIS_EXE "' phantom --out '" + (work / "phantom").string() + "' >/dev/null"), 0);

    precis::test::PrivateXvfb x;
    PRECIS_REQUIRE_XVFB(x);
    auto shot = precis::test::outputDir("gui") / "planner-phantom.png";
    fs::remove(shot);
    std::string env = "DISPLAY=" + x.display() + " XDG_DATA_HOME='" + (work / "data").string() +
                      "' PRECIS_VK_VALIDATION=1 ";
    int rc = run(env + "'" PRECIS_EXE "' '" + (work / "phantom").string() +
                 "' --width 1280 --height 800 --frames 10 --screenshot '" + shot.string() +
                 "' 2>'" + (work / "stderr.txt").string() + "'");
    ASSERT_EQ(rc, 0) << "see " << (work / "stderr.txt");
    auto img = precis::render::readPng(shot);
    ASSERT_TRUE(img) << img.error().message;
    EXPECT_EQ(img->width, 1280);
    EXPECT_EQ(img->height, 800);
    // The whole window is not one flat colour, and the 3D view shows lit bone.
    auto all = stats(*img, 0, 0, img->width, img->height);
    EXPECT_GT(all.distinctColours, 200);
    EXPECT_GT(all.boneFraction, 0.01) << "no bone-coloured pixels in " << shot;

    // Without a case on the command line the planner reopens the last one.
    auto shot2 = precis::test::outputDir("gui") / "planner-last-case.png";
    fs::remove(shot2);
    rc = run(env + "'" PRECIS_EXE "' --width 640 --height 480 --frames 20 --screenshot '" +
             shot2.string() + "' 2>>'" + (work / "stderr.txt").string() + "'");
    ASSERT_EQ(rc, 0);
    auto img2 = precis::render::readPng(shot2);
    ASSERT_TRUE(img2);
    EXPECT_GT(stats(*img2, 0, 0, img2->width, img2->height).boneFraction, 0.01);
}

TEST(Gui, WithoutADisplayRendersHeadlessAndSaysWhere) {
    auto work = precis::test::makeTempDir("gui-headless");
    ASSERT_EQ(run("'" PRECIS_EXE "' phantom --out '" + (work / "phantom").string() + "' >/dev/null"), 0);
    auto png = work / "view.png";
    std::string out = (work / "out.txt").string();
    int rc = run("env -u DISPLAY -u WAYLAND_DISPLAY XDG_DATA_HOME='" + (work / "data").string() +
                 "' '" PRECIS_EXE "' '" + (work / "phantom").string() + "' --screenshot '" +
                 png.string() + "' >'" + out + "' 2>&1");
    ASSERT_EQ(rc, 0);
    EXPECT_TRUE(fs::exists(png));
    std::string text = precis::readFile(out).value_or("");
    EXPECT_NE(text.find(png.string()), std::string::npos) << text;
    auto img = precis::render::readPng(png);
    ASSERT_TRUE(img);
    EXPECT_GT(stats(*img, 0, 0, img->width, img->height).boneFraction, 0.01);
}

TEST(Gui, ScriptFileDrivesThePlannerAndBadScriptsFailClearly) {
    auto work = precis::test::makeTempDir("gui-script");
    ASSERT_EQ(run("'" PRECIS_EXE "' phantom --out '" + (work / "phantom").string() + "' >/dev/null"), 0);
    precis::test::PrivateXvfb x;
    PRECIS_REQUIRE_XVFB(x);
    const std::string env = "DISPLAY=" + x.display() + " XDG_DATA_HOME='" + (work / "data").string() +
                            "' PRECIS_VK_VALIDATION=1 ";
    const auto maximised = precis::test::outputDir("gui") / "script-axial.png";
    fs::remove(maximised);
    const auto script = work / "demo.script";
    std::ofstream(script) << "# comments and blank lines are skipped\n\n  maximise axial  \nscreenshot:"
                          << maximised.string() << "\n";
    const std::string err = (work / "stderr.txt").string();
    int rc = run(env + "'" PRECIS_EXE "' '" + (work / "phantom").string() + "' --width 800 --height 600 --script '" +
                 script.string() + "' 2>'" + err + "'");
    ASSERT_EQ(rc, 0) << precis::readFile(err).value_or("");
    // The axial slice fills the content area: no pixel of the 3D view's blue-grey gradient
    // background is left there (a four-pane layout has tens of thousands), and the slice's
    // grey CT shows.
    auto img = precis::render::readPng(maximised);
    ASSERT_TRUE(img) << img.error().message;
    EXPECT_EQ(img->width, 800);
    int backdrop = 0, grey = 0;
    for (int y = 40; y < 570; ++y)
        for (int px = 345; px < 795; ++px) {
            const auto* p = img->at(px, y);
            const int r = p[0], g = p[1], b = p[2];
            backdrop += r < 80 && b - r >= 5 && b - r <= 30 && g > r && g < b;
            grey += r > 60 && std::abs(r - b) < 6 && std::abs(r - g) < 6;
        }
    EXPECT_LT(backdrop, 200);
    EXPECT_GT(grey, 450 * 530 / 5);

    // An unknown action ends the run with exit code 1 and names the action.
    std::ofstream(script) << "view left\nno-such-action 3\n";
    rc = run(env + "'" PRECIS_EXE "' '" + (work / "phantom").string() + "' --width 640 --height 480 --script '" +
             script.string() + "' 2>'" + err + "'");
    EXPECT_EQ(rc, 1);
    EXPECT_NE(precis::readFile(err).value_or("").find("no-such-action"), std::string::npos)
        << precis::readFile(err).value_or("");
    // A missing script file is named.
    rc = run(env + "'" PRECIS_EXE "' '" + (work / "phantom").string() + "' --script '" + (work / "none.txt").string() +
             "' 2>'" + err + "'");
    EXPECT_NE(rc, 0);
    EXPECT_NE(precis::readFile(err).value_or("").find("none.txt"), std::string::npos)
        << precis::readFile(err).value_or("");
    fs::remove_all(work);
}
