#include "dicom/PlanDicomWriter.h"

#include "dicom/RtStructReader.h"
#include "dicom/SeriesReader.h"
#include "dicom/SeriesWriter.h"
#include "support/TestSupport.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>

using namespace precis;
namespace fs = std::filesystem;

namespace {

/// A small prone CT (rows toward the patient's right, columns anterior) written as DICOM.
struct CtSeries {
    fs::path dir;
    model::SeriesIdentity id;
};

CtSeries writeCt(const std::string& name) {
    model::ImageGeometry g;
    g.dims = {24, 20, 12};
    g.spacingMm = {1.5, 1.5, 2.5};
    g.originMm = {18.0, 15.0, -10.0};
    g.direction = glm::dmat3(glm::dvec3(-1, 0, 0), glm::dvec3(0, -1, 0), glm::dvec3(0, 0, 1));
    model::Volume v(g, -1000);
    v.identity.patientName = "PLAN^DICOM";
    v.identity.patientPosition = "HFP";
    CtSeries ct;
    ct.dir = test::makeTempDir(name);
    dicom::SeriesWriteOptions o;
    o.patientId = "PD-1";
    o.studyDescription = "Plan export test";
    auto id = dicom::writeCtSeries(v, o, ct.dir);
    EXPECT_TRUE(id) << (id ? "" : id.error().message);
    if (id) ct.id = *id;
    return ct;
}

model::Plan planOn(const CtSeries& ct) {
    model::Plan p;
    p.name = "Test plan";
    p.series.seriesInstanceUid = ct.id.seriesInstanceUid;
    p.series.studyInstanceUid = ct.id.studyInstanceUid;
    p.series.frameOfReferenceUid = ct.id.frameOfReferenceUid;
    p.series.path = ct.dir.string();
    model::Trajectory a;
    a.name = "L4 left MBRFA";
    a.procedure = "mbrfa";
    a.level = "L4";
    a.side = "left";
    a.deviceId = "rf-18g-10mm";
    a.entryLps = {12.125, 40.5, 10.25};
    a.targetLps = {4.0625, 2.75, 3.5};
    p.trajectories.push_back(a);
    model::Trajectory b;
    b.name = "Lead";
    b.procedure = "scs";
    b.deviceId = "scs-8c";
    b.entryLps = {0.5, 30.0, -8.0};
    b.controlPointsLps = {{0.25, 20.0, 0.0}, {0.0, 12.5, 9.0}};
    b.targetLps = {-0.125, 10.0, 18.0};
    p.trajectories.push_back(b);
    p.landmarks.push_back({"target_L4", "medial_branch_target", "L4", "left", {4.0, 2.5, 3.0}});
    return p;
}

/// dciodvfy's output and whether it reported an error ("" / false when not installed).
std::pair<std::string, bool> dciodvfy(const fs::path& file) {
    const std::string out = test::runShell("dciodvfy '" + file.string() + "' 2>&1");
    bool error = false;
    std::size_t at = 0;
    while (at < out.size()) {
        const std::size_t end = std::min(out.find('\n', at), out.size());
        if (std::string_view(out).substr(at, end - at).starts_with("Error")) error = true;
        at = end + 1;
    }
    return {out, error};
}

} // namespace

