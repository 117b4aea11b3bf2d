#include "export/IgtlMessages.h"

#include "core/Text.h"

#include "core/Assert.h"
#include "export/DeviceMesh.h"
#include "export/PlanFile.h"
#include "model/TrajectoryColor.h"
#include "planning/Evaluation.h"

#include <fmt/core.h>
#include <igtlMath.h>
#include <igtlMessageBase.h>
#include <igtlPointMessage.h>
#include <igtlPolyDataMessage.h>
#include <igtlStringMessage.h>
#include <igtlTimeStamp.h>
#include <igtlTrajectoryMessage.h>
#include <igtlTransformMessage.h>
#include <igtl_util.h>

#include <array>
#include <cmath>
#include <numbers>

namespace precis::exporting {
namespace {

// Text fields of TRAJ and POINT elements are 64 (name), 32 (group) and 20 (owner) bytes; a value
// may fill its field without a NUL, but libopenigtlink's UnpackBody (1.11, as Debian ships it,
// and the receivers built on it, 3D Slicer's included) then reads it as empty: it terminates its
// copy with '\n' instead of NUL. So values keep one byte free for the NUL.
constexpr std::size_t kNameBytes = 64 - 1;  // TRAJ / POINT element name
constexpr std::size_t kGroupBytes = 32 - 1; // element group
constexpr std::size_t kOwnerBytes = 20 - 1; // owner image device name
constexpr std::size_t kDeviceNameBytes = 20;
constexpr std::size_t kMaxStringBytes = 65535; // STRING length is a uint16
constexpr std::uint16_t kUtf8Mib = 106;        // IANA MIBenum of UTF-8


struct Builder {
    Frame frame;
    std::vector<std::string>& warnings;
    mutable igtl::TimeStamp::Pointer now = igtl::TimeStamp::New();

    std::string device(std::string_view what) const {
        std::string name = fmt::format("Precis_{}_{}", toString(frame), what);
        PRECIS_ASSERT(name.size() <= kDeviceNameBytes, "OpenIGTLink device names are 20 bytes");
        return name;
    }

    /// A field-sized copy of `s`; a warning says when the receiver gets less than the whole.
    std::string field(const std::string& s, std::size_t bytes, std::string_view what) const {
        std::string out = fitUtf8(s, bytes);
        if (out.size() < s.size())
            warnings.push_back(
                fmt::format("{} '{}' is longer than the {} bytes OpenIGTLink carries: sent as "
                            "'{}' (the STRING message has it whole)",
                            what, s, bytes, out));
        return out;
    }

    std::array<float, 3> pos(const glm::dvec3& lps) const {
        const glm::dvec3 p = fromLps(lps, frame);
        return {static_cast<float>(p.x), static_cast<float>(p.y), static_cast<float>(p.z)};
    }

