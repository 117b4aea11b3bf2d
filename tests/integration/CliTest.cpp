// The `precis` executable as scripts use it: exit codes, JSON on stdout, files written.
#include "core/AtomicFile.h"
#include "support/PrecisCli.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <sys/wait.h>

namespace fs = std::filesystem;
using precis::test::CliRun;
using precis::test::runPrecis;
using json = nlohmann::json;

namespace {

/// The default phantom, written once for all CLI tests of this process.
const fs::path& phantomDir() {
    static fs::path dir = [] {
        auto d = precis::test::makeTempDir("cli-phantom");
        CliRun r = runPrecis("phantom --out '" + d.string() + "' --seed 7");
        EXPECT_EQ(r.exitCode, 0) << r.err;
        return d;
    }();
    return dir;
}

} // namespace

TEST(Cli, HelpDocumentsEveryCommandAndOption) {
    CliRun r = runPrecis("--help");
    EXPECT_EQ(r.exitCode, 0);
    for (const char* s : {"phantom", "--out", "--seed", "info", "render", "--width", "--height",
                          "--view", "--iso", "seriesInstanceUid", "spacingMm", "originMm",
                          "direction", "huRange", "warnings", "LPS", "objects",
                          "--correct-tilt", "--resample-uniform", "segment", "--smooth",
                          "--decimate", "--max-error-mm", "bench load", "bench mesh", "--runs",
                          "--threads", "--hu", "pacs", "--host", "--port", "--aet", "--our-aet",
                          "--timeout", "--patient-id", "--patient-name", "--date", "--modality",
                          "--level", "--study", "--series", "--move", "--store-port",
                          "--screenshot", "--frames", "PRECIS_VK_VALIDATION"})
        EXPECT_NE(r.out.find(s), std::string::npos) << "help does not mention " << s;
}

TEST(Cli, PhantomWritesSeriesLabelsAndTruth) {
    const auto& dir = phantomDir();
    int dcm = 0;
    for (auto& e : fs::directory_iterator(dir)) dcm += e.path().extension() == ".dcm";
    EXPECT_EQ(dcm, 240);
    EXPECT_TRUE(fs::exists(dir / "labels.nrrd"));
    json truth = json::parse(precis::readFile(dir / "truth.json").value_or(""), nullptr, false);
    ASSERT_FALSE(truth.is_discarded());
    EXPECT_EQ(truth["frame"], "LPS");
    EXPECT_EQ(truth["units"], "mm");
    EXPECT_FALSE(truth["structures"].empty());
    EXPECT_FALSE(truth["landmarks"].empty());
    EXPECT_FALSE(truth["polylines"].empty());
}

TEST(Cli, InfoDescribesThePhantomGeometry) {
    CliRun r = runPrecis("info '" + phantomDir().string() + "'");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    ASSERT_EQ(j["series"].size(), 1u);
    const auto& s = j["series"][0];
    EXPECT_EQ(s["modality"], "CT");
    EXPECT_FALSE(s["seriesInstanceUid"].get<std::string>().empty());
    EXPECT_EQ(s["dims"], json({384, 384, 240}));
    EXPECT_NEAR(s["spacingMm"][0].get<double>(), 0.78, 1e-9);
    EXPECT_NEAR(s["spacingMm"][1].get<double>(), 0.78, 1e-9);
    EXPECT_NEAR(s["spacingMm"][2].get<double>(), 1.0, 1e-9);
    // Prone axial: rows toward patient right, columns toward anterior, normal superior.
    json expectDir = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
    for (int i = 0; i < 9; ++i) EXPECT_NEAR(s["direction"][i].get<double>(), expectDir[i].get<double>(), 1e-9);
    EXPECT_LE(s["huRange"][0].get<int>(), -900); // air
    EXPECT_GE(s["huRange"][1].get<int>(), 1000); // cortical bone
    EXPECT_TRUE(s["warnings"].empty()) << s["warnings"].dump();
}

TEST(Cli, PhantomPassesDciodvfy) {
    if (std::system("command -v dciodvfy >/dev/null 2>&1") != 0) {
        if (precis::test::inCi()) FAIL() << "dciodvfy missing (scripts/setup.sh installs dicom3tools)";
        GTEST_SKIP() << "dciodvfy not installed";
    }
    for (const char* name : {"CT_0001.dcm", "CT_0120.dcm", "CT_0240.dcm"}) {
        const std::string out =
            precis::test::runShell("dciodvfy '" + (phantomDir() / name).string() + "' 2>&1");
        EXPECT_EQ(out.find("Error"), std::string::npos) << name << ":\n" << out;
        EXPECT_NE(out.find("CTImage"), std::string::npos) << out;
    }
}

