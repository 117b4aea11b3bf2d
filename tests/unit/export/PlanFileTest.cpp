#include "export/PlanFile.h"

#include "support/TestSupport.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <numbers>
#include <filesystem>
#include <thread>
#include <utility>

namespace precis::exporting {
namespace {

model::Plan samplePlan(int trajectories = 2) {
    model::Plan p;
    p.name = "L4 bilateral MBRFA";
    p.series = {"1.2.3.4", "1.2.3", "1.2.3.9", "/data/ct", "PHANTOM^LUMBAR", "PH0001"};
    p.safety.amberClearanceMm = 2.5;
    p.structureRoles = {{"paraspinal_left", model::StructureRole::MustAvoid},
                        {"dural_sac", model::StructureRole::Caution}};
    for (int i = 0; i < trajectories; ++i) {
        model::Trajectory t;
        t.name = "trajectory " + std::to_string(i);
        t.procedure = "mbrfa";
        t.level = "L4";
        t.side = i % 2 ? "right" : "left";
        t.deviceId = "rf-18g-10mm";
        t.entryLps = {55.0 + i, 88.0, -81.5};
        t.targetLps = {30.124271897794391, 27.218402363131204, -20.8712800925682};
        t.insertionDepthMm = 0.5 * i;
        t.bevelRotationDeg = 90;
        t.controlPointsLps = {{1, 2, 3}};
        t.intendedContact = {"L4", "kind:bone"};
        t.expectedNearby = {"dural_sac"};
        p.trajectories.push_back(t);
    }
    p.landmarks.push_back({"L4_left_medial_branch_target", "medial_branch_target", "L4", "left",
                           {30.1, 27.2, -20.9}});
    p.measurements.push_back({model::MeasurementKind::Distance, {{7, 2, 3}, {10, 6, 3}}, "axial"});
    p.measurements.push_back(
        {model::MeasurementKind::Angle, {{10, 0, 0}, {0, 0, 0}, {1, 0, 10}}, "3d"});
    p.notes = "test";
    return p;
}

void expectSame(const model::Plan& a, const model::Plan& b) {
    EXPECT_EQ(planToJson(a), planToJson(b));
    ASSERT_EQ(a.trajectories.size(), b.trajectories.size());
    for (std::size_t i = 0; i < a.trajectories.size(); ++i) {
        // Coordinates survive the text form exactly (shortest round-trip doubles).
        EXPECT_EQ(a.trajectories[i].entryLps, b.trajectories[i].entryLps);
        EXPECT_EQ(a.trajectories[i].targetLps, b.trajectories[i].targetLps);
    }
}

TEST(PlanFile, RoundTripsEveryField) {
    const model::Plan p = samplePlan();
    auto back = planFromJson(planToJson(p), "mem");
    ASSERT_TRUE(back.has_value()) << back.error().message;
    expectSame(p, *back);
    EXPECT_EQ(back->series.seriesInstanceUid, "1.2.3.4");
    EXPECT_EQ(back->trajectories[1].side, "right");
    EXPECT_EQ(back->trajectories[0].expectedNearby, std::vector<std::string>{"dural_sac"});
    EXPECT_DOUBLE_EQ(back->safety.amberClearanceMm, 2.5);
    EXPECT_EQ(back->structureRoles, p.structureRoles);
    ASSERT_EQ(back->measurements.size(), 2u);
    EXPECT_EQ(back->measurements[1].kind, model::MeasurementKind::Angle);
    EXPECT_EQ(back->measurements[1].pointsLps, p.measurements[1].pointsLps);
    EXPECT_EQ(back->measurements[1].pane, "3d");
    EXPECT_DOUBLE_EQ(model::measurementValue(back->measurements[0]), 5.0);
    EXPECT_NEAR(model::measurementValue(back->measurements[1]),
                std::atan2(10.0, 1.0) * 180.0 / std::numbers::pi, 1e-12);
    // The value is written for readers, with its unit.
    const std::string text = planToJson(p);
    EXPECT_NE(text.find("\"unit\": \"deg\""), std::string::npos);
    EXPECT_NE(text.find("\"value\": 5.0"), std::string::npos);
}

TEST(PlanFile, PlansWithoutMeasurementsOrRolesStillRead) {
    std::string text = planToJson(samplePlan(1));
    for (const auto& [key, next] : {std::pair{"measurements", "notes"}, {"structureRoles", "trajectories"}}) {
        const auto from = text.find(fmt::format("  \"{}\"", key));
        const auto to = text.find(fmt::format("  \"{}\"", next));
        ASSERT_NE(from, std::string::npos);
        ASSERT_NE(to, std::string::npos);
        text.erase(from, to - from);
    }
    auto back = planFromJson(text, "old.json");
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_TRUE(back->measurements.empty());
    EXPECT_TRUE(back->structureRoles.empty());
    EXPECT_EQ(back->trajectories.size(), 1u);
}

TEST(PlanFile, BadFilesGiveErrorsThatNameTheFileAndTheProblem) {
    struct Bad {
        std::string text;
        ErrorCode code;
        std::string mention;
    };
    std::string valid = planToJson(samplePlan(1));
    auto replace = [&](const std::string& from, const std::string& to) {
        std::string s = valid;
        s.replace(s.find(from), from.size(), to);
        return s;
    };
    const std::vector<Bad> cases{
        {"not json", ErrorCode::ParseError, "not valid JSON"},
        {"[1,2]", ErrorCode::ParseError, "object"},
        {R"({"format":"something-else","version":1})", ErrorCode::ParseError, "precis-plan"},
        {replace("\"version\": 1", "\"version\": 99"), ErrorCode::Unsupported, "newer"},
        {replace("\"device\": \"rf-18g-10mm\",", ""), ErrorCode::ParseError, "trajectories[0].device"},
        {replace("\"frame\": \"LPS\"", "\"frame\": \"RAS\""), ErrorCode::ParseError, "LPS"},
        {replace("88.0", "\"x\""), ErrorCode::ParseError, "entryLps"},
        {replace("\"kind\": \"distance\"", "\"kind\": \"area\""), ErrorCode::ParseError,
         "measurements[0].kind"},
        {replace("7.0,", "\"7\","), ErrorCode::ParseError,
         "measurements[0].pointsLps[0]"},
        {replace("\"kind\": \"angle\"", "\"kind\": \"distance\""), ErrorCode::ParseError,
         "measurements[1].pointsLps must hold 2 points"},
        {replace("\"role\": \"caution\"", "\"role\": \"forbidden\""), ErrorCode::ParseError,
         "structureRoles[1].role"},
        {replace("\"structure\": \"dural_sac\"", "\"structure\": \"paraspinal_left\""),
         ErrorCode::ParseError, "structureRoles[1].structure \"paraspinal_left\" is given twice"},
        {replace("\"structure\": \"dural_sac\",", ""), ErrorCode::ParseError,
         "structureRoles[1].structure is missing"},
    };
    for (const Bad& b : cases) {
        auto r = planFromJson(b.text, "case.json");
        ASSERT_FALSE(r.has_value()) << b.text;
        EXPECT_EQ(r.error().code, b.code) << b.text;
        EXPECT_NE(r.error().message.find("case.json"), std::string::npos) << r.error().message;
        EXPECT_NE(r.error().message.find(b.mention), std::string::npos) << r.error().message;
    }
    model::Plan twice = samplePlan(2);
    twice.trajectories[1].name = twice.trajectories[0].name;
    auto r = planFromJson(planToJson(twice), "twice.json");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("used twice"), std::string::npos);
}

TEST(PlanFile, EveryTruncatedPrefixFailsCleanly) {
    const std::string text = planToJson(samplePlan(1));
    const std::string trimmed = text.substr(0, text.find_last_not_of(" \n") + 1);
    for (std::size_t n = 0; n < trimmed.size(); ++n) {
        auto r = planFromJson(std::string_view(trimmed).substr(0, n), "prefix");
        EXPECT_FALSE(r.has_value()) << "prefix of " << n << " bytes parsed";
    }
}

TEST(PlanFile, MissingFileIsNotFound) {
    auto r = loadPlan("/nonexistent/plan.json");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
}

TEST(PlanFile, KillingTheProcessDuringASaveLeavesTheLastGoodPlan) {
    const auto dir = test::makeTempDir("plan-kill");
    const auto file = dir / "plan.json";
    const model::Plan a = samplePlan(400), b = samplePlan(401); // ~200 kB: saves take a while
    ASSERT_TRUE(savePlan(a, file).has_value());
    for (int round = 0; round < 12; ++round) {
        const pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            for (int i = 0;; ++i) (void)savePlan(i % 2 ? a : b, file);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + 7 * round));
        kill(child, SIGKILL);
        int status = 0;
        waitpid(child, &status, 0);
        auto loaded = loadPlan(file);
        ASSERT_TRUE(loaded.has_value()) << "round " << round << ": " << loaded.error().message;
        const auto n = loaded->trajectories.size();
        EXPECT_TRUE(n == 400 || n == 401) << n;
    }
}

