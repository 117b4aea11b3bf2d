#pragma once
// An anatomical structure: what it is and how planning treats it. Display state (colour shown,
// opacity, visibility) lives in the app's view state; `defaultColor` is only the suggestion.
#include <glm/glm.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace precis::model {

enum class StructureKind {
    Bone, Canal, Disc, Nerve, Vessel, Lung, Kidney, Skin, Muscle, Fat, Target, Custom
};

enum class StructureRole { MustAvoid, Caution, Target, None };

std::string_view toString(StructureKind kind);  // "bone", "canal", ... (file/CLI spelling)
std::optional<StructureKind> structureKindFromString(std::string_view s);
std::string_view toString(StructureRole role);  // "must-avoid", "caution", "target", "none"
std::optional<StructureRole> structureRoleFromString(std::string_view s);

/// The role planning gives a kind unless the user says otherwise.
StructureRole defaultRole(StructureKind kind);
/// A conventional display colour for a kind (linear RGB, 0..1).
glm::vec3 defaultColor(StructureKind kind);

struct Structure {
    std::string name;      // "L4", "dural_sac", "aorta", ...
    std::uint8_t label = 0; // value in the label map; 0 = none
    StructureKind kind = StructureKind::Custom;
    StructureRole role = StructureRole::None;
    glm::vec3 defaultColor{0.8f};
};

} // namespace precis::model
