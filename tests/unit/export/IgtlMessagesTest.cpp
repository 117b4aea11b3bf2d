#include "export/IgtlMessages.h"

#include "IgtlTestSupport.h"
#include "SamplePlan.h"
#include "export/PlanFile.h"
#include "model/TrajectoryColor.h"

#include <gtest/gtest.h>
#include <igtlPolyDataMessage.h>
#include <igtlStringMessage.h>
#include <igtlTrajectoryMessage.h>

#include <cmath>

using namespace precis;
using exporting::Frame;
using exporting::IgtlMessage;
using test::be;
using test::beFloat;
using test::field;

namespace {

const model::DeviceCatalog& catalog() {
    return exporting::builtinDeviceCatalog();
}

std::vector<IgtlMessage> build(const model::Plan& plan, Frame frame = Frame::Lps) {
    auto set = exporting::buildIgtlMessages(plan, catalog(), {.frame = frame});
    EXPECT_TRUE(set) << (set ? "" : set.error().message);
    return set ? set->messages : std::vector<IgtlMessage>{};
}

const IgtlMessage* find(const std::vector<IgtlMessage>& ms, const std::string& device) {
    for (const auto& m : ms)
        if (m.deviceName == device) return &m;
    return nullptr;
}

const std::uint8_t* body(const IgtlMessage& m) {
    return m.bytes.data() + exporting::kIgtlHeaderBytes;
}

} // namespace

TEST(Crc64, MatchesTheEcma182CheckValue) {
    const char* s = "123456789";
    EXPECT_EQ(test::crc64Ecma182(reinterpret_cast<const std::uint8_t*>(s), 9),
              0x6C40DF5F0B497347ull);
}

TEST(IgtlMessages, SendsEveryKindInOrderWithFrameInTheDeviceNames) {
    const auto ms = build(test::samplePlan());
    std::vector<std::pair<std::string, std::string>> got;
    for (const auto& m : ms)
        got.emplace_back(m.type, m.deviceName);
    const std::vector<std::pair<std::string, std::string>> want = {
        {"TRAJ", "Precis_LPS_Traj"},        {"POINT", "Precis_LPS_Points"},
        {"POINT", "Precis_LPS_Landmark"},   {"TRANSFORM", "Precis_LPS_Pose_1"},
        {"POLYDATA", "Precis_LPS_Shaft_1"}, {"TRANSFORM", "Precis_LPS_Pose_2"},
        {"POLYDATA", "Precis_LPS_Shaft_2"}, {"TRANSFORM", "Precis_LPS_Pose_3"},
        {"POLYDATA", "Precis_LPS_Shaft_3"}, {"STRING", "Precis_LPS_Plan"}};
    EXPECT_EQ(got, want);
    for (const auto& m : build(test::samplePlan(), Frame::Ras)) {
        if (m.type != "STRING") {
            EXPECT_TRUE(m.deviceName.starts_with("Precis_RAS_")) << m.deviceName;
        }
    }
}

TEST(IgtlMessages, EveryHeaderFollowsTheProtocolLayoutWithAnIndependentCrc) {
    for (const auto& m : build(test::samplePlan())) {
        SCOPED_TRACE(m.deviceName);
        ASSERT_GE(m.bytes.size(), exporting::kIgtlHeaderBytes);
        const std::uint8_t* h = m.bytes.data();
        EXPECT_EQ(be(h, 2), 1u) << "protocol version 2 messages carry header version 1";
        EXPECT_EQ(field(h + 2, 12), m.type);
        EXPECT_EQ(field(h + 14, 20), m.deviceName);
        EXPECT_NE(be(h + 34, 8), 0u) << "time stamp set";
        const std::uint64_t bodySize = be(h + 42, 8);
        EXPECT_EQ(bodySize, m.bytes.size() - exporting::kIgtlHeaderBytes);
        EXPECT_EQ(be(h + 50, 8), test::crc64Ecma182(body(m), bodySize));
    }
}

TEST(IgtlMessages, TrajBodyBytesFieldByField) {
    const model::Plan plan = test::samplePlan();
    const auto ms = build(plan);
    const IgtlMessage* traj = find(ms, "Precis_LPS_Traj");
    ASSERT_TRUE(traj);
    ASSERT_EQ(traj->bytes.size(), exporting::kIgtlHeaderBytes + 150 * plan.trajectories.size());
    for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
        SCOPED_TRACE(plan.trajectories[i].name);
        const model::Trajectory& t = plan.trajectories[i];
        const std::uint8_t* e = body(*traj) + 150 * i;
        EXPECT_EQ(field(e, 64), t.name);           // name[64]
        EXPECT_EQ(field(e + 64, 32), t.procedure); // group[32]
        EXPECT_EQ(e[96], 3);                       // type: entry + target
        EXPECT_EQ(e[97], 0);                       // reserved
        const auto& rgb = model::trajectoryColor(i);
        EXPECT_EQ(e[98], rgb[0]); // RGBA
        EXPECT_EQ(e[99], rgb[1]);
        EXPECT_EQ(e[100], rgb[2]);
        EXPECT_EQ(e[101], 255);
        for (int k = 0; k < 3; ++k) {
            EXPECT_EQ(beFloat(e + 102 + 4 * k), static_cast<float>(t.entryLps[k])) << k;
            EXPECT_EQ(beFloat(e + 114 + 4 * k), static_cast<float>(t.targetLps[k])) << k;
        }
        const auto* device = catalog().find(t.deviceId);
        ASSERT_TRUE(device);
        EXPECT_EQ(beFloat(e + 126), static_cast<float>(device->radiusMm())); // radius
        // owner[20]: the series UID, cut to leave a NUL (libopenigtlink drops full fields).
        EXPECT_EQ(field(e + 130, 20), plan.series.seriesInstanceUid.substr(0, 19));
        EXPECT_EQ(e[149], 0);
    }
}