TEST(Cli, RenderWritesAPngWithValidationClean) {
    auto dir = precis::test::outputDir("cli");
    auto png = dir / "phantom-posterior.png";
    fs::remove(png);
    CliRun r = runPrecis("render '" + phantomDir().string() + "' --out '" + png.string() +
                       "' --width 320 --height 240",
                   "PRECIS_VK_VALIDATION=1");
    ASSERT_EQ(r.exitCode, 0) << r.err << r.out;
    EXPECT_TRUE(fs::exists(png));
    EXPECT_GT(fs::file_size(png), 1000u);
    EXPECT_NE(r.out.find(png.string()), std::string::npos) << "says where it wrote the file";
    EXPECT_EQ(r.err.find("validation"), std::string::npos) << r.err;
}

TEST(Cli, BadInputGetsAClearErrorAndExitCode) {
    CliRun missing = runPrecis("info /nonexistent/precis-case");
    EXPECT_EQ(missing.exitCode, 1);
    EXPECT_NE(missing.err.find("/nonexistent/precis-case"), std::string::npos) << missing.err;

    CliRun noOut = runPrecis("render '" + phantomDir().string() + "'");
    EXPECT_EQ(noOut.exitCode, 2);
    EXPECT_NE(noOut.err.find("--out"), std::string::npos);

    CliRun typo = runPrecis("phantom --out /tmp/x --sed 3");
    EXPECT_EQ(typo.exitCode, 2);
    EXPECT_NE(typo.err.find("--sed"), std::string::npos);

    CliRun badView = runPrecis("render '" + phantomDir().string() + "' --out /tmp/x.png --view sideways");
    EXPECT_EQ(badView.exitCode, 2);
    EXPECT_NE(badView.err.find("sideways"), std::string::npos);

    CliRun unknown = runPrecis("frobnicate");
    EXPECT_EQ(unknown.exitCode, 2);
}

TEST(Cli, InfoAndRenderWorkOnTheSharedCt) {
    PRECIS_REQUIRE_SHARED(dir, "ct/pancreatic-ct-cbct-seg_001_subset");
    CliRun r = runPrecis("info '" + dir.string() + "'");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded());
    const auto& s = j["series"][0];
    EXPECT_EQ(s["dims"], json({512, 512, 110}));
    EXPECT_NEAR(s["originMm"][2].get<double>(), 85.91, 1e-6); // README: z 85.91 .. 412.91
    EXPECT_NEAR(s["spacingMm"][2].get<double>(), 3.0, 1e-6);

    auto png = precis::test::outputDir("cli") / "pancreatic-posterior.png";
    CliRun rr = runPrecis("render '" + dir.string() + "' --out '" + png.string() + "' --width 320 --height 240",
                    "PRECIS_VK_VALIDATION=1");
    EXPECT_EQ(rr.exitCode, 0) << rr.err;
    EXPECT_TRUE(fs::exists(png));
}

// ---- planning ------------------------------------------------------------------------------

