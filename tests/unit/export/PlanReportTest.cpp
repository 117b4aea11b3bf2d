#include "export/PlanReport.h"

#include "SamplePlan.h"
#include "core/AtomicFile.h"
#include "export/PlanFile.h"
#include "support/TestSupport.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <png.h>

#include <cstdio>
#include <regex>

using namespace precis;
namespace fs = std::filesystem;

namespace {

std::string run(const std::string& cmd, int* status) {
    return test::runShell(cmd + " 2>&1", status);
}

bool havePoppler() {
    int status = 0;
    run("command -v pdfinfo && command -v pdftoppm && command -v pdftotext", &status);
    return status == 0;
}

#define REQUIRE_POPPLER()                                                                          \
    if (!havePoppler()) {                                                                          \
        if (test::inCi()) FAIL() << "poppler-utils missing (scripts/setup.sh installs it)";        \
        GTEST_SKIP() << "poppler-utils (pdfinfo, pdftoppm, pdftotext) not installed";              \
    }

/// A w×h RGB PNG: a diagonal gradient with a dark disc in the middle (something to look at).
void writeTestPng(const fs::path& file, int w, int h) {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    ASSERT_TRUE(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, static_cast<png_uint_32>(w), static_cast<png_uint_32>(h), 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    std::vector<png_byte> row(static_cast<std::size_t>(w) * 3);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            const double dx = x - w / 2.0, dy = y - h / 2.0;
            const bool disc = dx * dx + dy * dy < (h / 4.0) * (h / 4.0);
            auto* p = &row[static_cast<std::size_t>(x) * 3];
            p[0] = disc ? 30 : static_cast<png_byte>(60 + 150 * x / w);
            p[1] = disc ? 30 : static_cast<png_byte>(80 + 120 * y / h);
            p[2] = disc ? 60 : 200;
        }
        png_write_row(png, row.data());
    }
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
}

/// An evaluation with every table filled, long enough to run over several pages.
planning::PlanEvaluation sampleEvaluation(const model::Plan& plan) {
    planning::PlanEvaluation e;
    int k = 0;
    for (const auto& t : plan.trajectories) {
        planning::TrajectoryEvaluation ev;
        ev.name = t.name;
        ev.deviceId = t.deviceId;
        ev.entryLps = t.entryLps;
        ev.targetLps = t.targetLps;
        ev.tipLps = t.targetLps;
        ev.lengthMm = glm::length(t.targetLps - t.entryLps);
        ev.usableLengthMm = 100;
        ev.angleToAxialDeg = 12.5 + k;
        ev.angleToSagittalDeg = 30.25 - k;
        ev.angleToViewDeg = 4.0;
        ev.verdict = k == 0   ? planning::Verdict::Green
                     : k == 1 ? planning::Verdict::Amber
                              : planning::Verdict::Red;
        ev.riskScore = 0.4 * k;
        if (k >= 1) {
            ev.reasons.push_back("passes 2.1 mm from nerve_root_L5_right (must-avoid), under the "
                                 "3.0 mm amber clearance");
            ev.warnings.push_back("the device's usable length leaves 8 mm outside the skin");
        }
        if (k == 2) {
            ev.reasons.push_back("crosses dural_sac (must-avoid) from 41.0 to 47.5 mm");
            ev.collisions.push_back({"dural_sac", model::StructureKind::Canal,
                                     model::StructureRole::MustAvoid, 41.0, 47.5, false});
            ev.collisions.push_back({"ligamentum_flavum", model::StructureKind::Custom,
                                     model::StructureRole::Caution, 36.0, 41.0, false});
        }
        ev.intendedContacts.push_back(
            {"L4", model::StructureKind::Bone, model::StructureRole::None, 49.0, 50.0, true});
        for (int c = 0; c < 14; ++c)
            ev.clearances.push_back({fmt::format("structure_{}_{}", k, c),
                                     model::StructureKind::Nerve,
                                     model::StructureRole::MustAvoid,
                                     1.5 + c,
                                     {c * 1.0, -2.0, 3.5},
                                     {0, 0, 0},
                                     10.0 + c});
        e.trajectories.push_back(std::move(ev));
        ++k;
    }
    e.conflicts.push_back({plan.trajectories[0].name, plan.trajectories[1].name, 3.2, {1, 2, 3}});
    return e;
}

int pdfPages(const fs::path& pdf) {
    int status = 0;
    const std::string out = run("pdfinfo '" + pdf.string() + "'", &status);
    EXPECT_EQ(status, 0) << out;
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("Pages:\\s+(\\d+)"))) return -1;
    return std::stoi(m[1]);
}

std::string pdfText(const fs::path& pdf) {
    int status = 0;
    const std::string out = run("pdftotext -layout '" + pdf.string() + "' -", &status);
    EXPECT_EQ(status, 0) << out;
    return out;
}

/// Renders page `page` to `png` (pdftoppm), so a person can look at it.
void renderPage(const fs::path& pdf, int page, const fs::path& png) {
    int status = 0;
    fs::path stem = png;
    stem.replace_extension();
    const std::string out = run(fmt::format("pdftoppm -png -r 80 -f {} -l {} -singlefile '{}' '{}'",
                                            page, page, pdf.string(), stem.string()),
                                &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_TRUE(fs::exists(png));
    EXPECT_GT(fs::file_size(png), 5000u);
}

} // namespace

