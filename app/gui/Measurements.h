#pragma once
// Measurement tools: distance (two points, mm) and angle (three points, degrees at the middle
// one), placed by clicks on slices or on 3D surfaces (picks), all in LPS mm. Drawn over every pane
// where their points are visible (slices: every point within a band of the plane) with the value
// beside them; listed in the Case tab with delete. Completed measurements belong to the plan
// (model::Plan::measurements: undoable edits, saved in the plan file); the tool holds only the
// mode and the measurement in progress.
#include "model/Plan.h"
#include "render/SliceView.h"
#include "render/ViewTypes.h"

#include <glm/glm.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ImDrawList;

namespace precis::gui {

/// The tool's mode: what the next clicks measure.
enum class MeasureKind { None, Distance, Angle };
std::string_view toString(MeasureKind kind); // "none", "distance", "angle"
std::optional<MeasureKind> measureKindFromString(std::string_view name);

using Measurement = model::PlanMeasurement;

/// "42.3 mm", "87.5°".
std::string measurementText(const Measurement& m);
/// "Distance", "Angle".
const char* measurementTitle(const Measurement& m);

class MeasurementTool {
public:
    [[nodiscard]] MeasureKind mode() const { return mode_; }
    /// Switches the tool (drops a measurement in progress).
    void setMode(MeasureKind mode);
    /// Adds a point to the measurement in progress (placed in `pane`); returns the measurement
    /// when this point completed it (the caller adds it to the plan). Ignored when the mode is
    /// None.
    std::optional<Measurement> addPoint(const glm::dvec3& lps, std::string_view pane);
    /// Drops the points of the measurement in progress; false when there were none.
    bool cancel();
    [[nodiscard]] bool inProgress() const { return !pending_.pointsLps.empty(); }

    /// Overlays on a slice pane (window pixels `r`): the measurements of `done` whose points all
    /// lie within `bandMm` of the plane, and the one in progress (with a line to `hoverLps`).
    void drawSlice(ImDrawList* dl, const std::vector<Measurement>& done,
                   const render::SliceView& view, const render::ViewportRect& r, double bandMm,
                   const std::optional<glm::dvec3>& hoverLps) const;
    /// Overlays on the 3D pane, projected with `clipFromWorld` (points behind the eye skipped).
    void draw3d(ImDrawList* dl, const std::vector<Measurement>& done,
                const glm::dmat4& clipFromWorld, const render::ViewportRect& r) const;

    /// What the panel asked for (the caller edits the plan).
    struct PanelRequest {
        std::optional<std::size_t> remove; // delete this one
        bool removeAll = false;
    };
    /// The Case tab's section body: tool buttons, the list of `done` with delete.
    PanelRequest drawPanel(const std::vector<Measurement>& done);

private:
    MeasureKind mode_ = MeasureKind::None;
    Measurement pending_;
};

} // namespace precis::gui
