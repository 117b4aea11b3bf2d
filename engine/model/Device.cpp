#include "model/Device.h"

#include <array>
#include <utility>

namespace precis::model {
namespace {
constexpr std::array<std::pair<DeviceType, std::string_view>, 6> kTypeNames{{
    {DeviceType::RfCannula, "rf-cannula"},
    {DeviceType::SpinalNeedle, "spinal-needle"},
    {DeviceType::EpiduralNeedle, "epidural-needle"},
    {DeviceType::ScsLead, "scs-lead"},
    {DeviceType::DrgLead, "drg-lead"},
    {DeviceType::PnsLead, "pns-lead"},
}};
} // namespace

std::string_view toString(DeviceType type) {
    for (const auto& [t, name] : kTypeNames) {
        if (t == type) return name;
    }
    return "unknown";
}

std::optional<DeviceType> deviceTypeFromString(std::string_view s) {
    for (const auto& [t, name] : kTypeNames) {
        if (name == s) return t;
    }
    return std::nullopt;
}

bool isLead(DeviceType type) {
    return type == DeviceType::ScsLead || type == DeviceType::DrgLead ||
           type == DeviceType::PnsLead;
}

const Device* DeviceCatalog::find(std::string_view id) const {
    for (const Device& d : devices) {
        if (d.id == id) return &d;
    }
    return nullptr;
}

} // namespace precis::model
