#pragma once
// The analytic model behind the lumbar phantom: a prone patient's L2-S1 spine and surroundings
// built from signed-distance primitives (ellipsoids, rounded boxes, capsules, swept ellipses) in
// per-vertebra rigid frames stacked with lordosis. The voxel phantom (LumbarPhantom.h) samples
// this model; planning code can ask it exact questions (label at a point, clearance to a
// structure) instead of reading voxels. Frame: DICOM patient LPS, millimetres, prone
// (+y = posterior = up toward the ceiling, +z = superior, +x = patient left).
#include "model/ImageGeometry.h"
#include "model/Structure.h"
#include "phantom/LumbarPhantom.h"

#include <glm/glm.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace precis::phantom {

/// Stable label values of the phantom's label map (0 = air outside the body).
namespace label {
inline constexpr std::uint8_t kAir = 0;
inline constexpr std::uint8_t kL2 = 2, kL3 = 3, kL4 = 4, kL5 = 5, kS1 = 6;
inline constexpr std::uint8_t kDiscL2L3 = 10, kDiscL3L4 = 11, kDiscL4L5 = 12, kDiscL5S1 = 13;
inline constexpr std::uint8_t kDuralSac = 20;    // thecal sac with CSF
inline constexpr std::uint8_t kEpiduralFat = 21; // epidural space incl. foraminal fat
/// Exiting nerve roots: kNerveRootFirst + 2*level + side, level 0..4 = L2..S1, side 0 = left.
inline constexpr std::uint8_t kNerveRootFirst = 30;
/// Dorsal root ganglia, same indexing as nerve roots.
inline constexpr std::uint8_t kDrgFirst = 40;
/// Medial branches of the dorsal rami, level 0..3 = L2..L4 medial branch, L5 dorsal ramus.
inline constexpr std::uint8_t kMedialBranchFirst = 50;
inline constexpr std::uint8_t kAorta = 60, kIvc = 61;
inline constexpr std::uint8_t kCommonIliacArteryLeft = 62, kCommonIliacArteryRight = 63;
inline constexpr std::uint8_t kCommonIliacVeinLeft = 64, kCommonIliacVeinRight = 65;
inline constexpr std::uint8_t kPsoasLeft = 70, kPsoasRight = 71;
inline constexpr std::uint8_t kParaspinalLeft = 72, kParaspinalRight = 73;
inline constexpr std::uint8_t kQuadratusLeft = 74, kQuadratusRight = 75;
inline constexpr std::uint8_t kBodyWallMuscle = 76;
inline constexpr std::uint8_t kKidneyLeft = 80, kKidneyRight = 81;
inline constexpr std::uint8_t kSubcutaneousFat = 90, kRetroperitonealFat = 91;
inline constexpr std::uint8_t kAbdominalViscera = 92, kSkin = 95;

/// Vertebra label for level index 0..4 (L2..S1).
constexpr std::uint8_t vertebra(int level) { return static_cast<std::uint8_t>(kL2 + level); }
constexpr std::uint8_t nerveRoot(int level, int side) {
    return static_cast<std::uint8_t>(kNerveRootFirst + 2 * level + side);
}
constexpr std::uint8_t drg(int level, int side) {
    return static_cast<std::uint8_t>(kDrgFirst + 2 * level + side);
}
constexpr std::uint8_t medialBranch(int level, int side) {
    return static_cast<std::uint8_t>(kMedialBranchFirst + 2 * level + side);
}
} // namespace label

/// Level names in the model, cranial to caudal: "L2", "L3", "L4", "L5", "S1".
inline constexpr int kLevelCount = 5;
std::string_view levelName(int level);

/// A vertebra's rigid frame: origin at the centre of its body (mid-height, mid-depth), axes
/// lateral (+x, patient left), posterior and superior, tilted in the sagittal plane by lordosis.
struct VertebraFrame {
    std::string name; // "L2" .. "S1"
    glm::dvec3 originLps{0.0};
    glm::dvec3 lateral{1, 0, 0};
    glm::dvec3 posterior{0, 1, 0};
    glm::dvec3 superior{0, 0, 1};
    double bodyWidthMm = 0.0, bodyDepthMm = 0.0, bodyHeightMm = 0.0;
};

class LumbarModel {
public:
    /// Builds the default anatomy (deterministic; a few milliseconds).
    LumbarModel();
    ~LumbarModel();
    LumbarModel(LumbarModel&&) noexcept;
    LumbarModel& operator=(LumbarModel&&) noexcept;
    LumbarModel(const LumbarModel&) = delete;
    LumbarModel& operator=(const LumbarModel&) = delete;

    /// All structures, in label-priority order (the first one containing a point wins).
    [[nodiscard]] const std::vector<model::Structure>& structures() const;
    /// nullptr when no structure has that label / name.
    [[nodiscard]] const model::Structure* structure(std::uint8_t labelValue) const;
    [[nodiscard]] const model::Structure* structure(std::string_view name) const;

    /// Label of the structure that owns an LPS point (label::kAir outside the body).
    [[nodiscard]] std::uint8_t labelAt(const glm::dvec3& lps) const;
    /// Approximate signed distance (mm, negative inside) from an LPS point to the structure's own
    /// shape, before label priority. It is a bound: never larger in magnitude than the true
    /// distance by more than a few percent (exact near spheres, capsules and boxes), so it is a
    /// conservative clearance. Returns +infinity for an unknown label or air.
    [[nodiscard]] double signedDistanceMm(std::uint8_t labelValue, const glm::dvec3& lps) const;
    /// Signed distance to the union of all vertebrae (bone).
    [[nodiscard]] double boneDistanceMm(const glm::dvec3& lps) const;
    /// Noise-free design HU at a point (cortical shell vs cancellous core inside bone).
    [[nodiscard]] double designHuAt(const glm::dvec3& lps) const;
    /// Design HU of a label (bone: cancellous value; see kCorticalHu for the shell).
    [[nodiscard]] double designHu(std::uint8_t labelValue) const;

    static constexpr double kCorticalHu = 1200.0;
    static constexpr double kCancellousHu = 270.0;
    static constexpr double kCorticalMm = 1.0; // shell thickness

    [[nodiscard]] const std::vector<VertebraFrame>& vertebrae() const;
    [[nodiscard]] const std::vector<Landmark>& landmarks() const;
    [[nodiscard]] const std::vector<Polyline>& polylines() const;
    /// Structures + landmarks + polylines, as written to truth.json.
    [[nodiscard]] Truth truth() const;

    /// The grid PhantomOptions describe: HFP axial orientation (direction columns (-1,0,0),
    /// (0,-1,0), (0,0,1)), centred on the anatomy.
    [[nodiscard]] model::ImageGeometry gridFor(const PhantomOptions& options) const;

    /// Samples slice k of `grid`: the winning label and the noise-free HU (with partial volume at
    /// boundaries) of every voxel centre, x fastest. Spans hold dims[0]*dims[1] values. Const and
    /// thread-safe: call it for different slices from different threads.
    void sampleSlice(const model::ImageGeometry& grid, int k, std::span<std::uint8_t> labels,
                     std::span<float> hu) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace precis::phantom
