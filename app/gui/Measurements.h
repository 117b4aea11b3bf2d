#pragma once
// Measurement tools: distance (two points, mm) and angle (three points, degrees at the middle
// one), placed by clicks on slices or on 3D surfaces (picks), all in LPS mm. Drawn over every pane
// where their points are visible (slices: every point within a band of the plane) with the value
// beside them; listed in the Case tab with delete. Display state only: not part of the plan.
#include "render/SliceView.h"
#include "render/ViewTypes.h"

#include <glm/glm.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ImDrawList;

namespace precis::gui {

enum class MeasureKind { None, Distance, Angle };
std::string_view toString(MeasureKind kind); // "none", "distance", "angle"
std::optional<MeasureKind> measureKindFromString(std::string_view name);

struct Measurement {
    MeasureKind kind = MeasureKind::Distance;
    std::vector<glm::dvec3> points; // LPS mm: 2 for a distance, 3 for an angle (vertex second)
    std::string pane;               // where it was placed ("axial", "3d", ...)
};

/// mm for a distance, degrees (0..180) for an angle; 0 while incomplete.
double measurementValue(const Measurement& m);
/// "42.3 mm", "87.5°".
std::string measurementText(const Measurement& m);

class MeasurementTool {
public:
    [[nodiscard]] MeasureKind mode() const { return mode_; }
    /// Switches the tool (drops a measurement in progress).
    void setMode(MeasureKind mode);
    /// Adds a point to the measurement in progress (placed in `pane`); true when it completed one
    /// (it is then listed). Ignored (false) when the mode is None.
    bool addPoint(const glm::dvec3& lps, std::string_view pane);
    /// Drops the points of the measurement in progress; false when there were none.
    bool cancel();
    [[nodiscard]] bool inProgress() const { return !pending_.points.empty(); }
    [[nodiscard]] const std::vector<Measurement>& measurements() const { return done_; }
    void remove(std::size_t index);
    void clear();

    /// Overlays on a slice pane (window pixels `r`): measurements whose points all lie within
    /// `bandMm` of the plane, and the one in progress (with a line to `hoverLps` when given).
    void drawSlice(ImDrawList* dl, const render::SliceView& view, const render::ViewportRect& r,
                   double bandMm, const std::optional<glm::dvec3>& hoverLps) const;
    /// Overlays on the 3D pane, projected with `clipFromWorld` (points behind the eye skipped).
    void draw3d(ImDrawList* dl, const glm::dmat4& clipFromWorld,
                const render::ViewportRect& r) const;
    /// The Case tab's section body: tool buttons, the list with delete.
    void drawPanel();

private:
    MeasureKind mode_ = MeasureKind::None;
    Measurement pending_;
    std::vector<Measurement> done_;
};

} // namespace precis::gui
