#include "model/Structure.h"

#include <array>
#include <utility>

namespace precis::model {
namespace {
constexpr std::array<std::pair<StructureKind, std::string_view>, 12> kKinds{{
    {StructureKind::Bone, "bone"},     {StructureKind::Canal, "canal"},
    {StructureKind::Disc, "disc"},     {StructureKind::Nerve, "nerve"},
    {StructureKind::Vessel, "vessel"}, {StructureKind::Lung, "lung"},
    {StructureKind::Kidney, "kidney"}, {StructureKind::Skin, "skin"},
    {StructureKind::Muscle, "muscle"}, {StructureKind::Fat, "fat"},
    {StructureKind::Target, "target"}, {StructureKind::Custom, "custom"},
}};
constexpr std::array<std::pair<StructureRole, std::string_view>, 4> kRoles{{
    {StructureRole::MustAvoid, "must-avoid"},
    {StructureRole::Caution, "caution"},
    {StructureRole::Target, "target"},
    {StructureRole::None, "none"},
}};
} // namespace

std::string_view toString(StructureKind kind) {
    for (auto& [k, s] : kKinds)
        if (k == kind) return s;
    return "custom";
}

std::optional<StructureKind> structureKindFromString(std::string_view s) {
    for (auto& [k, n] : kKinds)
        if (n == s) return k;
    return std::nullopt;
}

std::string_view toString(StructureRole role) {
    for (auto& [r, s] : kRoles)
        if (r == role) return s;
    return "none";
}

std::optional<StructureRole> structureRoleFromString(std::string_view s) {
    for (auto& [r, n] : kRoles)
        if (n == s) return r;
    return std::nullopt;
}

StructureRole defaultRole(StructureKind kind) {
    switch (kind) {
    case StructureKind::Canal:
    case StructureKind::Nerve:
    case StructureKind::Vessel:
    case StructureKind::Lung:
    case StructureKind::Kidney: return StructureRole::MustAvoid;
    case StructureKind::Bone:
    case StructureKind::Disc: return StructureRole::Caution;
    case StructureKind::Target: return StructureRole::Target;
    default: return StructureRole::None;
    }
}

glm::vec3 defaultColor(StructureKind kind) {
    switch (kind) {
    case StructureKind::Bone: return {0.93f, 0.89f, 0.80f};
    case StructureKind::Canal: return {0.35f, 0.60f, 0.95f};
    case StructureKind::Disc: return {0.55f, 0.80f, 0.75f};
    case StructureKind::Nerve: return {0.98f, 0.85f, 0.20f};
    case StructureKind::Vessel: return {0.85f, 0.15f, 0.15f};
    case StructureKind::Lung: return {0.75f, 0.85f, 0.95f};
    case StructureKind::Kidney: return {0.65f, 0.30f, 0.30f};
    case StructureKind::Skin: return {0.95f, 0.78f, 0.68f};
    case StructureKind::Muscle: return {0.75f, 0.35f, 0.35f};
    case StructureKind::Fat: return {0.98f, 0.93f, 0.65f};
    case StructureKind::Target: return {0.20f, 0.90f, 0.30f};
    case StructureKind::Custom: return {0.70f, 0.70f, 0.70f};
    }
    return {0.7f, 0.7f, 0.7f};
}

} // namespace precis::model
