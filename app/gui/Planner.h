#pragma once
// The planning side of the window: the safety scene built on a worker thread once a case has
// loaded, the plan under edit (every edit through planning::PlanHistory, so it can be undone),
// its safety evaluation after every edit, procedure templates, placement (slice clicks, typed
// coordinates, landmarks), the plan file (atomic save, autosave, recovery) and what the views
// draw of the plan. Only app/ sees ImGui; the 3D meshes go to GuiApp as render::Drawables.
#include "core/Error.h"
#include "gui/BackgroundTask.h"
#include "gui/SkinRiskMap.h"
#include "model/Device.h"
#include "model/Plan.h"
#include "model/Volume.h"
#include "planning/Evaluation.h"
#include "planning/PlanHistory.h"
#include "planning/SafetyScene.h"
#include "planning/Templates.h"
#include "render/SceneRenderer.h"
#include "render/SliceView.h"
#include "render/ViewTypes.h"

#include <glm/glm.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct ImDrawList;

namespace precis::render {
class Context;
}

namespace precis::gui {

struct LoadedCase;

/// What a left click on a slice does while planning.
enum class PickMode { None, Target, Entry };

class Planner {
public:
    Planner();
    ~Planner();
    Planner(const Planner&) = delete;
    Planner& operator=(const Planner&) = delete;

    // ---- the case -----------------------------------------------------------------------------
    /// A case finished loading: builds its safety scene in the background (when it has labelled
    /// structures). An open plan stays open and is checked against the new series.
    void caseLoaded(const LoadedCase& c);
    /// The case's structures changed (imported): rebuilds the safety scene in the background
    /// from `labels` and `structures` with the plan's roles applied (roles decide must-avoid and
    /// caution); the plan, its history and the current scene stay until the new one is ready,
    /// then every trajectory is re-evaluated against it. Whenever the plan's roles change (a role
    /// edit, undo, redo, another plan opened) the scene is rebuilt the same way.
    void structuresChanged(std::shared_ptr<const model::LabelMap> labels,
                           std::vector<model::Structure> structures);
    /// Gives structure `name` `role` in this plan (an undoable edit, saved with the plan);
    /// false when the case has no labelled structure of that name.
    bool setStructureRole(const std::string& name, model::StructureRole role);
    /// The role the plan gives `structure` (its own role unless the plan overrides it).
    [[nodiscard]] model::StructureRole roleOf(const model::Structure& structure) const;
    /// Once a frame, outside any render pass: takes finished background work, re-evaluates after
    /// edits, uploads the overlay meshes when the plan changed, autosaves when due.
    void poll(render::Context& ctx, double autosaveIntervalS);
    /// The scene or a proposal is being computed.
    [[nodiscard]] bool busy() const { return sceneTask_ || proposeTask_ || riskTask_; }
    /// "Building safety scene (40%)" while busy, else empty.
    [[nodiscard]] std::string progressText() const;
    [[nodiscard]] bool sceneReady() const { return scene_ != nullptr; }

    // ---- edits (the panel, keyboard and scripted actions all come here) -------------------------
    void newPlan();
    /// Loads a plan (the plan stays open whatever its series). Offers the autosave when it is
    /// newer; asks for the plan's series to be loaded when no case is open.
    Result<void> open(const std::filesystem::path& file);
    Result<void> save(); // to the current path; InvalidArgument when the plan has none
    Result<void> saveAs(const std::filesystem::path& file);
    /// Starts a template proposal in the background (FailedPrecondition without a scene).
    Result<void> propose(const planning::TemplateRequest& request);
    bool undo();
    bool redo();
    /// Sets the target or entry of the active trajectory. A target with no trajectory active
    /// starts a manual one (then the entry is asked for).
    void setPoint(PickMode which, const glm::dvec3& lps);
    /// Sets the target of the active trajectory to a landmark (by name); false when unknown.
    bool snapTarget(const std::string& landmark);
    bool setDevice(const std::string& deviceId); // of the active trajectory
    bool removeActive();
    bool select(std::size_t index);
    /// Measurements (saved with the plan, undoable): add one, delete one (false when there is no
    /// such index), delete all (false when there are none).
    void addMeasurement(model::PlanMeasurement measurement);
    bool removeMeasurement(std::size_t index);
    bool clearMeasurements();
    /// A slice click in pick mode; false when no pick mode is on.
    bool pick(const glm::dvec3& lps);
    [[nodiscard]] PickMode pickMode() const { return pickMode_; }
    void setPickMode(PickMode mode) { pickMode_ = mode; }
    /// The autosave offered by open(): take it (an undoable edit) or delete it.
    bool resolveRecovery(bool recover);
    /// Writes the autosave now (when dirty and the plan has a path).
    void autosaveNow();

