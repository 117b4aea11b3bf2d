#pragma once
// Plans the export tests share: coordinates with fractional parts and both signs, so a frame
// or byte-order mistake cannot hide.
#include "model/Plan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace precis::test {

/// Two needles (one with a long name), a lead with control points, three landmarks, a distance and an angle; devices from
/// the built-in catalogue.
inline model::Plan samplePlan() {
    model::Plan p;
    p.name = "L4-L5 facet denervation";
    p.series.seriesInstanceUid = "1.2.826.0.1.3680043.8.498.12345678901234567890";
    p.series.studyInstanceUid = "1.2.826.0.1.3680043.8.498.111";
    p.series.frameOfReferenceUid = "1.2.826.0.1.3680043.8.498.222";
    p.series.path = "/data/ct/phantom";
    p.series.patientName = "DOE^JANE";
    p.series.patientId = "PAT-0042";
    p.notes = "Teaching case; 2024-05-01 consult.";

    model::Trajectory a;
    a.name = "L4 left MBRFA";
    a.procedure = "mbrfa";
    a.level = "L4";
    a.side = "left";
    a.deviceId = "rf-18g-10mm";
    a.entryLps = {42.125, 71.5, -12.375};
    a.targetLps = {18.25, 20.0625, -3.5};
    a.intendedContact = {"L4"};
    p.trajectories.push_back(a);

    model::Trajectory b;
    b.name = "L5 right MBRFA";
    b.procedure = "mbrfa";
    b.level = "L5";
    b.side = "right";
    b.deviceId = "rf-20g-10mm";
    b.entryLps = {-37.75, 68.25, -40.5};
    b.targetLps = {-16.5, 22.75, -30.125};
    b.bevelRotationDeg = 90.0;
    b.insertionDepthMm = 55.0; // 3.7 mm past the target (the path is 51.3 mm)
    p.trajectories.push_back(b);

    model::Trajectory c;
    c.name = "T10 SCS lead";
    c.procedure = "scs";
    c.level = "T10";
    c.side = "midline";
    c.deviceId = "scs-8c";
    c.entryLps = {2.5, 60.0, -80.0};
    c.controlPointsLps = {{1.5, 35.0, -60.0}, {0.75, 28.5, -30.0}};
    c.targetLps = {0.25, 27.0, 10.0};
    p.trajectories.push_back(c);

    p.landmarks.push_back(
        {"L4_left_medial_branch_target", "medial_branch_target", "L4", "left", {18.0, 20.0, -3.0}});
    p.landmarks.push_back({"L5_right_medial_branch_target",
                           "medial_branch_target",
                           "L5",
                           "right",
                           {-16.0, 22.5, -30.0}});
    p.landmarks.push_back({"canal_center_L4", "canal_center", "L4", "midline", {0.0, 5.25, -2.0}});
    // A 42 mm distance and a 60 degree angle.
    p.measurements.push_back(
        {model::MeasurementKind::Distance, {{18.0, 20.0, -3.0}, {18.0, 20.0, -45.0}}, "sagittal"});
    p.measurements.push_back({model::MeasurementKind::Angle,
                              {{10.0, 0.0, 0.0}, {0.0, 0.0, 0.0}, {5.0, 8.6602540378443865, 0.0}},
                              "3d"});
    return p;
}

/// CRC-64/ECMA-182 as OpenIGTLink uses it: polynomial 0x42F0E1EBA9EA3693, initial value 0, no
/// reflection, no final XOR. Written here from the protocol description, bit by bit, so the test
/// does not trust the library it checks.
inline std::uint64_t crc64Ecma182(const std::uint8_t* data, std::size_t size) {
    std::uint64_t crc = 0;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= static_cast<std::uint64_t>(data[i]) << 56;
        for (int b = 0; b < 8; ++b)
            crc = (crc & 0x8000000000000000ull) ? (crc << 1) ^ 0x42F0E1EBA9EA3693ull : crc << 1;
    }
    return crc;
}

} // namespace precis::test