TEST(DeviceCatalog, BuiltInCatalogueHasTheIssueDevicesWithTrueDiameters) {
    const auto& c = builtinDeviceCatalog();
    const std::vector<std::pair<std::string, double>> expected{
        {"rf-16g-10mm", 1.65}, {"rf-18g-10mm", 1.27}, {"rf-20g-10mm", 0.91},
        {"rf-22g-10mm", 0.72}, {"rf-18g-5mm", 1.27},  {"spinal-22g", 0.72},
        {"spinal-25g", 0.51},  {"tuohy-14g", 2.11},   {"tuohy-18g", 1.27}};
    for (const auto& [id, od] : expected) {
        const model::Device* d = c.find(id);
        ASSERT_NE(d, nullptr) << id;
        EXPECT_DOUBLE_EQ(d->outerDiameterMm, od) << id;
        EXPECT_GT(d->usableLengthMm, 50.0) << id;
        EXPECT_FALSE(d->source.empty()) << id;
    }
    for (const char* lead : {"scs-8c", "drg-4c", "pns-4c"}) {
        const model::Device* d = c.find(lead);
        ASSERT_NE(d, nullptr) << lead;
        EXPECT_TRUE(model::isLead(d->type));
    }
    EXPECT_EQ(c.find("scs-8c")->contacts.size(), 8u);
    EXPECT_EQ(c.find("drg-4c")->contacts.size(), 4u);
    EXPECT_DOUBLE_EQ(c.find("rf-18g-5mm")->activeTipMm, 5.0);
    EXPECT_TRUE(c.find("rf-18g-10mm-curved")->curved);
}