    // ---- what the app takes -------------------------------------------------------------------
    /// A series the plan asked to be loaded (open() with no case).
    std::optional<std::filesystem::path> takeSeriesToLoad() { return std::exchange(seriesToLoad_, {}); }
    /// A point the slices should move to (a new or selected trajectory's target).
    std::optional<glm::dvec3> takeFocus() { return std::exchange(focus_, {}); }
    /// Errors (for GuiRunReport and the status bar) and status lines, since the last call.
    std::vector<std::string> takeErrors() { return std::exchange(errors_, {}); }
    std::optional<std::string> takeStatus() { return std::exchange(statusLine_, {}); }

    // ---- views --------------------------------------------------------------------------------
    [[nodiscard]] const std::vector<render::Drawable>& drawables() const { return drawables_; }
    /// The skin risk map for the active trajectory's target and device (SkinRiskMap.h), drawn on
    /// the skin in 3D and recomputed on a worker thread when either changes.
    void setRiskMap(bool on);
    [[nodiscard]] bool riskMapOn() const { return riskMapOn_; }
    /// The map shown (it matches the active trajectory), if any.
    [[nodiscard]] const SkinRiskMap* riskMap() const;
    /// Entry and tip of the active trajectory (LPS mm).
    [[nodiscard]] std::optional<std::pair<glm::dvec3, glm::dvec3>> activeEntryTip() const;
    /// Each trajectory's projection onto a slice (thin), the part within the slice (thick), where
    /// it crosses the plane, and its entry and target.
    void drawSliceOverlay(ImDrawList* dl, const render::SliceView& view,
                          const render::ViewportRect& rect) const;
    /// The "Plan" tab of the side panel.
    void drawPanel();
    /// Undo / redo buttons (with the edit's label) for the toolbar.
    void drawToolbarButtons();
    /// Open / save-as dialogs and the autosave recovery prompt.
    void drawModals(float width, float height);

    // ---- state for reports ----------------------------------------------------------------------
    [[nodiscard]] const model::Plan& plan() const { return history_.current(); }
    [[nodiscard]] const planning::PlanHistory& history() const { return history_; }
    [[nodiscard]] const planning::PlanEvaluation& evaluation() const { return evaluation_; }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] const std::string& activeName() const { return active_; }
    [[nodiscard]] const std::vector<std::string>& seriesWarnings() const { return seriesWarnings_; }
    [[nodiscard]] bool recoveryPending() const { return recovery_.has_value(); }
    [[nodiscard]] const std::vector<model::PlanLandmark>& landmarks() const { return landmarks_; }

private:
    void commit(model::Plan next, std::string label);
    void changed(); // the plan, active trajectory or scene changed: re-evaluate, redraw
    void checkSeries();
    void reevaluate();
    void rebuildOverlays(render::Context& ctx);
    [[nodiscard]] int activeIndex() const;
    [[nodiscard]] const planning::TrajectoryEvaluation* evaluationOf(const std::string& name) const;
    [[nodiscard]] std::string uniqueName(const std::string& base) const;
    void error(std::string message);
    void drawActive();

    planning::PlanHistory history_{model::Plan{}};
    std::filesystem::path path_;
    std::string active_; // name of the active trajectory; empty: none
    PickMode pickMode_ = PickMode::None;

    // The case.
    bool caseOpen_ = false;
    model::SeriesReference caseSeries_;
    std::vector<model::PlanLandmark> landmarks_;
    std::shared_ptr<const planning::SafetyScene> scene_;
    std::unique_ptr<BackgroundTask<planning::SafetyScene>> sceneTask_;
    std::string sceneNote_;
    // What the scene is built from: the case's labels and structures (their own roles) and the
    // plan's role overrides the current build used.
    std::shared_ptr<const model::LabelMap> sceneLabels_;
    std::vector<model::Structure> sceneStructures_;
    std::vector<model::StructureRoleOverride> sceneRoles_;
    void rebuildScene();
    std::unique_ptr<BackgroundTask<planning::TemplateResult>> proposeTask_;
    bool riskMapOn_ = false;
    std::unique_ptr<BackgroundTask<SkinRiskMap>> riskTask_;
    std::optional<SkinRiskMap> riskMap_;
    std::shared_ptr<const render::GpuMesh> riskGpu_;

    planning::PlanEvaluation evaluation_;
    std::vector<render::Drawable> drawables_;
    bool dirtyViews_ = true;
    std::vector<std::string> seriesWarnings_;
    std::optional<model::Plan> recovery_;
    std::optional<std::filesystem::path> seriesToLoad_;
    std::optional<glm::dvec3> focus_;
    std::vector<std::string> errors_;
    std::optional<std::string> statusLine_;
    std::chrono::steady_clock::time_point lastAutosave_ = std::chrono::steady_clock::now();
    std::size_t autosavedEdits_ = 0, edits_ = 0;

    // Panel state.
    int procedure_ = 0;
    std::string level_ = "L4";
    int side_ = 0;                  // left, right
    std::string templateDevice_;    // empty: the template's default
    std::string manualDevice_ = "spinal-22g";
    std::string dialogPath_;
    bool openDialog_ = false, saveDialog_ = false;
    glm::dvec3 editEntry_{0.0}, editTarget_{0.0}; // typed coordinates, committed when done
};

} // namespace precis::gui