TEST(PlanDicomWriter, RtStructReferencesThePlanningCtAndReadsBack) {
    const CtSeries ct = writeCt("plan-dicom-ct");
    const model::Plan plan = planOn(ct);
    const fs::path out = test::makeTempDir("plan-dicom-out");
    auto r = dicom::writePlanRtStruct(plan, ct.dir, out, {.softwareVersion = "test"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(fs::exists(r->file));
    EXPECT_EQ(r->referencedImages, 12);
    EXPECT_EQ(r->rois, 3);
    EXPECT_EQ(r->studyInstanceUid, ct.id.studyInstanceUid);
    EXPECT_EQ(r->frameOfReferenceUid, ct.id.frameOfReferenceUid);
    EXPECT_TRUE(r->warnings.empty());

    // Read back with our own RTSTRUCT reader: same study and frame, every CT image referenced,
    // and the points as planned (DS keeps 10 significant digits).
    auto set = dicom::readRtStruct(r->file);
    ASSERT_TRUE(set) << set.error().message;
    EXPECT_EQ(set->studyInstanceUid, ct.id.studyInstanceUid);
    EXPECT_EQ(set->frameOfReferenceUid, ct.id.frameOfReferenceUid);
    EXPECT_EQ(set->referencedSeriesUid, ct.id.seriesInstanceUid);
    auto scanned = dicom::scanSeries(ct.dir);
    ASSERT_TRUE(scanned);
    std::set<std::string> ctUids;
    for (const auto& f : (*scanned)[0].files) {
        DcmFileFormat ff;
        ASSERT_TRUE(ff.loadFile(f.c_str()).good());
        OFString uid;
        ff.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, uid);
        ctUids.insert(uid.c_str());
    }
    EXPECT_EQ(
        std::set<std::string>(set->referencedImageUids.begin(), set->referencedImageUids.end()),
        ctUids);
    ASSERT_EQ(set->rois.size(), 3u);
    for (std::size_t i = 0; i < 2; ++i) {
        const model::Trajectory& t = plan.trajectories[i];
        const model::ContourRoi& roi = set->rois[i];
        SCOPED_TRACE(t.name);
        EXPECT_EQ(roi.name, t.name);
        ASSERT_EQ(roi.contours.size(), 3u);
        EXPECT_EQ(roi.contours[0].geometricType, "POINT");
        EXPECT_EQ(roi.contours[1].geometricType, "POINT");
        EXPECT_EQ(roi.contours[2].geometricType, "OPEN_NONPLANAR");
        ASSERT_EQ(roi.contours[0].pointsLps.size(), 1u);
        EXPECT_NEAR(glm::length(roi.contours[0].pointsLps[0] - t.entryLps), 0.0, 1e-6);
        EXPECT_NEAR(glm::length(roi.contours[1].pointsLps[0] - t.targetLps), 0.0, 1e-6);
        const auto& path = roi.contours[2].pointsLps;
        ASSERT_EQ(path.size(), 2 + t.controlPointsLps.size());
        EXPECT_NEAR(glm::length(path.front() - t.entryLps), 0.0, 1e-6);
        EXPECT_NEAR(glm::length(path.back() - t.targetLps), 0.0, 1e-6);
        for (std::size_t k = 0; k < t.controlPointsLps.size(); ++k)
            EXPECT_NEAR(glm::length(path[k + 1] - t.controlPointsLps[k]), 0.0, 1e-6);
    }
    EXPECT_EQ(set->rois[2].name, "target_L4");
    EXPECT_EQ(set->rois[2].interpretedType, "MARKER");

    // Patient and study attributes are the CT's, in a new RTSTRUCT series.
    DcmFileFormat ff;
    ASSERT_TRUE(ff.loadFile(r->file.c_str()).good());
    DcmDataset* d = ff.getDataset();
    OFString v;
    d->findAndGetOFString(DCM_PatientName, v);
    EXPECT_EQ(std::string(v.c_str()), "PLAN^DICOM");
    d->findAndGetOFString(DCM_PatientID, v);
    EXPECT_EQ(std::string(v.c_str()), "PD-1");
    d->findAndGetOFString(DCM_Modality, v);
    EXPECT_EQ(std::string(v.c_str()), "RTSTRUCT");
    d->findAndGetOFString(DCM_SOPClassUID, v);
    EXPECT_EQ(std::string(v.c_str()), UID_RTStructureSetStorage);
    d->findAndGetOFString(DCM_SeriesInstanceUID, v);
    EXPECT_NE(std::string(v.c_str()), ct.id.seriesInstanceUid);
    fs::remove_all(out);
    fs::remove_all(ct.dir);
}

TEST(PlanDicomWriter, PassesDciodvfy) {
    if (std::system("command -v dciodvfy >/dev/null 2>&1") != 0) {
        if (test::inCi()) FAIL() << "dciodvfy missing (scripts/setup.sh installs dicom3tools)";
        GTEST_SKIP() << "dciodvfy not installed";
    }
    const CtSeries ct = writeCt("plan-dicom-vfy");
    model::Plan plan = planOn(ct);
    plan.trajectories[0].name = "Ünïcode name that is longer than the sixty-four characters of LO";
    const fs::path out = test::outputDir("plan-dicom");
    for (const auto& e : fs::directory_iterator(out))
        fs::remove(e.path()); // left to inspect
    auto r = dicom::writePlanRtStruct(plan, ct.dir, out);
    ASSERT_TRUE(r) << r.error().message;
    const auto [report, error] = dciodvfy(r->file);
    EXPECT_FALSE(error) << report;
    EXPECT_NE(report.find("RTStructureSet"), std::string::npos) << report;
    fs::remove_all(ct.dir);
}

TEST(PlanDicomWriter, RefusesImagesThePlanWasNotMadeOn) {
    const CtSeries ct = writeCt("plan-dicom-refuse");
    const fs::path out = test::makeTempDir("plan-dicom-refuse-out");

    model::Plan plan = planOn(ct);
    plan.series.seriesInstanceUid = "1.2.3.4.5";
    auto r = dicom::writePlanRtStruct(plan, ct.dir, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_NE(r.error().message.find("1.2.3.4.5"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(ct.dir.string()), std::string::npos) << r.error().message;

    plan = planOn(ct);
    plan.series.frameOfReferenceUid = "1.2.3.999";
    r = dicom::writePlanRtStruct(plan, ct.dir, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::ParseError);
    EXPECT_NE(r.error().message.find("Frame of Reference"), std::string::npos) << r.error().message;

    plan = planOn(ct);
    plan.series.studyInstanceUid = "1.2.3.998";
    r = dicom::writePlanRtStruct(plan, ct.dir, out);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("study"), std::string::npos) << r.error().message;

    plan = planOn(ct);
    plan.series.seriesInstanceUid.clear();
    r = dicom::writePlanRtStruct(plan, ct.dir, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);

    r = dicom::writePlanRtStruct(planOn(ct), ct.dir / "missing", out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::NotFound);
    EXPECT_TRUE(fs::is_empty(out)) << "nothing written on failure";
    fs::remove_all(out);
    fs::remove_all(ct.dir);
}