    IgtlMessage finish(igtl::MessageBase& msg, std::string type, std::string deviceName) const {
        msg.SetDeviceName(deviceName.c_str());
        msg.SetTimeStamp(now);
        msg.Pack();
        const auto* p = static_cast<const std::uint8_t*>(msg.GetPackPointer());
        return IgtlMessage{std::move(type), std::move(deviceName),
                           std::vector<std::uint8_t>(p, p + msg.GetPackSize())};
    }
};

/// libopenigtlink 1.11 leaves each TRAJ element's reserved byte uninitialised (it carries
/// whatever was in memory, so identical plans gave different bytes): set it to 0, as the protocol
/// says, and recompute the header's CRC-64 over the corrected body.
void zeroTrajReservedBytes(IgtlMessage& m, std::size_t elements) {
    constexpr std::size_t kElementBytes = 150, kReservedOffset = 97, kCrcOffset = 50;
    std::uint8_t* body = m.bytes.data() + kIgtlHeaderBytes;
    PRECIS_ASSERT(m.bytes.size() == kIgtlHeaderBytes + elements * kElementBytes,
                  "TRAJ body is 150 bytes per element");
    for (std::size_t i = 0; i < elements; ++i)
        body[i * kElementBytes + kReservedOffset] = 0;
    const igtl_uint64 crc = crc64(body, elements * kElementBytes, 0);
    for (int k = 0; k < 8; ++k)
        m.bytes[kCrcOffset + static_cast<std::size_t>(k)] =
            static_cast<std::uint8_t>(crc >> (56 - 8 * k));
}

/// Needle pose: origin at the target, +Z back along the shaft (towards the entry, or a lead's last
/// control point), +Y the bevel's facing direction, +X = Y × Z (right-handed), all in LPS.
glm::dmat3 poseAxesLps(const model::Trajectory& t) {
    const glm::dvec3 behind = t.controlPointsLps.empty() ? t.entryLps : t.controlPointsLps.back();
    const glm::dvec3 z = glm::normalize(behind - t.targetLps);
    // Bevel 0° faces posterior (model/Plan.h). A shaft running antero-posterior (a prone patient
    // entered straight from the back) has no posterior direction across it: use superior there.
    glm::dvec3 ref(0.0, 1.0, 0.0);
    if (std::abs(glm::dot(ref, z)) > 0.99) ref = glm::dvec3(0.0, 0.0, 1.0);
    glm::dvec3 y0 = glm::normalize(ref - glm::dot(ref, z) * z);
    const double a = t.bevelRotationDeg * std::numbers::pi / 180.0;
    const glm::dvec3 y = std::cos(a) * y0 + std::sin(a) * glm::cross(z, y0);
    const glm::dvec3 x = glm::cross(y, z);
    return glm::dmat3(x, y, z);
}

} // namespace

Result<IgtlMessageSet> buildIgtlMessages(const model::Plan& plan,
                                         const model::DeviceCatalog& catalog,
                                         const IgtlMessageOptions& options) {
    IgtlMessageSet out;
    if (plan.trajectories.size() > 999)
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("the plan has {} trajectories; OpenIGTLink export numbers them in "
                                "20-byte device names, at most 999",
                                plan.trajectories.size()));
    std::vector<const model::Device*> devices;
    for (const model::Trajectory& t : plan.trajectories) {
        const model::Device* d = catalog.find(t.deviceId);
        if (!d)
            return fail(ErrorCode::NotFound,
                        fmt::format("trajectory '{}' uses device '{}', which is not in the device "
                                    "catalogue",
                                    t.name, t.deviceId));
        if (!model::hasFiniteCoordinates(t))
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("trajectory '{}' has a non-finite coordinate", t.name));
        if (glm::length(t.entryLps - t.targetLps) < 1e-6)
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("trajectory '{}' has its entry on its target: no direction to "
                                    "send",
                                    t.name));
        devices.push_back(d);
    }
    for (const auto& l : plan.landmarks)
        if (!model::isFinite(l.lps))
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("landmark '{}' has a non-finite coordinate", l.name));
    const std::string planJson = planToJson(plan);
    if (planJson.size() > kMaxStringBytes)
        return fail(
            ErrorCode::InvalidArgument,
            fmt::format("the plan's JSON is {} bytes; an OpenIGTLink STRING carries at most "
                        "{} (shorten the notes)",
                        planJson.size(), kMaxStringBytes));

    Builder b{options.frame, out.warnings};
    b.now->GetTime();
    const std::string owner = fitUtf8(plan.series.seriesInstanceUid, kOwnerBytes);

    if (!plan.trajectories.empty()) {
        auto traj = igtl::TrajectoryMessage::New();
        auto points = igtl::PointMessage::New();
        for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
            const model::Trajectory& t = plan.trajectories[i];
            const auto radius = static_cast<float>(devices[i]->radiusMm());
            const auto& rgb = model::trajectoryColor(i);
            auto e = igtl::TrajectoryElement::New();
            e->SetName(b.field(t.name, kNameBytes, "trajectory name").c_str());
            e->SetGroupName(b.field(t.procedure, kGroupBytes, "procedure").c_str());
            e->SetType(igtl::TrajectoryElement::TYPE_ENTRY_TARGET);
            e->SetRGBA(rgb[0], rgb[1], rgb[2], 255);
            auto entry = b.pos(t.entryLps), target = b.pos(t.targetLps);
            e->SetEntryPosition(entry.data());
            e->SetTargetPosition(target.data());
            e->SetRadius(radius);
            e->SetOwner(owner.c_str());
            traj->AddTrajectoryElement(e);

            for (int k = 0; k < 2; ++k) {
                const std::string_view role = k == 0 ? "Entry" : "Target";
                // Cut the trajectory's name, never the role, so the two points stay apart.
                const std::string name =
                    fitUtf8(t.name, kNameBytes - role.size() - 1) + " " + std::string(role);
                auto p = igtl::PointElement::New();
                p->SetName(name.c_str());
                p->SetGroupName(std::string(role).c_str());
                p->SetRGBA(rgb[0], rgb[1], rgb[2], 255);
                auto xyz = k == 0 ? entry : target;
                p->SetPosition(xyz.data());
                p->SetRadius(radius);
                p->SetOwner(owner.c_str());
                points->AddPointElement(p);
            }
        }
        out.messages.push_back(b.finish(*traj, "TRAJ", b.device("Traj")));
        zeroTrajReservedBytes(out.messages.back(), plan.trajectories.size());
        out.messages.push_back(b.finish(*points, "POINT", b.device("Points")));
    }

    if (!plan.landmarks.empty()) {
        auto points = igtl::PointMessage::New();
        for (const model::PlanLandmark& l : plan.landmarks) {
            auto p = igtl::PointElement::New();
            p->SetName(b.field(l.name, kNameBytes, "landmark name").c_str());
            p->SetGroupName(
                b.field(l.kind.empty() ? "Landmark" : l.kind, kGroupBytes, "landmark kind")
                    .c_str());
            p->SetRGBA(255, 255, 255, 255);
            auto xyz = b.pos(l.lps);
            p->SetPosition(xyz.data());
            p->SetRadius(0.0f); // a point, not a ball
            p->SetOwner(owner.c_str());
            points->AddPointElement(p);
        }
        out.messages.push_back(b.finish(*points, "POINT", b.device("Landmark")));
    }

    for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
        const model::Trajectory& t = plan.trajectories[i];
        const glm::dmat3 axes = poseAxesLps(t);
        igtl::Matrix4x4 m;
        igtl::IdentityMatrix(m);
        for (int c = 0; c < 3; ++c) {
            // Directions convert like points (x and y negated for RAS): the rotation stays proper.
            const glm::dvec3 axis = fromLps(axes[c], options.frame);
            for (int r = 0; r < 3; ++r)
                m[r][c] = static_cast<float>(axis[r]);
        }
        const auto origin = b.pos(t.targetLps);
        for (int r = 0; r < 3; ++r)
            m[r][3] = origin[static_cast<std::size_t>(r)];
        auto tm = igtl::TransformMessage::New();
        tm->SetMatrix(m);
        out.messages.push_back(b.finish(*tm, "TRANSFORM", b.device(fmt::format("Pose_{}", i + 1))));

        const std::vector<glm::dvec3> axis = model::devicePath(t);
        const model::Mesh mesh = deviceShaftMesh(axis, devices[i]->radiusMm(), options.shaftSides);
        auto pd = igtl::PolyDataMessage::New();
        auto pointArray = igtl::PolyDataPointArray::New();
        for (const glm::vec3& v : mesh.positions) {
            auto xyz = b.pos(glm::dvec3(v));
            pointArray->AddPoint(xyz.data());
        }
        auto polygons = igtl::PolyDataCellArray::New();
        for (std::size_t k = 0; k + 2 < mesh.indices.size(); k += 3) {
            igtlUint32 cell[3] = {mesh.indices[k], mesh.indices[k + 1], mesh.indices[k + 2]};
            polygons->AddCell(3, cell);
        }
        pd->SetPoints(pointArray);
        pd->SetPolygons(polygons);
        out.messages.push_back(b.finish(*pd, "POLYDATA", b.device(fmt::format("Shaft_{}", i + 1))));
    }

    auto str = igtl::StringMessage::New();
    str->SetEncoding(kUtf8Mib);
    str->SetString(planJson.c_str());
    out.messages.push_back(b.finish(*str, "STRING", "Precis_LPS_Plan"));
    return out;
}

} // namespace precis::exporting