TEST(PlanReport, FullReportOpensRendersAndSpansSeveralPages) {
    REQUIRE_POPPLER();
    const auto out = test::outputDir("export-report");
    const model::Plan plan = test::samplePlan();
    const auto evaluation = sampleEvaluation(plan);
    writeTestPng(out / "overview.png", 800, 600);
    writeTestPng(out / "needle.png", 600, 600);
    exporting::ReportOptions o;
    o.images = {{out / "overview.png", "3D overview (posterior)"},
                {out / "needle.png", "Down the needle: L4 left MBRFA"}};
    o.generator = "Precis test";
    o.date = "2024-06-01";
    const fs::path pdf = out / "report.pdf";
    const std::string before = exporting::planToJson(plan);
    auto r =
        exporting::writePlanReport(plan, exporting::builtinDeviceCatalog(), &evaluation, o, pdf);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(exporting::planToJson(plan), before);
    EXPECT_GE(r->pages, 3);
    EXPECT_EQ(pdfPages(pdf), r->pages);
    for (int page = 1; page <= r->pages; ++page)
        renderPage(pdf, page, out / fmt::format("report-page{}.png", page));
    const std::string text = pdfText(pdf);
    const std::string lastPage = fmt::format("Page {} of {}", r->pages, r->pages);
    // clang-format off
    const std::vector<std::string> expected = {
        "DOE^JANE", "PAT-0042", "1.2.826.0.1.3680043.8.498.111", "2024-06-01", "L4 left MBRFA",
        "L5 right MBRFA", "T10 SCS lead", "rf-18g-10mm", "(42.1, 71.5, -12.4) mm", "dural_sac",
        "GREEN", "AMBER", "RED", "structure_2_13", "Device conflicts", "3D overview (posterior)",
        "Down the needle", "fluoroscopy", "Teaching case", "canal_center_L4", "Measurements",
        "42.0 mm", "60.0\u00b0", "Angle (vertex second)", "(18.0, 20.0, -45.0)", lastPage};
    // clang-format on
    for (const std::string& s : expected)
        EXPECT_NE(text.find(s), std::string::npos) << "report lacks " << s;
}

TEST(PlanReport, WithoutEvaluationTheTablesSayNotEvaluated) {
    REQUIRE_POPPLER();
    const auto out = test::outputDir("export-report");
    const fs::path pdf = out / "report-not-evaluated.pdf";
    auto r = exporting::writePlanReport(test::samplePlan(), exporting::builtinDeviceCatalog(),
                                        nullptr, {}, pdf);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(pdfPages(pdf), r->pages);
    renderPage(pdf, 1, out / "report-not-evaluated-page1.png");
    const std::string text = pdfText(pdf);
    EXPECT_NE(text.find("not evaluated"), std::string::npos);
    EXPECT_NE(text.find("to the axial plane"), std::string::npos);
    EXPECT_NE(text.find("No images were given"), std::string::npos);
}

TEST(PlanReport, DeidentifiedVariantDropsPatientIdentityAndDates) {
    REQUIRE_POPPLER();
    const auto out = test::outputDir("export-report");
    const model::Plan plan = test::samplePlan();
    const auto evaluation = sampleEvaluation(plan);
    exporting::ReportOptions o;
    o.deidentify = true;
    o.date = "2024-06-01";
    const fs::path pdf = out / "report-deidentified.pdf";
    auto r =
        exporting::writePlanReport(plan, exporting::builtinDeviceCatalog(), &evaluation, o, pdf);
    ASSERT_TRUE(r) << r.error().message;
    renderPage(pdf, 1, out / "report-deidentified-page1.png");
    const std::string text = pdfText(pdf);
    for (const char* s : {"DOE", "JANE", "PAT-0042", "1.2.826.0.1.3680043", "2024-06-01",
                          "2024-05-01", "/data/ct/phantom", "Teaching case"})
        EXPECT_EQ(text.find(s), std::string::npos) << "de-identified report shows " << s;
    EXPECT_NE(text.find("DE-IDENTIFIED"), std::string::npos);
    int status = 0;
    const std::string info = run("pdfinfo '" + pdf.string() + "'", &status);
    EXPECT_EQ(info.find("CreationDate"), std::string::npos) << "no date in the metadata either";
    EXPECT_NE(text.find("L4 left MBRFA"), std::string::npos) << "the plan itself stays";
    EXPECT_NE(text.find("(42.1, 71.5, -12.4) mm"), std::string::npos);
}

TEST(PlanReport, MissingOrBrokenImagesAreNamed) {
    const auto dir = test::makeTempDir("report-images");
    exporting::ReportOptions o;
    o.images = {{dir / "absent.png", "x"}};
    auto r = exporting::writePlanReport(test::samplePlan(), exporting::builtinDeviceCatalog(),
                                        nullptr, o, dir / "r.pdf");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_NE(r.error().message.find("absent.png"), std::string::npos);
    ASSERT_TRUE(writeFileAtomically(dir / "fake.png", "not a png"));
    o.images = {{dir / "fake.png", "x"}};
    r = exporting::writePlanReport(test::samplePlan(), exporting::builtinDeviceCatalog(), nullptr,
                                   o, dir / "r.pdf");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::ParseError);
    EXPECT_NE(r.error().message.find("fake.png"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir / "r.pdf"));
    fs::remove_all(dir);
}
