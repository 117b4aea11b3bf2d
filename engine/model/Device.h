#pragma once
// A device from the catalogue (assets/devices.json): a needle, cannula or stimulator lead with its
// true dimensions. Plans and the command line refer to a device by its stable `id` only, so a plan
// switches device by changing that one string. Lengths in mm, measured from the tip.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace precis::model {

enum class DeviceType { RfCannula, SpinalNeedle, EpiduralNeedle, ScsLead, DrgLead, PnsLead };

std::string_view toString(DeviceType type); // "rf-cannula", "spinal-needle", "epidural-needle",
                                            // "scs-lead", "drg-lead", "pns-lead"
std::optional<DeviceType> deviceTypeFromString(std::string_view s);
/// Leads are steered along a curve (control points); needles are straight from entry to tip.
bool isLead(DeviceType type);

/// An electrode contact of a lead, or the active (uninsulated) tip of an RF cannula.
struct Contact {
    double offsetMm = 0.0; // from the device tip to the contact's distal end
    double lengthMm = 0.0;
};

struct Device {
    std::string id;   // stable: "rf-18g-10mm", "spinal-22g", "scs-8c", ...
    std::string name; // for people: "RF cannula 18 G, 10 mm active tip, 100 mm"
    DeviceType type = DeviceType::SpinalNeedle;
    std::optional<int> gauge;      // Stubs gauge for needles
    double outerDiameterMm = 0.0;  // true outer diameter of the shaft
    double usableLengthMm = 0.0;   // insertable length (hub to tip)
    double activeTipMm = 0.0;      // RF: uninsulated tip length; 0 for others
    bool curved = false;           // curved-tip cannula / steerable sheath
    double curveDeg = 0.0;         // tip bend for curved devices
    std::string tip;               // "quincke", "tuohy", "blunt", "sharp", "lead"
    std::vector<Contact> contacts; // leads: distal to proximal; RF: the active tip
    std::string source;     // "manufacturer" or "typical" (figures not from a manufacturer's sheet)
    std::string reference;  // where the figures come from

    [[nodiscard]] double radiusMm() const { return outerDiameterMm / 2.0; }
};

/// The catalogue: devices by id.
struct DeviceCatalog {
    std::vector<Device> devices;
    /// nullptr when no device has that id.
    [[nodiscard]] const Device* find(std::string_view id) const;
};

} // namespace precis::model