TEST(DeviceCatalog, BadCataloguesAreRejected) {
    auto r = deviceCatalogFromJson(
        R"({"format":"precis-devices","version":1,"devices":[{"id":"x","name":"x","type":"laser",
            "outerDiameterMm":1,"usableLengthMm":10,"source":"typical"}]})",
        "cat.json");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("laser"), std::string::npos);
    r = deviceCatalogFromJson(
        R"({"format":"precis-devices","version":1,"devices":[{"id":"x","name":"x",
            "type":"spinal-needle","outerDiameterMm":1,"usableLengthMm":10,"source":"guess"}]})",
        "cat.json");
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("source"), std::string::npos);
}

} // namespace
} // namespace precis::exporting

namespace precis::exporting {
namespace {

TEST(PlanFile, AutosaveIsRecoveredOnlyWhenNewerThanThePlan) {
    const auto dir = test::makeTempDir("plan-autosave");
    const auto file = dir / "plan.json";
    EXPECT_FALSE(recoverAutosave(file).has_value());
    model::Plan saved = samplePlan(1), edited = samplePlan(2);
    ASSERT_TRUE(savePlan(saved, file).has_value());
    std::filesystem::last_write_time(file, std::filesystem::file_time_type::clock::now() -
                                               std::chrono::seconds(10));
    ASSERT_TRUE(autosavePlan(edited, file).has_value());
    auto recovered = recoverAutosave(file);
    ASSERT_TRUE(recovered.has_value());
    EXPECT_EQ(recovered->trajectories.size(), 2u);
    // Saving the plan makes the autosave stale; discarding removes it.
    ASSERT_TRUE(savePlan(edited, file).has_value());
    EXPECT_FALSE(recoverAutosave(file).has_value());
    discardAutosave(file);
    EXPECT_FALSE(std::filesystem::exists(autosavePath(file)));
}

} // namespace
} // namespace precis::exporting
