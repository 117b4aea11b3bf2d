#pragma once
// A plan as OpenIGTLink messages (protocol version 2, packed by Debian's libopenigtlink, which
// stays private to this module): bytes ready for the wire, each a 58-byte header (big endian,
// CRC-64 ECMA-182 of the body) and its body. Transport: export/IgtlSender.h.
//
// What is sent, in this order. F is "LPS" or "RAS", the frame every coordinate is written in, so a
// receiver cannot mistake it; device names are at most 20 characters.
//  - TRAJ "Precis_F_Traj": one element per trajectory: type 3 (entry + target), name (the
//    trajectory's), group (its procedure), colour (model/TrajectoryColor.h), radius = the
//    device's radius (mm), owner = the Series Instance UID cut to its field. Text is cut to its
//    field less one byte (63 / 31 / 19), so it is always NUL-terminated: libopenigtlink's
//    receivers read a value that fills its field as empty.
//  - POINT "Precis_F_Points": per trajectory "<name> Entry" (group "Entry") and "<name> Target"
//    (group "Target"), radius = the device's radius.
//  - POINT "Precis_F_Landmark": the plan's landmarks (group = kind), when it has any.
//  - TRANSFORM "Precis_F_Pose_<i>" per trajectory i (1-based, plan order): the needle pose, origin
//    at the target, +Z towards the entry (a lead: towards its last control point), +Y the bevel's
//    direction (posterior turned by bevelRotationDeg about the shaft; superior when the shaft runs
//    antero-posterior), +X = Y × Z.
//  - POLYDATA "Precis_F_Shaft_<i>" per trajectory: the shaft as a closed tube of the device's
//    radius along its path to the tip (export/DeviceMesh.h), triangles.
//  - STRING "Precis_LPS_Plan": the whole plan file (export/PlanFile.h planToJson, UTF-8), last. It
//    is the plan file as saved, LPS whatever frame was asked for (its own "frame" field says so),
//    hence LPS in its name.
// Simulated lesion / stimulation / injectate volumes are not sent: simulation does not exist yet.
#include "core/Error.h"
#include "export/Frame.h"
#include "model/Device.h"
#include "model/Plan.h"

#include <cstdint>
#include <string>
#include <vector>

namespace precis::exporting {

/// The default OpenIGTLink port (the protocol's registered port, also 3D Slicer's).
inline constexpr int kIgtlDefaultPort = 18944;
/// Header bytes of protocol version 2 messages (header version 1 layout).
inline constexpr std::size_t kIgtlHeaderBytes = 58;

struct IgtlMessage {
    std::string type;                // "TRAJ", "POINT", "TRANSFORM", "POLYDATA", "STRING"
    std::string deviceName;          // e.g. "Precis_LPS_Traj"
    std::vector<std::uint8_t> bytes; // header + body
};

struct IgtlMessageOptions {
    Frame frame = Frame::Lps;
    int shaftSides = 16; // facets around the POLYDATA tube
};

struct IgtlMessageSet {
    std::vector<IgtlMessage> messages;
    /// What the receiver will not see exactly (names cut to the protocol's field sizes).
    std::vector<std::string> warnings;
};

/// Packs `plan` (never modified). Fails with NotFound when a trajectory's device is not in
/// `catalog` (naming both), InvalidArgument for a trajectory whose entry equals its target or has
/// non-finite coordinates, or a plan whose JSON exceeds a STRING message's 65535 bytes.
Result<IgtlMessageSet> buildIgtlMessages(const model::Plan& plan,
                                         const model::DeviceCatalog& catalog,
                                         const IgtlMessageOptions& options = {});

} // namespace precis::exporting
