#pragma once
// The synthetic lumbar phantom: a prone patient's L2-S1 spine and surroundings, built from
// analytic primitives so every structure has exact ground truth (labels, landmarks, polylines).
// Anatomy follows ../shared/CLINICAL.md. Coordinates: LPS mm.
#include "core/Error.h"
#include "core/Progress.h"
#include "model/Plan.h"
#include "model/Structure.h"
#include "model/Volume.h"

#include <glm/glm.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace precis::phantom {

struct PhantomOptions {
    std::uint64_t seed = 1; // noise seed; same seed -> identical voxels
    int columns = 384;
    int rows = 384;
    int slices = 240;
    double pixelMm = 0.78;   // in-plane spacing
    double sliceMm = 1.0;    // slice spacing = thickness
    double noiseSdHu = 20.0; // Gaussian noise SD (HU)
};

struct Landmark {
    std::string name;  // "L4_left_medial_branch_target"
    std::string kind;  // "medial_branch_target", "drg_center", "safe_triangle_target",
                       // "interlaminar_target", ...
    std::string level; // "L4"
    std::string side;  // "left", "right", "midline"
    glm::dvec3 lps{0.0};
};

struct Polyline {
    std::string name;  // "L4_left_medial_branch"
    std::string kind;  // "medial_branch", "canal_centerline", "aorta_centerline", ...
    std::string level; // may be empty for whole-spine lines
    std::string side;  // may be empty
    std::vector<glm::dvec3> lps;
};

struct Truth {
    std::vector<model::Structure> structures;
    std::vector<Landmark> landmarks;
    std::vector<Polyline> polylines;
};

struct Phantom {
    model::Volume ct;       // HU, identity filled (PHANTOM^LUMBAR, CT, HFP)
    model::LabelMap labels; // same grid as ct; values = Truth::structures[].label
    Truth truth;
};

/// Builds the phantom (deterministic for a given seed). Fails only on invalid options or cancel.
Result<Phantom> makeLumbarPhantom(const PhantomOptions& options, const Progress& progress = {});

/// truth.json text:
/// {"frame":"LPS","units":"mm","structures":[...],"landmarks":[...],"polylines":[...]}
std::string truthToJson(const Truth& truth);
Result<Truth> truthFromJson(std::string_view json);

/// The truth's landmarks as plan landmarks (what procedure templates aim at).
std::vector<model::PlanLandmark> planLandmarks(const Truth& truth);

} // namespace precis::phantom