TEST(IgtlMessages, RasIsLpsWithXAndYNegated) {
    const model::Plan plan = test::samplePlan();
    const auto lps = build(plan, Frame::Lps);
    const auto ras = build(plan, Frame::Ras);
    ASSERT_EQ(lps.size(), ras.size());
    for (std::size_t m = 0; m < lps.size(); ++m) {
        const IgtlMessage &a = lps[m], &b = ras[m];
        SCOPED_TRACE(a.deviceName);
        ASSERT_EQ(a.type, b.type);
        ASSERT_EQ(a.bytes.size(), b.bytes.size());
        // Offsets of the coordinates inside each element, and the element size.
        std::vector<std::size_t> xyz;
        std::size_t stride = 0, count = 0;
        if (a.type == "TRAJ") {
            xyz = {102, 114};
            stride = 150;
        } else if (a.type == "POINT") {
            xyz = {100};
            stride = 136;
        } else if (a.type == "TRANSFORM") {
            xyz = {0, 12, 24, 36}; // three axes (columns), then the origin
            stride = 48;
        }
        if (stride > 0) {
            count = (a.bytes.size() - exporting::kIgtlHeaderBytes) / stride;
            for (std::size_t e = 0; e < count; ++e)
                for (std::size_t off : xyz) {
                    const std::uint8_t* pa = body(a) + e * stride + off;
                    const std::uint8_t* pb = body(b) + e * stride + off;
                    EXPECT_EQ(beFloat(pb), -beFloat(pa));
                    EXPECT_EQ(beFloat(pb + 4), -beFloat(pa + 4));
                    EXPECT_EQ(beFloat(pb + 8), beFloat(pa + 8));
                }
        } else if (a.type == "POLYDATA") {
            auto pa = test::unpackIgtl<igtl::PolyDataMessage>(a);
            auto pb = test::unpackIgtl<igtl::PolyDataMessage>(b);
            ASSERT_TRUE(pa && pb);
            const int n = pa->GetPoints()->GetNumberOfPoints();
            ASSERT_EQ(n, pb->GetPoints()->GetNumberOfPoints());
            for (int i = 0; i < n; ++i) {
                float p[3], q[3];
                pa->GetPoints()->GetPoint(static_cast<unsigned>(i), p);
                pb->GetPoints()->GetPoint(static_cast<unsigned>(i), q);
                EXPECT_EQ(q[0], -p[0]);
                EXPECT_EQ(q[1], -p[1]);
                EXPECT_EQ(q[2], p[2]);
            }
        } else {
            EXPECT_EQ(a.type, "STRING");
            EXPECT_TRUE(std::equal(a.bytes.begin() + exporting::kIgtlHeaderBytes, a.bytes.end(),
                                   b.bytes.begin() + exporting::kIgtlHeaderBytes))
                << "the plan file is LPS whatever the frame";
        }
    }
}

TEST(IgtlMessages, PoseHasItsOriginAtTheTargetAndZTowardsTheEntry) {
    const model::Plan plan = test::samplePlan();
    const auto ms = build(plan);
    for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
        const model::Trajectory& t = plan.trajectories[i];
        SCOPED_TRACE(t.name);
        const IgtlMessage* m = find(ms, "Precis_LPS_Pose_" + std::to_string(i + 1));
        ASSERT_TRUE(m);
        ASSERT_EQ(m->bytes.size(), exporting::kIgtlHeaderBytes + 48);
        glm::dvec3 axis[4];
        for (int c = 0; c < 4; ++c)
            for (int r = 0; r < 3; ++r)
                axis[c][r] = beFloat(body(*m) + 12 * c + 4 * r);
        const glm::dvec3 behind =
            t.controlPointsLps.empty() ? t.entryLps : t.controlPointsLps.back();
        const glm::dvec3 z = glm::normalize(behind - t.targetLps);
        EXPECT_NEAR(glm::length(axis[3] - t.targetLps), 0.0, 1e-4);
        EXPECT_NEAR(glm::length(axis[2] - z), 0.0, 1e-6);
        // Orthonormal and right-handed.
        for (int a = 0; a < 3; ++a) {
            EXPECT_NEAR(glm::length(axis[a]), 1.0, 1e-6);
            EXPECT_NEAR(glm::dot(axis[a], axis[(a + 1) % 3]), 0.0, 1e-6);
        }
        EXPECT_NEAR(glm::dot(glm::cross(axis[0], axis[1]), axis[2]), 1.0, 1e-6);
    }
    // Bevel 0° faces posterior: +Y has a positive posterior (LPS +y) component.
    const IgtlMessage* first = find(ms, "Precis_LPS_Pose_1");
    EXPECT_GT(beFloat(body(*first) + 12 + 4), 0.0f);
}

