#include "export/SlicerMarkups.h"

#include "SamplePlan.h"
#include "core/AtomicFile.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>

using namespace precis;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string run(const std::string& cmd, int* status) {
    return test::runShell(cmd + " 2>&1", status);
}

} // namespace

TEST(SlicerMarkups, ExportThenImportGivesIdenticalCoordinates) {
    const model::Plan plan = test::samplePlan();
    const auto dir = test::makeTempDir("markups");
    const fs::path file = dir / "plan.mrk.json";
    ASSERT_TRUE(exporting::exportSlicerMarkups(plan, file));
    auto back = exporting::importSlicerMarkups(file);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_TRUE(back->warnings.empty());
    ASSERT_EQ(back->trajectories.size(), plan.trajectories.size());
    for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
        const auto &a = plan.trajectories[i], &b = back->trajectories[i];
        SCOPED_TRACE(a.name);
        EXPECT_EQ(b.name, a.name);
        EXPECT_EQ(b.entryLps, a.entryLps); // exact: full double precision in the file
        EXPECT_EQ(b.targetLps, a.targetLps);
        EXPECT_EQ(b.controlPointsLps, a.controlPointsLps);
        EXPECT_EQ(b.deviceId, a.deviceId);
        EXPECT_EQ(b.procedure, a.procedure);
        EXPECT_EQ(b.level, a.level);
        EXPECT_EQ(b.side, a.side);
        EXPECT_EQ(b.insertionDepthMm, a.insertionDepthMm);
        EXPECT_EQ(b.bevelRotationDeg, a.bevelRotationDeg);
        EXPECT_EQ(b.intendedContact, a.intendedContact);
    }
    ASSERT_EQ(back->landmarks.size(), plan.landmarks.size());
    for (std::size_t i = 0; i < plan.landmarks.size(); ++i) {
        EXPECT_EQ(back->landmarks[i].name, plan.landmarks[i].name);
        EXPECT_EQ(back->landmarks[i].kind, plan.landmarks[i].kind);
        EXPECT_EQ(back->landmarks[i].level, plan.landmarks[i].level);
        EXPECT_EQ(back->landmarks[i].side, plan.landmarks[i].side);
        EXPECT_EQ(back->landmarks[i].lps, plan.landmarks[i].lps);
    }
    // Coordinates that do not print exactly in few digits survive too.
    model::Plan odd = plan;
    odd.trajectories[0].entryLps = {0.1 + 0.2, -1.0 / 3.0, 1e-17};
    auto oddBack = exporting::markupsFromJson(exporting::markupsToJson(odd), "odd");
    ASSERT_TRUE(oddBack);
    EXPECT_EQ(oddBack->trajectories[0].entryLps, odd.trajectories[0].entryLps);
    fs::remove_all(dir);
}

TEST(SlicerMarkups, WritesLinesWithEntryAndTargetLandmarksAsFiducialsInLps) {
    const model::Plan plan = test::samplePlan();
    json doc = json::parse(exporting::markupsToJson(plan));
    EXPECT_EQ(doc["@schema"], std::string(exporting::kMarkupsSchemaUrl));
    const json& m = doc["markups"];
    ASSERT_EQ(m.size(), 4u);
    for (int i = 0; i < 3; ++i) {
        const auto& t = plan.trajectories[static_cast<std::size_t>(i)];
        EXPECT_EQ(m[i]["type"], t.controlPointsLps.empty() ? "Line" : "Curve");
        EXPECT_EQ(m[i]["name"], t.name);
        EXPECT_EQ(m[i]["coordinateSystem"], "LPS");
        EXPECT_EQ(m[i]["coordinateUnits"], "mm");
        const json& cps = m[i]["controlPoints"];
        EXPECT_EQ(cps.front()["label"], "Entry");
        EXPECT_EQ(cps.back()["label"], "Target");
        EXPECT_EQ(cps.size(), 2 + t.controlPointsLps.size());
        EXPECT_EQ(m[i]["measurements"][0]["name"], "length");
        EXPECT_EQ(m[i]["measurements"][0]["units"], "mm");
        double length = 0;
        glm::dvec3 prev = t.entryLps;
        for (const auto& c : t.controlPointsLps) {
            length += glm::length(c - prev);
            prev = c;
        }
        length += glm::length(t.targetLps - prev);
        EXPECT_DOUBLE_EQ(m[i]["measurements"][0]["value"].get<double>(), length);
    }
    EXPECT_EQ(m[0]["measurements"][0]["value"].get<double>(),
              glm::length(plan.trajectories[0].targetLps - plan.trajectories[0].entryLps));
    EXPECT_EQ(m[3]["type"], "Fiducial");
    EXPECT_EQ(m[3]["controlPoints"].size(), plan.landmarks.size());
    EXPECT_EQ(m[3]["controlPoints"][0]["label"], plan.landmarks[0].name);
}