TEST(PlanCli, TemplateEvaluateAndSuggestOnThePhantom) {
    const auto dir = precis::test::makeTempDir("cli-plan");
    const std::string plan = (dir / "plan.json").string();
    CliRun t = runPrecis("plan template mbrfa --series '" + phantomDir().string() +
                         "' --level L4 --side left --out '" + plan + "'");
    ASSERT_EQ(t.exitCode, 0) << t.err;
    const json tj = json::parse(t.out);
    EXPECT_EQ(tj["trajectory"]["verdict"], "green");
    EXPECT_EQ(tj["target"]["landmark"], "L4_left_medial_branch_target");
    CliRun t2 = runPrecis("plan template ilesi --series '" + phantomDir().string() +
                          "' --level L4-L5 --side right --out '" + plan + "'");
    ASSERT_EQ(t2.exitCode, 0) << t2.err;

    CliRun e = runPrecis("plan evaluate '" + plan + "'");
    ASSERT_EQ(e.exitCode, 0) << e.err;
    const json ej = json::parse(e.out);
    ASSERT_EQ(ej["trajectories"].size(), 2u);
    for (const auto& tr : ej["trajectories"]) {
        for (const char* key : {"name", "device", "entryLps", "targetLps", "lengthMm", "collisions",
                                "clearances", "riskScore", "verdict", "warnings"}) {
            EXPECT_TRUE(tr.contains(key)) << key;
        }
        EXPECT_EQ(tr["verdict"], "green");
        EXPECT_EQ(tr["entryLps"].size(), 3u);
    }
    // The plan's roles: the paraspinal muscle the medial-branch needle crosses, made must-avoid
    // in the plan, makes it red; a role for a structure the case lacks is a warning.
    {
        json withRoles = json::parse(precis::readFile(plan).value_or("{}"));
        withRoles["structureRoles"] = json::array({{{"structure", "paraspinal_left"}, {"role", "must-avoid"}},
                                                   {{"structure", "no_such_structure"}, {"role", "caution"}}});
        const std::string rolesPlan = (dir / "roles.json").string();
        ASSERT_TRUE(precis::writeFileAtomically(rolesPlan, withRoles.dump(2)));
        CliRun r = runPrecis("plan evaluate '" + rolesPlan + "'");
        ASSERT_EQ(r.exitCode, 0) << r.err;
        const json rj = json::parse(r.out);
        ASSERT_EQ(rj["trajectories"].size(), 2u);
        const json& mbrfa = rj["trajectories"][0];
        EXPECT_EQ(mbrfa["verdict"], "red");
        bool crossed = false;
        for (const auto& c : mbrfa["collisions"])
            crossed |= c["structure"] == "paraspinal_left" && c["role"] == "must-avoid";
        EXPECT_TRUE(crossed) << mbrfa.dump(1);
        ASSERT_EQ(rj["warnings"].size(), 1u);
        EXPECT_NE(rj["warnings"][0].get<std::string>().find("no_such_structure"), std::string::npos);
    }
    // The plan's series by UID: evaluating against another series warns and keeps the plan.
    const std::string before = precis::readFile(plan).value_or("");

    CliRun s = runPrecis("plan suggest --series '" + phantomDir().string() +
                         "' --target 30.12,27.22,-20.87 --device rf-18g-10mm --top 3");
    ASSERT_EQ(s.exitCode, 0) << s.err;
    const json sj = json::parse(s.out);
    ASSERT_FALSE(sj["suggestions"].empty());
    EXPECT_GE(sj["timing"]["candidates"].get<int>(), 10000);
    for (const auto& sg : sj["suggestions"]) EXPECT_TRUE(sg["collisions"].empty());
    EXPECT_EQ(precis::readFile(plan).value_or(""), before);
    fs::remove_all(dir);
}

TEST(PlanCli, BadInputIsAClearErrorAndNeverTouchesThePlan) {
    CliRun missing = runPrecis("plan evaluate /nonexistent/plan.json");
    EXPECT_EQ(missing.exitCode, 1);
    EXPECT_NE(missing.err.find("/nonexistent/plan.json"), std::string::npos) << missing.err;

    const auto dir = precis::test::makeTempDir("cli-plan-bad");
    const auto plan = dir / "plan.json";
    const std::string text =
        R"({"format":"precis-plan","version":1,"frame":"LPS","series":{"path":"/nonexistent/series"},)"
        R"("trajectories":[{"name":"a","device":"spinal-22g","entryLps":[0,80,0],"targetLps":[0,20,0]}]})";
    ASSERT_TRUE(precis::writeFileAtomically(plan, text).has_value());
    CliRun gone = runPrecis("plan evaluate '" + plan.string() + "'");
    EXPECT_EQ(gone.exitCode, 1);
    EXPECT_NE(gone.err.find("unchanged"), std::string::npos) << gone.err;
    EXPECT_EQ(precis::readFile(plan).value_or(""), text);

    CliRun device = runPrecis("plan suggest --series '" + phantomDir().string() +
                              "' --target 0,0,0 --device laser-1");
    EXPECT_EQ(device.exitCode, 2);
    EXPECT_NE(device.err.find("laser-1"), std::string::npos);
    CliRun tpl = runPrecis("plan template kyphoplasty --series '" + phantomDir().string() +
                           "' --out '" + (dir / "x.json").string() + "'");
    EXPECT_NE(tpl.exitCode, 0);
    EXPECT_NE(tpl.err.find("kyphoplasty"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir / "x.json"));

    CliRun devices = runPrecis("devices");
    ASSERT_EQ(devices.exitCode, 0);
    EXPECT_GE(json::parse(devices.out)["devices"].size(), 12u);
    fs::remove_all(dir);
}