TEST(IgtlMessages, ShaftIsAClosedTubeOfTheDeviceRadiusAndStringIsThePlanFile) {
    const model::Plan plan = test::samplePlan();
    const auto ms = build(plan);
    for (std::size_t i = 0; i < 2; ++i) { // the two straight needles
        const model::Trajectory& t = plan.trajectories[i];
        auto pd = test::unpackIgtl<igtl::PolyDataMessage>(
            *find(ms, "Precis_LPS_Shaft_" + std::to_string(i + 1)));
        ASSERT_TRUE(pd);
        const double r = catalog().find(t.deviceId)->radiusMm();
        EXPECT_GT(pd->GetPolygons()->GetNumberOfCells(), 0u);
        // Ring points lie at the radius from the axis (entry → tip, advanced past the target
        // when insertionDepthMm says so).
        const glm::dvec3 dir = glm::normalize(t.targetLps - t.entryLps);
        for (int k = 0; k < pd->GetPoints()->GetNumberOfPoints(); ++k) {
            float p[3];
            pd->GetPoints()->GetPoint(static_cast<unsigned>(k), p);
            const glm::dvec3 v = glm::dvec3(p[0], p[1], p[2]) - t.entryLps;
            const double radial = glm::length(v - glm::dot(v, dir) * dir);
            EXPECT_TRUE(std::abs(radial - r) < 1e-4 || radial < 1e-4) << radial;
        }
    }
    auto str = test::unpackIgtl<igtl::StringMessage>(*find(ms, "Precis_LPS_Plan"));
    ASSERT_TRUE(str);
    EXPECT_EQ(str->GetEncoding(), 106); // UTF-8
    EXPECT_EQ(std::string(str->GetString()), exporting::planToJson(plan));
    auto back = exporting::planFromJson(str->GetString(), "STRING");
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(exporting::planToJson(*back), exporting::planToJson(plan));
}

TEST(IgtlMessages, LongNamesAreCutWithAWarningAndThePlanIsUntouched) {
    model::Plan plan = test::samplePlan();
    plan.trajectories[0].name = std::string(70, 'N') + "é";
    const std::string before = exporting::planToJson(plan);
    auto set = exporting::buildIgtlMessages(plan, catalog());
    ASSERT_TRUE(set);
    EXPECT_EQ(exporting::planToJson(plan), before);
    ASSERT_FALSE(set->warnings.empty());
    EXPECT_NE(set->warnings[0].find("63 bytes OpenIGTLink carries"), std::string::npos)
        << set->warnings[0];
    const IgtlMessage* traj = find(set->messages, "Precis_LPS_Traj");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(body(*traj)), 64),
              std::string(63, 'N') + '\0');
    // What a receiver built on libopenigtlink reads back: the cut name, not an empty one.
    auto unpacked = test::unpackIgtl<igtl::TrajectoryMessage>(*traj);
    ASSERT_TRUE(unpacked);
    igtl::TrajectoryElement::Pointer e;
    unpacked->GetTrajectoryElement(0, e);
    EXPECT_EQ(std::string(e->GetName()), std::string(63, 'N'));
    EXPECT_EQ(std::string(e->GetOwner()), plan.series.seriesInstanceUid.substr(0, 19));
    // Entry and target points keep their role even when the name is cut.
    const IgtlMessage* pts = find(set->messages, "Precis_LPS_Points");
    EXPECT_TRUE(field(body(*pts), 64).ends_with(" Entry"));
    EXPECT_TRUE(field(body(*pts) + 136, 64).ends_with(" Target"));
}

TEST(IgtlMessages, RejectsWhatCannotBeSent) {
    model::Plan plan = test::samplePlan();
    plan.trajectories[1].deviceId = "no-such-needle";
    auto r = exporting::buildIgtlMessages(plan, catalog());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_NE(r.error().message.find("no-such-needle"), std::string::npos);
    EXPECT_NE(r.error().message.find("L5 right MBRFA"), std::string::npos);

    plan = test::samplePlan();
    plan.trajectories[0].targetLps = plan.trajectories[0].entryLps;
    r = exporting::buildIgtlMessages(plan, catalog());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);

    plan = test::samplePlan();
    plan.trajectories[0].entryLps.x = std::nan("");
    r = exporting::buildIgtlMessages(plan, catalog());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);

    plan = test::samplePlan();
    plan.notes = std::string(70000, 'x');
    r = exporting::buildIgtlMessages(plan, catalog());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("65535"), std::string::npos);
}

TEST(IgtlMessages, AnEmptyPlanSendsOnlyTheString) {
    model::Plan plan;
    plan.name = "empty";
    const auto ms = build(plan);
    ASSERT_EQ(ms.size(), 1u);
    EXPECT_EQ(ms[0].type, "STRING");
}