TEST(SlicerMarkups, ValidatesAgainstTheMarkupsSchema) {
    PRECIS_REQUIRE_SHARED(schema, "schemas/slicer-markups-schema-v1.0.3.json");
    int status = 0;
    run("python3 -c 'import jsonschema'", &status);
    if (status != 0) {
        if (test::inCi()) FAIL() << "python3-jsonschema missing (scripts/setup.sh installs it)";
        GTEST_SKIP() << "python3-jsonschema not installed: cannot validate against the schema";
    }
    const auto dir = test::makeTempDir("markups-schema");
    const fs::path file = dir / "plan.mrk.json";
    ASSERT_TRUE(exporting::exportSlicerMarkups(test::samplePlan(), file));
    const std::string cmd =
        "python3 -c 'import json, sys, jsonschema; "
        "jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))); "
        "print(\"valid\")' '" +
        file.string() + "' '" + schema.string() + "'";
    const std::string out = run(cmd, &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("valid"), std::string::npos) << out;

    // The validator is not vacuous: a file breaking the schema is rejected.
    json bad = json::parse(exporting::markupsToJson(test::samplePlan()));
    bad["markups"][0]["coordinateSystem"] = "XYZ";
    ASSERT_TRUE(writeFileAtomically(file, bad.dump()));
    run(cmd, &status);
    EXPECT_NE(status, 0);
    fs::remove_all(dir);
}

TEST(SlicerMarkups, ReadsSlicersOwnFilesInRasAndMicrometres) {
    // As 3D Slicer writes a line (labels "L-1", "L-2") in RAS, plus a fiducial in um and an angle.
    const std::string text = R"({
      "@schema": "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#",
      "markups": [
        {"type": "Line", "coordinateSystem": "RAS", "name": "L",
         "controlPoints": [{"id": "1", "label": "L-1", "position": [-10.5, -20.25, 30.0]},
                           {"id": "2", "label": "L-2", "position": [1.0, 2.0, 3.0]}]},
        {"type": "Fiducial", "coordinateSystem": "LPS", "coordinateUnits": "um", "name": "F",
         "controlPoints": [{"label": "F-1", "position": [1500.0, -2500.0, 0.0]},
                           {"label": "F-2", "position": [0, 0, 0], "positionStatus": "undefined"}]},
        {"type": "Angle", "name": "A", "controlPoints": []}
      ]})";
    auto r = exporting::markupsFromJson(text, "slicer.mrk.json");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->trajectories.size(), 1u);
    EXPECT_EQ(r->trajectories[0].entryLps, glm::dvec3(10.5, 20.25, 30.0));
    EXPECT_EQ(r->trajectories[0].targetLps, glm::dvec3(-1.0, -2.0, 3.0));
    EXPECT_EQ(r->trajectories[0].procedure, "manual");
    ASSERT_EQ(r->landmarks.size(), 1u);
    EXPECT_EQ(r->landmarks[0].lps, glm::dvec3(1.5, -2.5, 0.0));
    EXPECT_EQ(r->warnings.size(), 3u); // no Entry/Target labels, an undefined point, an Angle
}

TEST(SlicerMarkups, BadFilesAreParseErrorsNamingTheFile) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"not json", "not JSON"},
        {"[1, 2]", "not a markups file"},
        {R"({"markups": 3})", "markups"},
        {R"({"markups": [{"type": "Line", "controlPoints": [{"position": [1, 2]}, {"position": [1, 2, 3]}]}]})",
         "three numbers"},
        {R"({"markups": [{"type": "Line", "coordinateSystem": "XYZ", "controlPoints": []}]})",
         "coordinateSystem"},
        {R"({"markups": [{"type": "Fiducial", "coordinateUnits": "cm", "controlPoints": []}]})",
         "coordinateUnits"},
        {R"({"markups": [{"name": "x"}]})", "no type"},
    };
    for (const auto& [text, what] : cases) {
        auto r = exporting::markupsFromJson(text, "/tmp/bad.mrk.json");
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error().code, ErrorCode::ParseError) << text;
        EXPECT_NE(r.error().message.find("/tmp/bad.mrk.json"), std::string::npos)
            << r.error().message;
        EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
    }
    auto missing = exporting::importSlicerMarkups("/nonexistent/plan.mrk.json");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
    EXPECT_NE(missing.error().message.find("/nonexistent/plan.mrk.json"), std::string::npos);
}

TEST(SlicerMarkups, EveryTruncatedPrefixFailsCleanlyOrParses) {
    const std::string text = exporting::markupsToJson(test::samplePlan());
    for (std::size_t n = 0; n < text.size(); n += 7) {
        auto r = exporting::markupsFromJson(std::string_view(text).substr(0, n), "prefix");
        if (!r) {
            EXPECT_EQ(r.error().code, ErrorCode::ParseError);
            EXPECT_FALSE(r.error().message.empty());
        }
    }
}
