#include "gui/GuiApp.h"

#include "anatomy/IsoSurface.h"
#include "core/Log.h"
#include "export/PlanFile.h"
#include "gui/CaseLoader.h"
#include "gui/ExportPanel.h"
#include "gui/GlfwWindow.h"
#include "gui/ImGuiLayer.h"
#include "gui/ClipControls.h"
#include "gui/Measurements.h"
#include "gui/PacsWindow.h"
#include "gui/Picking.h"
#include "gui/Planner.h"
#include "gui/SeriesBrowser.h"
#include "gui/Settings.h"
#include "gui/StructureImport.h"
#include "gui/Widgets.h"
#include "model/Structure.h"
#include "render/Camera.h"
#include "render/Context.h"
#include "render/Image.h"
#include "render/OrientationLabels.h"
#include "render/GpuVolume.h"
#include "render/SceneRenderer.h"
#include "render/SliceRenderer.h"
#include "render/SliceView.h"
#include "render/SwapchainTarget.h"

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
#include <fmt/core.h>
#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace precis::gui {

namespace {

constexpr float kSidePanelWidth = 340.0f;
constexpr float kToolbarHeight = 34.0f;

int reportFailure(const Error& e) {
    std::fprintf(stderr, "precis: %s\n", describe(e).c_str());
    return 1;
}

/// The four panes: the 3D view and the three standard slices.
enum Pane { kPane3d = 0, kPaneAxial = 1, kPaneCoronal = 2, kPaneSagittal = 3, kPaneCount = 4 };
constexpr const char* kPaneNames[kPaneCount] = {"3d", "axial", "coronal", "sagittal"};
constexpr const char* kSideTabs[3] = {"case", "plan", "export"};
/// Slice frame colours (Slicer's convention: axial red, coronal green, sagittal yellow).
const glm::vec4 kSliceColors[3] = {{0.90f, 0.30f, 0.25f, 1.0f}, {0.35f, 0.80f, 0.35f, 1.0f},
                                   {0.95f, 0.85f, 0.25f, 1.0f}};
constexpr float kPaneGap = 4.0f;

/// A structure as the window shows it (display state: colour, opacity, visibility).
struct StructureView {
    model::Structure info;
    std::shared_ptr<const render::GpuMesh> full, lod;
    glm::vec3 color{0.8f};
    float opacity = 1.0f;
    bool visible = true;
    std::size_t triangles = 0;
};

/// Everything the window shows; display state lives here, not in model objects.
struct ViewState {
    std::unique_ptr<CaseLoader> loader;
    std::optional<LoadedCase> loaded;
    std::optional<Error> loadError;
    std::vector<StructureView> structures;
    std::shared_ptr<render::GpuVolume> volumeGpu;
    bool paletteDirty = false;
    std::array<render::SliceView, 3> slices; // axial, coronal, sagittal
    render::SliceDisplay sliceDisplay;
    bool planesIn3d = true;       // slice frames in the 3D view
    bool sliceImagesIn3d = false; // and their images
    render::Camera camera;
    render::ViewPreset preset = render::ViewPreset::Posterior;
    bool cameraMoved = false; // orbited/panned/zoomed away from the preset
    ClipControls clipControls; // Case tab > Clipping
    render::ClipState clip;    // what the 3D view cuts away (from clipControls; picking honours it)
    bool interacting = false; // the 3D camera moves this frame: draw the level-of-detail meshes
    render::ViewportRect content{};            // the area right of the side panel, below the toolbar
    std::array<render::ViewportRect, kPaneCount> panes{};
    float splitX = 0.5f, splitY = 0.5f; // pane split as fractions of the content area
    int maximised = -1;                 // a pane filling the content area, or -1
    int dragPane = -1, dragButton = -1; // the pane a mouse drag started in
    int dragSplitter = 0;               // 1: vertical split line, 2: horizontal, 3: both
    double frameMs = 0;      // CPU time per frame, smoothed
    double frameMsLast = 0;
    std::size_t trianglesDrawn = 0;
    std::string status = "Starting";

    Settings settings = Settings::load();
    SeriesBrowser browser{settings};
    PacsWindow pacs{settings};
    bool importModalPending = false; // open the import report at the next frame
    bool importAcknowledged = false;
    std::vector<std::string> errors; // for scripted runs and GuiRunReport
    std::optional<Error> lastScanError, lastPacsError;
    // Case tab > Structures > Import structures...
    std::unique_ptr<StructureImportTask> structureImport;
    std::string structureImportPath = settings.get("structures.importFolder");
    std::string structureImportSummary;             // the last import's: what came from where
    std::vector<model::ImportWarning> structureImportNotes; // and its report
    std::optional<std::string> structureImportError;

    Planner planner;
    ExportPanel exportPanel;
    bool downTheNeedle = false; // the 3D camera follows the active trajectory, entry -> target
    int sideTab = 0;            // 0 case, 1 plan
    int selectTab = -1;         // a tab to bring forward at the next frame

    // Picking and measuring (after `loaded`: the picker joins its build before the meshes go).
    SurfacePicker picker;
    MeasurementTool measure;
    std::optional<PickInfo> lastPick;  // the last click's
    std::vector<PickInfo> picks;       // every pick of the run (GuiRunReport)
    std::optional<PickInfo> hoverPick; // under the mouse on a slice
    struct PendingPick {
        Ray ray;
        bool forMeasure = false; // the hit becomes a measurement point
    };
    std::optional<PendingPick> pending3d; // a 3D click waiting for the surfaces' BVHs
    bool injectEscape = false;            // scripted "key escape"
    bool keepWindow = false;              // the slice window was remembered: loads keep it
    std::array<int, 2> windowSize{0, 0};  // last non-zero, screen coordinates

    [[nodiscard]] bool busy() const {
        return loader || browser.busy() || pacs.busy() || planner.busy() || pending3d || structureImport;
    }
    [[nodiscard]] bool paneVisible(int p) const { return maximised < 0 || maximised == p; }
};

void startLoad(ViewState& s, std::unique_ptr<CaseLoader> loader) {
    s.loader.reset(); // cancels and joins a load still running
    s.loader = std::move(loader);
    s.loadError.reset();
    s.status = "Loading";
}

model::Bounds sceneBounds(const ViewState& s) {
    model::Bounds b{glm::dvec3(1e300), glm::dvec3(-1e300)};
    bool any = false;
    for (const auto& st : s.structures)
        if (st.full && st.full->indexCount() > 0 && st.info.kind != model::StructureKind::Skin &&
            st.info.kind != model::StructureKind::Fat && st.info.kind != model::StructureKind::Muscle) {
            b.minMm = glm::min(b.minMm, st.full->bounds().minMm);
            b.maxMm = glm::max(b.maxMm, st.full->bounds().maxMm);
            any = true;
        }
    if (any) return b;
    return s.loaded ? s.loaded->geometry.worldBounds() : model::Bounds{};
}

void fitCamera(ViewState& s, render::ViewPreset preset) {
    s.preset = preset;
    s.cameraMoved = false;
    s.downTheNeedle = false;
    const auto& r = s.panes[kPane3d];
    const double aspect = r.height > 0 ? double(r.width) / r.height : 1.0;
    s.camera = render::Camera::fit(sceneBounds(s), preset, aspect);
}

/// "Down the needle": the eye on the active trajectory's line beyond its entry, looking at its
/// tip, as far away as the posterior view frames the scene. False when no trajectory is active.
bool needleCamera(ViewState& s) {
    const auto line = s.planner.activeEntryTip();
    if (!line) return false;
    const auto& [entry, tip] = *line;
    const glm::dvec3 axis = entry - tip;
    if (glm::length(axis) < 1e-6) return false;
    const glm::dvec3 dir = glm::normalize(axis);
    const auto& r = s.panes[kPane3d];
    const double aspect = r.height > 0 ? double(r.width) / r.height : 1.0;
    const render::Camera framed = render::Camera::fit(sceneBounds(s), render::ViewPreset::Posterior, aspect);
    s.camera = framed;
    s.camera.targetLps = tip;
    s.camera.eyeLps = tip + dir * std::max(framed.distanceMm(), glm::length(axis) + 50.0);
    // Superior stays up unless the needle runs along it.
    s.camera.upLps = std::abs(dir.z) > 0.95 ? glm::dvec3(0, -1, 0) : glm::dvec3(0, 0, 1);
    s.downTheNeedle = true;
    s.cameraMoved = false;
    return true;
}

/// Moves each slice plane (along its normal) through `lps`, keeping its zoom and pan.
void slicesThrough(ViewState& s, const glm::dvec3& lps) {
    for (auto& v : s.slices) v.moveAlongNormal(glm::dot(lps - v.centerLps, v.normal()));
}

void fitSlices(ViewState& s) {
    if (!s.loaded) return;
    const render::SliceOrientation o[3] = {render::SliceOrientation::Axial,
                                           render::SliceOrientation::Coronal,
                                           render::SliceOrientation::Sagittal};
    for (int i = 0; i < 3; ++i) {
        const auto& r = s.panes[kPaneAxial + i];
        s.slices[std::size_t(i)] = render::SliceView::standard(
            o[i], s.loaded->geometry, r.height > 0 ? double(r.width) / r.height : 1.0);
    }
}

/// Pane rectangles from the split fractions (or the maximised pane).
void layoutPanes(ViewState& s) {
    const auto& c = s.content;
    if (s.maximised >= 0) {
        for (auto& p : s.panes) p = {};
        s.panes[std::size_t(s.maximised)] = c;
        return;
    }
    const float w0 = std::max(1.0f, std::floor((c.width - kPaneGap) * s.splitX));
    const float h0 = std::max(1.0f, std::floor((c.height - kPaneGap) * s.splitY));
    const float w1 = std::max(1.0f, c.width - kPaneGap - w0), h1 = std::max(1.0f, c.height - kPaneGap - h0);
    const float x1 = c.x + w0 + kPaneGap, y1 = c.y + h0 + kPaneGap;
    s.panes[kPane3d] = {c.x, c.y, w0, h0};
    s.panes[kPaneAxial] = {x1, c.y, w1, h0};
    s.panes[kPaneCoronal] = {c.x, y1, w0, h1};
    s.panes[kPaneSagittal] = {x1, y1, w1, h1};
}

int paneAt(const ViewState& s, float x, float y) {
    for (int p = 0; p < kPaneCount; ++p) {
        const auto& r = s.panes[std::size_t(p)];
        if (r.width > 0 && x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height) return p;
    }
    return -1;
}

/// Keeps a slice inside the volume along its normal.
void clampSlice(const ViewState& s, render::SliceView& v) {
    if (!s.loaded) return;
    const auto& g = s.loaded->geometry;
    const glm::dvec3 n = v.normal();
    double lo = 1e300, hi = -1e300;
    for (int c = 0; c < 8; ++c) {
        const glm::dvec3 p = g.worldFromIndex({(c & 1) ? g.dims[0] - 1.0 : 0.0,
                                               (c & 2) ? g.dims[1] - 1.0 : 0.0,
                                               (c & 4) ? g.dims[2] - 1.0 : 0.0});
        lo = std::min(lo, glm::dot(p - v.centerLps, n));
        hi = std::max(hi, glm::dot(p - v.centerLps, n));
    }
    v.moveAlongNormal(std::clamp(0.0, lo, hi));
}

/// Scrolls a slice pane by whole slices; positive: superior / posterior / patient right.
void scrollSlice(ViewState& s, int pane, double steps) {
    if (!s.loaded || pane < kPaneAxial) return;
    auto& v = s.slices[std::size_t(pane - kPaneAxial)];
    v.moveAlongNormal(-steps * render::sliceStepMm(s.loaded->geometry, v.normal()));
    clampSlice(s, v);
}

void toggleMaximised(ViewState& s, int pane) {
    s.maximised = s.maximised == pane ? -1 : pane;
    layoutPanes(s);
}

/// The label, structure name and CT value at `pick.lps` (the label as given when `label` >= 0).
void describeAt(const ViewState& s, PickInfo& pick, int label = -1) {
    if (!s.loaded) return;
    if (label < 0 && s.loaded->labels) label = valueAt(*s.loaded->labels, pick.lps).value_or(0);
    pick.label = std::max(0, label);
    pick.structure.clear();
    for (const auto& st : s.structures)
        if (pick.label != 0 && st.info.label == pick.label) {
            pick.structure = st.info.name;
            break;
        }
    if (auto hu = valueAt(*s.loaded->volume, pick.lps)) pick.hu = double(*hu);
}

/// What lies under window pixel (x, y) of a slice pane.
PickInfo slicePick(const ViewState& s, int pane, float x, float y) {
    const auto& r = s.panes[std::size_t(pane)];
    PickInfo pick;
    pick.pane = kPaneNames[pane];
    pick.lps = s.slices[std::size_t(pane - kPaneAxial)].worldFromViewport(x - r.x, y - r.y, r.width, r.height);
    describeAt(s, pick);
    return pick;
}

/// A pick is shown (status bar) and, when it is for a measurement, becomes its next point.
void applyPick(ViewState& s, const PickInfo& pick, bool forMeasure) {
    s.lastPick = pick;
    s.picks.push_back(pick);
    s.status = fmt::format("{} pick: {}", pick.pane, describePick(pick));
    if (!forMeasure) return;
    if (auto m = s.measure.addPoint(pick.lps, pick.pane)) {
        s.status = fmt::format("{} {}", measurementTitle(*m), measurementText(*m));
        s.planner.addMeasurement(std::move(*m));
    }
}

/// Casts a waiting 3D click once the surfaces' BVHs are ready (built on first use).
void resolvePicks(ViewState& s) {
    s.picker.poll();
    if (!s.pending3d || !s.loaded) {
        s.pending3d.reset();
        return;
    }
    if (!s.picker.ready()) {
        if (!s.picker.building()) s.picker.prepare(s.loaded->structures);
        return;
    }
    const auto pending = *s.pending3d;
    s.pending3d.reset();
    std::vector<bool> pickable; // what the 3D view shows
    for (const auto& st : s.structures) pickable.push_back(st.visible && st.opacity > 0.01f);
    const auto hit = s.picker.cast(pending.ray, pickable, s.clip);
    if (!hit) {
        s.status = "No visible surface under the cursor";
        return;
    }
    PickInfo pick;
    pick.pane = kPaneNames[kPane3d];
    pick.lps = hit->lps;
    describeAt(s, pick, hit->structure < s.structures.size() ? s.structures[hit->structure].info.label : 0);
    if (hit->structure < s.structures.size()) pick.structure = s.structures[hit->structure].info.name;
    applyPick(s, pick, pending.forMeasure);
}

/// A click (no drag) at window pixel (x, y) of `pane`: the next point of the measurement in
/// progress when measuring (and not `pickOnly`), else a pick. 3D clicks are cast once the
/// surfaces are ready (resolvePicks).
void clickAt(ViewState& s, int pane, float x, float y, bool pickOnly) {
    if (!s.loaded || pane < 0) return;
    const bool forMeasure = !pickOnly && s.measure.mode() != MeasureKind::None;
    if (pane >= kPaneAxial) {
        applyPick(s, slicePick(s, pane, x, y), forMeasure);
        return;
    }
    const auto& r = s.panes[kPane3d];
    if (r.width < 1 || r.height < 1) return;
    s.pending3d = ViewState::PendingPick{
        cameraRay(s.camera, (x - r.x) / r.width, (y - r.y) / r.height, double(r.width) / r.height), forMeasure};
    resolvePicks(s);
}

/// Mouse and keyboard in the panes (radiology conventions): 3D: left drag orbits, right/middle
/// drag pans, wheel zooms. Slices: wheel scrolls slices (Ctrl+wheel zooms), left/middle drag
/// pans, right drag sets window (horizontal) and level (vertical). Double-click or M maximises
/// the pane under the mouse (again, or Esc: back to four). Dragging the gaps resizes the panes.
void handleInput(ViewState& s) {
    ImGuiIO& io = ImGui::GetIO();
    const ImVec2 m = io.MousePos;
    const bool free = !io.WantCaptureMouse;
    const int hovered = free ? paneAt(s, m.x, m.y) : -1;
    s.interacting = false;
    if (io.DisplaySize.x >= 1 && io.DisplaySize.y >= 1) s.windowSize = {int(io.DisplaySize.x), int(io.DisplaySize.y)};
    resolvePicks(s);
    // The slice under the mouse: its LPS point, structure and HU in the status bar.
    s.hoverPick.reset();
    if (hovered >= kPaneAxial && s.loaded) s.hoverPick = slicePick(s, hovered, m.x, m.y);
    // Esc: first drops a measurement in progress, then leaves the measuring tool.
    const bool esc = ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape)) || std::exchange(s.injectEscape, false);
    bool escTaken = false;
    if (esc && !io.WantTextInput && s.measure.mode() != MeasureKind::None) {
        if (!s.measure.cancel()) s.measure.setMode(MeasureKind::None);
        escTaken = true;
    }

    // Plan edits: Ctrl+Z undo, Ctrl+Shift+Z or Ctrl+Y redo (not while typing in a field).
    if (io.KeyCtrl && !io.WantTextInput) {
        if (ImGui::IsKeyPressed('Z', false)) {
            if (io.KeyShift) s.planner.redo();
            else s.planner.undo();
        } else if (ImGui::IsKeyPressed('Y', false)) {
            s.planner.redo();
        }
    }
    if (esc && !escTaken && s.planner.pickMode() != PickMode::None) {
        s.planner.setPickMode(PickMode::None);
        escTaken = true;
    }

    // Splitters: the gaps between the panes.
    if (s.maximised < 0 && free && s.dragPane < 0) {
        const auto& a = s.panes[kPane3d];
        const bool onV = std::abs(m.x - (a.x + a.width + kPaneGap * 0.5f)) <= kPaneGap &&
                         m.y >= s.content.y && m.y < s.content.y + s.content.height;
        const bool onH = std::abs(m.y - (a.y + a.height + kPaneGap * 0.5f)) <= kPaneGap &&
                         m.x >= s.content.x && m.x < s.content.x + s.content.width;
        if (onV || onH) ImGui::SetMouseCursor(onV && onH ? ImGuiMouseCursor_ResizeAll
                                                         : onV ? ImGuiMouseCursor_ResizeEW
                                                               : ImGuiMouseCursor_ResizeNS);
        if (ImGui::IsMouseClicked(0) && (onV || onH)) s.dragSplitter = (onV ? 1 : 0) | (onH ? 2 : 0);
    }
    if (s.dragSplitter) {
        if (!io.MouseDown[0]) {
            s.dragSplitter = 0;
        } else {
            if (s.dragSplitter & 1)
                s.splitX = std::clamp((m.x - s.content.x) / std::max(1.0f, s.content.width), 0.1f, 0.9f);
            if (s.dragSplitter & 2)
                s.splitY = std::clamp((m.y - s.content.y) / std::max(1.0f, s.content.height), 0.1f, 0.9f);
            layoutPanes(s);
        }
        return;
    }

    // Placement: in a pick mode a left click on a slice sets the point; a right click cancels.
    if (s.planner.pickMode() != PickMode::None && hovered >= kPaneAxial) {
        if (ImGui::IsMouseClicked(0)) {
            const auto& r = s.panes[std::size_t(hovered)];
            s.planner.pick(s.slices[std::size_t(hovered - kPaneAxial)].worldFromViewport(
                m.x - r.x, m.y - r.y, r.width, r.height));
            return;
        }
        if (ImGui::IsMouseClicked(1)) {
            s.planner.setPickMode(PickMode::None);
            return;
        }
    }
    for (int b = 0; b < 3; ++b)
        if (ImGui::IsMouseClicked(b) && hovered >= 0 && s.dragPane < 0) {
            s.dragPane = hovered;
            s.dragButton = b;
        }
    // A left click without a drag picks (or places the next measurement point); a drag orbits
    // (3D) or pans (slices).
    if (ImGui::IsMouseReleased(0) && s.dragPane >= 0 && s.dragButton == 0) {
        // (The release ending a double click finds no drag pane: it maximised instead.)
        if (hovered == s.dragPane && io.MouseDragMaxDistanceSqr[0] < 16.0f) clickAt(s, s.dragPane, m.x, m.y, false);
    }
    if (s.dragPane >= 0 && !io.MouseDown[s.dragButton]) s.dragPane = s.dragButton = -1;
    if (hovered >= 0 && ImGui::IsMouseDoubleClicked(0)) {
        toggleMaximised(s, hovered);
        s.dragPane = -1;
        return;
    }
    if (hovered >= 0 && !io.WantCaptureKeyboard) {
        if (esc && !escTaken && s.maximised >= 0) toggleMaximised(s, s.maximised);
        if (ImGui::IsKeyPressed('M')) toggleMaximised(s, hovered);
        if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_UpArrow))) scrollSlice(s, hovered, 1);
        if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_DownArrow))) scrollSlice(s, hovered, -1);
    }

    const ImVec2 d = io.MouseDelta;
    const bool moved = d.x != 0 || d.y != 0;
    if (s.dragPane == kPane3d && moved) {
        const auto& r = s.panes[kPane3d];
        if (s.dragButton == 0) s.camera.orbit(d.x * 0.008, d.y * 0.008); // the model follows the mouse
        else s.camera.pan(d.x / std::max(1.0f, r.height), d.y / std::max(1.0f, r.height));
        s.cameraMoved = s.interacting = true;
    } else if (s.dragPane >= kPaneAxial && moved) {
        auto& v = s.slices[std::size_t(s.dragPane - kPaneAxial)];
        const auto& r = s.panes[std::size_t(s.dragPane)];
        if (s.dragButton == 1) {
            auto& wl = s.sliceDisplay.window;
            wl.widthHu = std::clamp(wl.widthHu + d.x * 4.0, 1.0, 8000.0);
            wl.centerHu = std::clamp(wl.centerHu - d.y * 2.0, -2000.0, 4000.0);
        } else {
            v.pan(d.x / std::max(1.0f, r.height), d.y / std::max(1.0f, r.height));
        }
    }
    // Slice scrolling and window/level also redraw the 3D view (its slice frames move): draw
    // it with the level-of-detail meshes too while that goes on.
    if (s.dragPane >= kPaneAxial && moved) s.interacting = true;
    if (hovered >= 0 && io.MouseWheel != 0) {
        s.interacting = true;
        if (hovered == kPane3d) {
            s.camera.zoom(std::pow(1.12, double(io.MouseWheel)));
            s.cameraMoved = s.interacting = true;
        } else if (io.KeyCtrl) {
            s.slices[std::size_t(hovered - kPaneAxial)].zoom(std::pow(1.12, double(io.MouseWheel)));
        } else {
            scrollSlice(s, hovered, io.MouseWheel > 0 ? 1 : -1);
        }
    }
}

void drawCaseTab(ViewState& s, const render::Context& ctx);
void startStructureImport(ViewState& s, const std::filesystem::path& file);

/// The side panel: the case (series, warnings, structures, display) and the plan, as tabs.
void drawSidePanel(ViewState& s, const render::Context& ctx, float height) {
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(kSidePanelWidth, height));
    ImGui::Begin("Case", nullptr,
                 ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                     ImGuiWindowFlags_NoSavedSettings);
    if (!ImGui::BeginTabBar("sideTabs")) {
        ImGui::End();
        return;
    }
    auto tab = [&](const char* label, int index) {
        const bool open = ImGui::BeginTabItem(label, nullptr,
                                              s.selectTab == index ? ImGuiTabItemFlags_SetSelected : 0);
        if (open) s.sideTab = index;
        return open;
    };
    if (tab("Case", 0)) drawCaseTab(s, ctx); // ends the tab item
    if (tab("Plan", 1)) {
        s.planner.drawPanel();
        ImGui::EndTabItem();
    }
    if (tab("Export", 2)) {
        s.exportPanel.draw(s.planner.plan(), s.loaded ? s.loaded->path : std::filesystem::path{},
                           exporting::builtinDeviceCatalog());
        ImGui::EndTabItem();
    }
    s.selectTab = -1;
    ImGui::EndTabBar();
    ImGui::End();
}

/// Import warnings as bullets; hovering one lists the files concerned.
void drawWarnings(const std::vector<model::ImportWarning>& warnings) {
    for (const auto& w : warnings) {
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.8f, 0.35f, 1));
        ImGui::Bullet();
        ImGui::TextWrapped("%s", w.message.c_str());
        ImGui::PopStyleColor();
        if (ImGui::IsItemHovered() && !w.files.empty()) {
            ImGui::BeginTooltip();
            ImGui::TextDisabled("%s", w.code.c_str());
            for (std::size_t i = 0; i < w.files.size() && i < 20; ++i) ImGui::TextUnformatted(w.files[i].c_str());
            if (w.files.size() > 20) ImGui::Text("... and %zu more", w.files.size() - 20);
            ImGui::EndTooltip();
        }
    }
}

/// Case tab > Structures: "Import structures..." from a DICOM SEG, RTSTRUCT or mesh file, with
/// the last import's report.
void drawStructureImport(ViewState& s) {
    ImGui::Spacing();
    ImGui::TextDisabled("From other tools");
    ImGui::SetNextItemWidth(-1);
    inputTextWithHint("##importStructures", "DICOM SEG, RTSTRUCT or mesh (STL, OBJ, PLY, glTF)",
                      s.structureImportPath);
    ImGui::BeginDisabled(s.structureImport != nullptr || s.structureImportPath.empty());
    if (ImGui::Button("Import structures..."))
        startStructureImport(s, std::filesystem::path(s.structureImportPath));
    ImGui::EndDisabled();
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("Segments of a SEG and ROIs of an RTSTRUCT drawn on this series become structures "
                          "with their own labels (existing labels are kept where they overlap); a mesh "
                          "file is placed as it is, in LPS mm, as a surface the slices cannot show");
    if (s.structureImport) {
        const auto st = s.structureImport->status();
        ImGui::ProgressBar(static_cast<float>(st.fraction), ImVec2(-1.0f, 0.0f), st.stage.c_str());
    }
    if (s.structureImportError) {
        ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "Could not import structures");
        ImGui::TextWrapped("%s", s.structureImportError->c_str());
    } else if (!s.structureImportSummary.empty()) {
        ImGui::TextWrapped("Imported %s", s.structureImportSummary.c_str());
        drawWarnings(s.structureImportNotes);
    }
}

/// The case's structures changed (an import): the planner rebuilds its safety scene.
void structuresChanged(ViewState& s) {
    if (!s.loaded) return;
    std::vector<model::Structure> infos;
    for (const auto& st : s.structures) infos.push_back(st.info);
    s.planner.structuresChanged(s.loaded->labels, std::move(infos));
}

/// A role is the plan's (an undoable plan edit, saved with it); the planner rebuilds its scene.
bool setStructureRole(ViewState& s, std::size_t index, model::StructureRole role) {
    if (index >= s.structures.size() || s.structures[index].info.label == 0) return false;
    const std::string& name = s.structures[index].info.name;
    if (!s.planner.setStructureRole(name, role)) return false;
    s.status = fmt::format("{} is now {}: rebuilding the safety scene", name, toString(role));
    return true;
}

void drawCaseTab(ViewState& s, const render::Context& ctx) {
    if (ImGui::CollapsingHeader("Series", ImGuiTreeNodeFlags_DefaultOpen)) {
        if (s.loaded) {
            const auto& id = s.loaded->identity;
            const auto& g = s.loaded->geometry;
            if (ImGui::BeginTable("series", 2, ImGuiTableFlags_SizingFixedFit)) {
                ImGui::TableSetupColumn("key", ImGuiTableColumnFlags_WidthFixed, 84);
                ImGui::TableSetupColumn("value", ImGuiTableColumnFlags_WidthStretch);
                auto row = [](const char* k, const std::string& v) {
                    ImGui::TableNextRow();
                    ImGui::TableNextColumn();
                    ImGui::TextDisabled("%s", k);
                    ImGui::TableNextColumn();
                    ImGui::TextWrapped("%s", v.c_str());
                };
                row("Patient", displayName(id.patientName));
                row("Patient ID", id.patientId.empty() ? "-" : id.patientId);
                row("Modality", id.modality.empty() ? "-" : id.modality);
                row("Series", id.seriesDescription.empty() ? "-" : id.seriesDescription);
                row("Position", id.patientPosition.empty() ? "-" : id.patientPosition);
                row("Dims", fmt::format("{} x {} x {}", g.dims[0], g.dims[1], g.dims[2]));
                row("Spacing", fmt::format("{:.3g} x {:.3g} x {:.3g} mm", g.spacingMm.x,
                                           g.spacingMm.y, g.spacingMm.z));
                row("Origin", fmt::format("{:.1f}, {:.1f}, {:.1f} (LPS mm)", g.originMm.x,
                                          g.originMm.y, g.originMm.z));
                row("Folder", s.loaded->path.string());
                ImGui::EndTable();
            }
        } else if (!s.loadError) {
            ImGui::TextDisabled(s.loader ? "Loading..." : "No case open");
            if (!s.loader) ImGui::TextWrapped("Open a DICOM folder or query a PACS (toolbar).");
        }
        if (s.loadError) {
            ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "Could not open the series");
            ImGui::TextWrapped("%s", s.loadError->message.c_str());
            if (!s.loadError->detail.empty())
                ImGui::TextDisabled("%s", s.loadError->detail.c_str());
        }
    }
    if (ImGui::CollapsingHeader("Import warnings", ImGuiTreeNodeFlags_DefaultOpen)) {
        if (!s.loaded) {
            ImGui::TextDisabled("-");
        } else if (s.loaded->report.warnings.empty()) {
            ImGui::TextDisabled("None");
        } else {
            drawWarnings(s.loaded->report.warnings);
        }
    }
    if (ImGui::CollapsingHeader("Structures", ImGuiTreeNodeFlags_DefaultOpen)) {
        if (s.structures.empty()) {
            ImGui::TextDisabled("-");
        } else {
            ImGui::TextDisabled("%s", s.loaded ? s.loaded->structureSource.c_str() : "");
            if (ImGui::BeginTable("structures", 4,
                                  ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg |
                                      ImGuiTableFlags_ScrollY,
                                  ImVec2(0, std::min(320.0f, 24.0f + 24.0f * float(s.structures.size()))))) {
                ImGui::TableSetupScrollFreeze(0, 1);
                ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed, 44);
                ImGui::TableSetupColumn("Structure", ImGuiTableColumnFlags_WidthStretch);
                ImGui::TableSetupColumn("Role", ImGuiTableColumnFlags_WidthFixed, 86);
                ImGui::TableSetupColumn("Opacity", ImGuiTableColumnFlags_WidthFixed, 70);
                ImGui::TableHeadersRow();
                for (std::size_t i = 0; i < s.structures.size(); ++i) {
                    auto& st = s.structures[i];
                    ImGui::PushID(static_cast<int>(i));
                    ImGui::TableNextRow();
                    ImGui::TableNextColumn();
                    if (ImGui::Checkbox("##vis", &st.visible)) s.paletteDirty = true;
                    ImGui::SameLine(0, 2);
                    if (ImGui::ColorEdit3("##col", &st.color.r, ImGuiColorEditFlags_NoInputs))
                        s.paletteDirty = true;
                    ImGui::TableNextColumn();
                    ImGui::TextUnformatted(st.info.name.c_str());
                    if (ImGui::IsItemHovered() && st.info.label == 0 && s.loaded && s.loaded->labels)
                        ImGui::SetTooltip("%s, surface only (no label voxels: the slices cannot show it), "
                                          "%zu triangles",
                                          std::string(toString(st.info.kind)).c_str(), st.triangles);
                    else if (ImGui::IsItemHovered())
                        ImGui::SetTooltip("%s, label %d, %zu triangles",
                                          std::string(toString(st.info.kind)).c_str(), int(st.info.label),
                                          st.triangles);
                    ImGui::TableNextColumn();
                    const auto role = s.planner.roleOf(st.info);
                    const ImVec4 roleColor = role == model::StructureRole::MustAvoid ? ImVec4(1, 0.45f, 0.4f, 1)
                                             : role == model::StructureRole::Caution ? ImVec4(1, 0.8f, 0.35f, 1)
                                             : role == model::StructureRole::Target  ? ImVec4(0.4f, 0.9f, 0.5f, 1)
                                                                                     : ImVec4(0.6f, 0.6f, 0.6f, 1);
                    // The role decides what planning avoids: editable where the structure has
                    // voxels (a surface-only import has none to avoid).
                    ImGui::BeginDisabled(st.info.label == 0);
                    ImGui::PushStyleColor(ImGuiCol_Text, roleColor);
                    ImGui::SetNextItemWidth(-1);
                    if (ImGui::BeginCombo("##role", std::string(toString(role)).c_str(), ImGuiComboFlags_NoArrowButton)) {
                        for (auto r : {model::StructureRole::MustAvoid, model::StructureRole::Caution,
                                       model::StructureRole::Target, model::StructureRole::None})
                            if (ImGui::Selectable(std::string(toString(r)).c_str(), r == role) && r != role)
                                setStructureRole(s, i, r);
                        ImGui::EndCombo();
                    }
                    ImGui::PopStyleColor();
                    ImGui::EndDisabled();
                    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
                        ImGui::SetTooltip(st.info.label == 0 ? "A surface without voxels: planning cannot avoid it"
                                                             : "Must-avoid and caution structures are what the "
                                                               "safety checks, suggestions and risk map avoid");
                    ImGui::TableNextColumn();
                    ImGui::SetNextItemWidth(-1);
                    ImGui::SliderFloat("##op", &st.opacity, 0.0f, 1.0f, "%.2f");
                    ImGui::PopID();
                }
                ImGui::EndTable();
            }
            if (ImGui::SmallButton("Show all")) {
                for (auto& st : s.structures) st.visible = true;
                s.paletteDirty = true;
            }
            ImGui::SameLine();
            if (ImGui::SmallButton("Bone only")) {
                for (auto& st : s.structures) st.visible = st.info.kind == model::StructureKind::Bone;
                s.paletteDirty = true;
            }
        }
        if (s.loaded) drawStructureImport(s);
    }
    if (ImGui::CollapsingHeader("Measurements", ImGuiTreeNodeFlags_DefaultOpen)) {
        const auto request = s.measure.drawPanel(s.planner.plan().measurements);
        if (request.removeAll) s.planner.clearMeasurements();
        if (request.remove) s.planner.removeMeasurement(*request.remove);
    }
    if (ImGui::CollapsingHeader("Display")) {
        ImGui::TextDisabled("Device");
        ImGui::TextWrapped("%s", ctx.deviceName().c_str());
        ImGui::Text("Frame: %.1f ms, %zu triangles", s.frameMs, s.trianglesDrawn);
        if (ctx.validationEnabled())
            ImGui::Text("Validation messages: %zu", ctx.validationMessageCount());
        ImGui::SliderFloat("Label overlay", &s.sliceDisplay.labelOpacity, 0.0f, 1.0f, "%.2f");
        ImGui::Checkbox("Slice frames in 3D", &s.planesIn3d);
        ImGui::Checkbox("Slice images in 3D", &s.sliceImagesIn3d);
        ImGui::TextDisabled("3D: left drag orbit, right/middle drag pan,\nwheel zoom. Slices: wheel scroll,\n"
                            "Ctrl+wheel zoom, left drag pan, right drag\nwindow/level. Double-click or M:\n"
                            "maximise a pane; drag the gaps to resize.");
    }
    if (ImGui::CollapsingHeader("Clipping")) s.clipControls.draw(sceneBounds(s), s.slices);
    ImGui::EndTabItem();
}

void drawToolbar(ViewState& s, float x, float width, float height) {
    ImGui::SetNextWindowPos(ImVec2(x, 0));
    ImGui::SetNextWindowSize(ImVec2(width, height));
    ImGui::Begin("##toolbar", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                     ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoScrollWithMouse);
    struct Button {
        const char* label;
        render::ViewPreset preset;
    };
    const Button buttons[] = {{"AP", render::ViewPreset::Anterior},
                              {"PA", render::ViewPreset::Posterior},
                              {"Left", render::ViewPreset::Left},
                              {"Right", render::ViewPreset::Right},
                              {"Oblique", render::ViewPreset::Oblique}};
    if (ImGui::Button("Open...")) s.browser.open();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Open a DICOM folder, DICOMDIR or file");
    ImGui::SameLine();
    if (ImGui::Button("PACS...")) s.pacs.open();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Query and retrieve from a PACS");
    ImGui::SameLine();
    ImGui::TextDisabled("|");
    ImGui::SameLine();
    s.planner.drawToolbarButtons();
    ImGui::SameLine();
    ImGui::TextDisabled("| 3D");
    ImGui::SameLine();
    for (const auto& b : buttons) {
        const bool active = s.preset == b.preset && !s.cameraMoved && !s.downTheNeedle;
        if (active) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
        if (ImGui::Button(b.label)) fitCamera(s, b.preset);
        if (active) ImGui::PopStyleColor();
        ImGui::SameLine();
    }
    {
        const bool active = s.downTheNeedle && !s.cameraMoved;
        if (active) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
        ImGui::BeginDisabled(!s.planner.activeEntryTip());
        if (ImGui::Button("Needle")) needleCamera(s);
        ImGui::EndDisabled();
        if (active) ImGui::PopStyleColor();
        if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
            ImGui::SetTooltip("Down the needle: look from the active trajectory's entry to its target");
        ImGui::SameLine();
    }
    ImGui::TextDisabled("| Window");
    ImGui::SameLine();
    struct Preset {
        const char* label;
        render::WindowLevel window;
    };
    for (const Preset& p : {Preset{"Bone", render::kBoneWindow}, Preset{"Soft tissue", render::kSoftTissueWindow},
                            Preset{"Lung", render::kLungWindow}}) {
        const auto& w = s.sliceDisplay.window;
        const bool active = w.centerHu == p.window.centerHu && w.widthHu == p.window.widthHu;
        if (active) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
        if (ImGui::Button(p.label)) s.sliceDisplay.window = p.window;
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("W %.0f / L %.0f HU", p.window.widthHu, p.window.centerHu);
        if (active) ImGui::PopStyleColor();
        ImGui::SameLine();
    }
    ImGui::TextDisabled("| Layout");
    ImGui::SameLine();
    if (ImGui::Button(s.maximised >= 0 ? "Four panes" : "Maximise 3D"))
        toggleMaximised(s, s.maximised >= 0 ? s.maximised : int(kPane3d));
    ImGui::End();
}

void drawOverlays(ViewState& s) {
    ImDrawList* dl = ImGui::GetBackgroundDrawList(); // over the views, under the ImGui windows
    auto text = [&](const std::string& t, float x, float y) {
        const ImVec2 size = ImGui::CalcTextSize(t.c_str());
        const ImVec2 p(x - size.x * 0.5f, y - size.y * 0.5f);
        dl->AddText(ImVec2(p.x + 1, p.y + 1), IM_COL32(0, 0, 0, 200), t.c_str());
        dl->AddText(p, IM_COL32(235, 235, 235, 255), t.c_str());
    };
    auto letters = [&](const render::EdgeLabels& labels, const render::ViewportRect& r) {
        text(labels.left, r.x + 14, r.y + r.height * 0.5f);
        text(labels.right, r.x + r.width - 14, r.y + r.height * 0.5f);
        text(labels.top, r.x + r.width * 0.5f, r.y + 14);
        text(labels.bottom, r.x + r.width * 0.5f, r.y + r.height - 14);
    };
    auto toIm = [](const glm::vec4& c) {
        return IM_COL32(int(c.r * 255), int(c.g * 255), int(c.b * 255), int(c.a * 255));
    };
    if (const auto& r3 = s.panes[kPane3d]; s.paneVisible(kPane3d) && r3.width > 0 && r3.height > 0) {
        letters(render::edgeLabels(s.camera), r3);
        dl->PushClipRect(ImVec2(r3.x, r3.y), ImVec2(r3.x + r3.width, r3.y + r3.height), true);
        s.measure.draw3d(dl, s.planner.plan().measurements, s.camera.clipFromWorld(double(r3.width) / r3.height), r3);
        dl->PopClipRect();
    }
    for (int i = 0; i < 3 && s.loaded; ++i) {
        const int pane = kPaneAxial + i;
        const auto& r = s.panes[std::size_t(pane)];
        if (!s.paneVisible(pane) || r.width < 1) continue;
        const auto& v = s.slices[std::size_t(i)];
        dl->PushClipRect(ImVec2(r.x, r.y), ImVec2(r.x + r.width, r.y + r.height), true);
        // Where the other two slices cut this one.
        for (int j = 0; j < 3; ++j) {
            if (j == i) continue;
            const auto& o = s.slices[std::size_t(j)];
            if (std::abs(glm::dot(v.normal(), o.normal())) > 0.01) continue;
            const glm::dvec3 q = v.centerLps - o.normal() * glm::dot(v.centerLps - o.centerLps, o.normal());
            const glm::dvec3 dir = glm::cross(v.normal(), o.normal());
            const glm::dvec2 a = v.viewportFromWorld(q - dir * 2000.0, r.width, r.height);
            const glm::dvec2 b = v.viewportFromWorld(q + dir * 2000.0, r.width, r.height);
            glm::vec4 c = kSliceColors[j];
            c.a = 0.6f;
            dl->AddLine(ImVec2(r.x + float(a.x), r.y + float(a.y)), ImVec2(r.x + float(b.x), r.y + float(b.y)),
                        toIm(c), 1.0f);
        }
        s.planner.drawSliceOverlay(dl, v, r);
        // Measurements lying in this slice (within half a slice of its plane).
        const double band = 0.5 * render::sliceStepMm(s.loaded->geometry, v.normal()) + 1e-6;
        s.measure.drawSlice(dl, s.planner.plan().measurements, v, r, band,
                            s.hoverPick && s.hoverPick->pane == kPaneNames[pane] ? std::optional(s.hoverPick->lps)
                                                                               : std::nullopt);
        letters(render::edgeLabels(v), r);
        const glm::dvec3 c = v.centerLps;
        const double pos = i == 0 ? c.z : i == 1 ? c.y : c.x;
        const char axis = i == 0 ? 'S' : i == 1 ? 'P' : 'L';
        const std::string info = fmt::format("{}  {} {:.1f} mm", render::toString(v.orientation), axis, pos);
        dl->AddText(ImVec2(r.x + 8, r.y + 6), toIm(kSliceColors[i]), info.c_str());
        const std::string wl =
            fmt::format("W {:.0f}  L {:.0f}", s.sliceDisplay.window.widthHu, s.sliceDisplay.window.centerHu);
        dl->AddText(ImVec2(r.x + 8, r.y + r.height - ImGui::GetFontSize() - 6), IM_COL32(200, 200, 200, 255),
                    wl.c_str());
        dl->PopClipRect();
        dl->AddRect(ImVec2(r.x, r.y), ImVec2(r.x + r.width, r.y + r.height), toIm(kSliceColors[i]));
    }
    const auto& r = s.content;
    if (s.loader) {
        const auto st = s.loader->status();
        const float w = std::min(420.0f, r.width - 40);
        ImGui::SetNextWindowPos(ImVec2(r.x + (r.width - w) * 0.5f, r.y + r.height * 0.5f - 40));
        ImGui::SetNextWindowSize(ImVec2(w, 0));
        ImGui::Begin("##loading", nullptr,
                     ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                         ImGuiWindowFlags_NoSavedSettings);
        ImGui::TextUnformatted("Opening series");
        ImGui::ProgressBar(static_cast<float>(st.fraction), ImVec2(-1, 0), st.stage.c_str());
        if (ImGui::Button("Cancel")) s.loader->cancel();
        ImGui::End();
    }
}

void drawStatusBar(ViewState& s, float width, float height, float barHeight) {
    ImGui::SetNextWindowPos(ImVec2(0, height - barHeight));
    ImGui::SetNextWindowSize(ImVec2(width, barHeight));
    ImGui::Begin("##status", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                     ImGuiWindowFlags_NoSavedSettings);
    // The slice point under the mouse, else the last click's pick.
    const auto& pick = s.hoverPick ? s.hoverPick : s.lastPick;
    const std::string right = fmt::format(
        "{}{} view{}  |  {:.1f} ms/frame", pick ? describePick(*pick) + "  |  " : std::string(),
        s.downTheNeedle ? std::string_view("down the needle") : render::toString(s.preset),
        s.cameraMoved ? " (moved)" : "", s.frameMs);
    const float rightX = std::max(0.0f, width - ImGui::CalcTextSize(right.c_str()).x - 16);
    // A long message is clipped before the view summary (the full text is in the log and panels).
    const ImVec2 p = ImGui::GetCursorScreenPos();
    ImGui::PushClipRect(p, ImVec2(rightX - 16, p.y + barHeight), true);
    const bool isError = s.loadError || (!s.errors.empty() && s.status == s.errors.back());
    if (isError)
        ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", s.status.c_str());
    else
        ImGui::TextUnformatted(s.status.c_str());
    ImGui::PopClipRect();
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", s.status.c_str());
    ImGui::SameLine(rightX);
    ImGui::TextUnformatted(right.c_str());
    ImGui::End();
}

/// The import report, shown when a loaded series came with warnings: it must be acknowledged
/// before the case can be worked on (the modal blocks the rest of the window).
void drawImportModal(ViewState& s, float width, float height) {
    constexpr const char* kTitle = "Import report###importReport";
    if (s.importModalPending) {
        ImGui::OpenPopup(kTitle);
        s.importModalPending = false;
    }
    ImGui::SetNextWindowSize(ImVec2(std::min(640.0f, width - 60), 0));
    ImGui::SetNextWindowPos(ImVec2(width * 0.5f, height * 0.5f), ImGuiCond_Appearing,
                            ImVec2(0.5f, 0.5f));
    if (!ImGui::BeginPopupModal(kTitle, nullptr,
                                ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoResize))
        return;
    if (s.loaded) {
        const auto& id = s.loaded->identity;
        const std::size_t n = s.loaded->report.warnings.size();
        if (ImGui::BeginTable("id", 2, ImGuiTableFlags_SizingFixedFit)) {
            ImGui::TableSetupColumn("key", ImGuiTableColumnFlags_WidthFixed, 70);
            ImGui::TableSetupColumn("value", ImGuiTableColumnFlags_WidthStretch);
            auto row = [](const char* k, const std::string& v) {
                ImGui::TableNextRow();
                ImGui::TableNextColumn();
                ImGui::TextDisabled("%s", k);
                ImGui::TableNextColumn();
                ImGui::TextWrapped("%s", v.c_str());
            };
            row("Patient", displayName(id.patientName) + "   ID " + orDash(id.patientId));
            row("Series",
                orDash(id.modality) + "  " +
                    (id.seriesDescription.empty() ? "(no description)" : id.seriesDescription));
            row("Folder", s.loaded->path.string());
            ImGui::EndTable();
        }
        ImGui::Spacing();
        warningText(fmt::format("The series was loaded with {} warning{}. Check {} before planning "
                                "(hover for the files concerned).",
                                n, n == 1 ? "" : "s", n == 1 ? "it" : "them"));
        ImGui::Separator();
        // Short lists fit the dialog; long ones scroll.
        const bool scroll = n > 8;
        if (scroll)
            ImGui::BeginChild(
                "warnings", ImVec2(std::min(620.0f, width - 80), std::min(300.0f, height * 0.4f)));
        for (const auto& w : s.loaded->report.warnings) {
            ImGui::Bullet();
            ImGui::TextWrapped("%s", w.message.c_str());
            if (ImGui::IsItemHovered()) {
                ImGui::BeginTooltip();
                ImGui::TextDisabled("%s", w.code.c_str());
                if (w.files.empty()) ImGui::TextUnformatted("(no particular file)");
                for (std::size_t i = 0; i < w.files.size() && i < 20; ++i)
                    ImGui::TextUnformatted(w.files[i].c_str());
                if (w.files.size() > 20) ImGui::Text("... and %zu more", w.files.size() - 20);
                ImGui::EndTooltip();
            }
        }
        if (scroll) ImGui::EndChild();
        ImGui::Separator();
        ImGui::TextDisabled("The warnings stay listed in the side panel.");
    }
    if (ImGui::Button("I have read these warnings", ImVec2(240, 0))) s.importAcknowledged = true;
    if (s.importAcknowledged || !s.loaded) { // also a scripted "acknowledge-import"
        s.importAcknowledged = true;
        ImGui::CloseCurrentPopup();
    }
    ImGui::EndPopup();
}

/// Splits "HOST:PORT:AET" (the host may not contain ':').
bool parsePeer(const std::string& text, std::string& host, int& port, std::string& aet) {
    const auto a = text.find(':');
    const auto b = a == std::string::npos ? a : text.find(':', a + 1);
    if (b == std::string::npos) return false;
    host = text.substr(0, a);
    aet = text.substr(b + 1);
    const std::string p = text.substr(a + 1, b - a - 1);
    if (host.empty() || aet.empty() || p.empty() ||
        p.find_first_not_of("0123456789") != std::string::npos || p.size() > 5)
        return false;
    port = std::stoi(p);
    return true;
}

int paneIndex(const std::string& name) {
    for (int p = 0; p < kPaneCount; ++p)
        if (name == kPaneNames[p]) return p;
    return -1;
}

/// Scripted planning actions (GuiOptions::actions). nullopt: not one of them; otherwise an error
/// message (empty when it ran).
std::optional<std::string> runPlanAction(ViewState& s, const std::string& action) {
    auto arg = [&](const char* prefix) -> std::optional<std::string> {
        const std::string p = prefix;
        if (action.rfind(p, 0) != 0) return std::nullopt;
        return action.substr(p.size());
    };
    auto point = [&](const std::string& rest, glm::dvec3& p) {
        return std::sscanf(rest.c_str(), "%lf %lf %lf", &p.x, &p.y, &p.z) == 3;
    };
    Planner& pl = s.planner;
    if (action == "plan-new") {
        pl.newPlan();
    } else if (auto file = arg("plan-open:")) {
        if (auto r = pl.open(*file); !r) return describe(r.error());
        s.selectTab = 1;
    } else if (action == "plan-save") {
        if (auto r = pl.save(); !r) return describe(r.error());
    } else if (auto out = arg("plan-save:")) {
        if (auto r = pl.saveAs(*out); !r) return describe(r.error());
    } else if (auto words = arg("propose ")) {
        char proc[16] = {}, level[16] = {}, side[16] = {}, device[48] = {};
        const int n = std::sscanf(words->c_str(), "%15s %15s %15s %47s", proc, level, side, device);
        if (n < 3) return "propose: expected PROC LEVEL SIDE [DEVICE]";
        planning::TemplateRequest req;
        req.procedure = proc;
        req.level = level;
        req.side = side;
        if (n == 4) req.deviceId = device;
        if (auto r = pl.propose(req); !r) return describe(r.error());
        s.selectTab = 1;
    } else if (action == "undo") {
        if (!pl.undo()) return "undo: nothing to undo";
    } else if (action == "redo") {
        if (!pl.redo()) return "redo: nothing to redo";
    } else if (auto index = arg("select ")) {
        if (!pl.select(std::size_t(std::atoi(index->c_str())))) return "select: no such trajectory";
    } else if (auto rest = arg("set-target "); rest || (rest = arg("set-entry "))) {
        glm::dvec3 p;
        if (!point(*rest, p)) return "expected X Y Z (LPS mm)";
        pl.setPoint(action.rfind("set-target", 0) == 0 ? PickMode::Target : PickMode::Entry, p);
    } else if (auto name = arg("snap-target ")) {
        if (!pl.snapTarget(*name)) return "snap-target: no landmark " + *name;
    } else if (auto id = arg("device ")) {
        if (!pl.setDevice(*id)) return "device: no active trajectory or unknown device " + *id;
    } else if (action == "delete") {
        if (!pl.removeActive()) return "delete: no active trajectory";
    } else if (auto on = arg("risk-map ")) {
        if (*on != "on" && *on != "off") return "risk-map: on or off";
        pl.setRiskMap(*on == "on");
    } else if (auto mode = arg("pick ")) {
        if (*mode == "target") pl.setPickMode(PickMode::Target);
        else if (*mode == "entry") pl.setPickMode(PickMode::Entry);
        else if (*mode == "none") pl.setPickMode(PickMode::None);
        else return "pick: target, entry or none";
    } else if (auto where = arg("click ")) {
        char pane[16] = {};
        double fx = 0, fy = 0;
        if (std::sscanf(where->c_str(), "%15s %lf %lf", pane, &fx, &fy) != 3) return "click: PANE FX FY";
        const int p = paneIndex(pane);
        if (p < 0 || !s.loaded) return "click: a pane of a loaded case";
        const auto& r = s.panes[std::size_t(p)];
        if (r.width < 1 || r.height < 1) return "click: the " + std::string(pane) + " pane is not shown";
        if (pl.pickMode() == PickMode::None) { // measuring or picking
            clickAt(s, p, r.x + float(fx) * r.width, r.y + float(fy) * r.height, false);
            return std::string();
        }
        if (p < kPaneAxial) return "click: placement needs a slice pane";
        const glm::dvec3 lps = s.slices[std::size_t(p - kPaneAxial)].worldFromViewport(
            fx * r.width, fy * r.height, r.width, r.height);
        if (!pl.pick(lps)) return "click: the planner did not take the point";
    } else if (action == "recover-autosave" || action == "discard-autosave") {
        if (!pl.resolveRecovery(action == "recover-autosave")) return "no autosave is offered";
    } else if (action == "autosave") {
        pl.autosaveNow();
    } else if (action == "view needle") {
        if (!needleCamera(s)) return "view needle: no active trajectory";
    } else if (auto t = arg("tab ")) {
        if (*t != "plan" && *t != "case" && *t != "export") return "tab: case, plan or export";
        s.selectTab = *t == "plan" ? 1 : *t == "export" ? 2 : 0;
    } else {
        return std::nullopt;
    }
    return std::string();
}

/// Scripted picking, measuring and layout actions. nullopt: not one of them; otherwise an error
/// message (empty when it ran).
std::optional<std::string> runMeasureAction(ViewState& s, const std::string& action) {
    char word[16] = {};
    double fx = 0, fy = 0;
    unsigned index = 0;
    if (std::sscanf(action.c_str(), "pick-at %15s %lf %lf", word, &fx, &fy) == 3) {
        const int p = paneIndex(word);
        if (p < 0 || !s.loaded) return "pick-at: a pane of a loaded case";
        const auto& r = s.panes[std::size_t(p)];
        if (r.width < 1 || r.height < 1) return "pick-at: the " + std::string(word) + " pane is not shown";
        clickAt(s, p, r.x + float(fx) * r.width, r.y + float(fy) * r.height, true);
    } else if (std::sscanf(action.c_str(), "measure %15s", word) == 1) {
        auto kind = measureKindFromString(word);
        if (!kind) return "measure: distance, angle or none";
        s.measure.setMode(*kind);
    } else if (action == "key escape") {
        s.injectEscape = true;
    } else if (std::sscanf(action.c_str(), "delete-measurement %u", &index) == 1) {
        if (!s.planner.removeMeasurement(index)) return "delete-measurement: no such measurement";
    } else if (std::sscanf(action.c_str(), "split %lf %lf", &fx, &fy) == 2) {
        if (fx < 0.1 || fx > 0.9 || fy < 0.1 || fy > 0.9) return "split: fractions from 0.1 to 0.9";
        s.splitX = float(fx);
        s.splitY = float(fy);
        layoutPanes(s);
    } else {
        return std::nullopt;
    }
    return std::string();
}

/// The GUI's own scripted actions (series browser, PACS, import report, screenshots).
/// nullopt: not one of them; otherwise an error message (empty when it ran).
std::optional<std::string> runAppAction(ViewState& s, const std::string& action,
                                        std::optional<std::filesystem::path>& screenshot) {
    auto arg = [&](const char* prefix) -> std::optional<std::string> {
        const std::string p = prefix;
        if (action.rfind(p, 0) != 0) return std::nullopt;
        return action.substr(p.size());
    };
    if (auto dir = arg("browse:")) {
        if (dir->empty()) return "browse: needs a folder";
        s.browser.open(*dir);
        s.browser.startScan();
    } else if (auto clip = arg("clip-")) {
        if (auto err = s.clipControls.apply(*clip)) return *err;
    } else if (action == "load-first") {
        auto series = s.browser.firstImageSeries();
        if (!series) return "load-first: the browser lists no image series";
        s.browser.close();
        startLoad(s, std::make_unique<CaseLoader>(std::move(*series), anatomy::kBoneIsoHu));
    } else if (auto peer = arg("pacs-query:"); peer || (peer = arg("pacs-echo:"))) {
        std::string host, aet;
        int port = 0;
        if (!parsePeer(*peer, host, port, aet)) return action + ": expected HOST:PORT:AET";
        s.pacs.open();
        s.pacs.setPeer(host, port, aet);
        if (action.rfind("pacs-echo:", 0) == 0)
            s.pacs.startEcho();
        else
            s.pacs.startQuery();
    } else if (action == "pacs-retrieve-first") {
        if (!s.pacs.selectFirstSeries())
            return "pacs-retrieve-first: the last query found no series";
        s.pacs.startRetrieve();
    } else if (auto source = arg("import-structures:")) {
        if (!s.loaded) return "import-structures: no case is loaded";
        if (source->empty()) return "import-structures: needs a file";
        s.structureImportPath = *source;
        startStructureImport(s, *source); // busy() until it is taken: the next action waits
    } else if (action == "acknowledge-import") {
        if (!s.loaded) return "acknowledge-import: no case is loaded";
        s.importAcknowledged = true;
    } else if (action == "close-windows") {
        s.browser.close();
        s.pacs.close();
    } else if (auto file = arg("screenshot:")) {
        if (file->empty()) return "screenshot: needs a file";
        screenshot = *file;
    } else if (auto r = runMeasureAction(s, action)) {
        return r;
    } else {
        return runPlanAction(s, action);
    }
    return std::string();
}

/// Runs one scripted action (GuiOptions::actions); false when it is not understood.
bool runAction(ViewState& s, GlfwWindow& window, const std::string& action) {
    char verb[32] = {};
    double a = 0, b = 0;
    char word[32] = {};
    const int n = std::sscanf(action.c_str(), "%31s %lf %lf", verb, &a, &b);
    const std::string v = n >= 1 ? verb : "";
    constexpr double kDeg = 3.14159265358979323846 / 180.0;
    if (v == "view" && std::sscanf(action.c_str(), "%*s %31s", word) == 1) {
        auto preset = render::viewPresetFromString(word);
        if (!preset) return false;
        fitCamera(s, *preset);
    } else if (v == "orbit" && n == 3) {
        s.camera.orbit(a * kDeg, b * kDeg);
        s.cameraMoved = true;
    } else if (v == "pan" && n == 3) {
        s.camera.pan(a, b);
        s.cameraMoved = true;
    } else if (v == "zoom" && n == 2 && a > 0) {
        s.camera.zoom(a);
        s.cameraMoved = true;
    } else if ((v == "hide" || v == "show") && std::sscanf(action.c_str(), "%*s %31s", word) == 1) {
        const std::string name = action.substr(v.size() + 1);
        bool found = false;
        for (auto& st : s.structures)
            if (st.info.name == name) st.visible = v == "show", found = true;
        if (!found) return false;
        s.paletteDirty = true;
    } else if (v == "role" && std::sscanf(action.c_str(), "%*s %31s", word) == 1) {
        // "role NAME ROLE": NAME may contain spaces, ROLE is the last word.
        const std::string rest = action.substr(v.size() + 1);
        const auto cut = rest.rfind(' ');
        if (cut == std::string::npos) return false;
        const auto role = model::structureRoleFromString(rest.substr(cut + 1));
        const std::string name = rest.substr(0, cut);
        std::size_t i = 0;
        while (i < s.structures.size() && s.structures[i].info.name != name) ++i;
        if (!role || i == s.structures.size() || !setStructureRole(s, i, *role)) return false;
    } else if (v == "scroll" && std::sscanf(action.c_str(), "%*s %31s %lf", word, &a) == 2) {
        const int pane = paneIndex(word);
        if (pane < kPaneAxial || !s.loaded) return false;
        scrollSlice(s, pane, a);
    } else if (v == "window" && std::sscanf(action.c_str(), "%*s %31s", word) == 1) {
        auto wl = render::windowLevelPreset(word);
        if (!wl) return false;
        s.sliceDisplay.window = *wl;
    } else if (v == "maximise" && std::sscanf(action.c_str(), "%*s %31s", word) == 1) {
        const int pane = paneIndex(word);
        if (pane < 0) return false;
        s.maximised = pane;
        layoutPanes(s);
    } else if (v == "four-panes") {
        s.maximised = -1;
        layoutPanes(s);
    } else if (v == "resize" && n == 3 && a >= 64 && b >= 64) {
        glfwSetWindowSize(window.handle(), int(a), int(b));
    } else if (v == "iconify") {
        glfwIconifyWindow(window.handle());
    } else if (v == "restore") {
        glfwRestoreWindow(window.handle());
    } else {
        return false;
    }
    log::info("gui action: {}", action);
    return true;
}

/// A structure's surfaces on the GPU, shown in its default colour.
Result<StructureView> uploadStructure(render::Context& ctx, const StructureMesh& m) {
    StructureView v;
    v.info = m.info;
    v.color = m.info.defaultColor;
    v.triangles = m.full.triangleCount();
    auto full = render::GpuMesh::upload(ctx, stillMesh(m)); // the still frame's
    if (!full) return std::unexpected(full.error());
    v.full = *full;
    if (!m.lod.empty()) {
        auto lod = render::GpuMesh::upload(ctx, m.lod);
        if (!lod) return std::unexpected(lod.error());
        v.lod = *lod;
    }
    return v;
}

/// Starts importing structures from `file` into the loaded case (Case tab > Structures).
void startStructureImport(ViewState& s, const std::filesystem::path& file) {
    if (!s.loaded) return;
    StructureImportRequest rq;
    rq.file = file;
    rq.seriesInstanceUid = s.loaded->identity.seriesInstanceUid;
    rq.frameOfReferenceUid = s.loaded->identity.frameOfReferenceUid;
    rq.geometry = s.loaded->geometry;
    rq.labels = s.loaded->labels;
    for (const auto& st : s.structures) rq.existing.push_back(st.info);
    s.structureImportError.reset();
    s.structureImportSummary.clear();
    s.structureImportNotes.clear();
    s.structureImport = std::make_unique<StructureImportTask>(
        [rq = std::move(rq)](const Progress& progress) { return importStructures(rq, progress); },
        "Importing structures");
    if (file.has_parent_path()) {
        s.settings.set("structures.importFolder", file.parent_path().string() + "/");
        if (auto saved = s.settings.save(); !saved) log::warn("could not save settings: {}", describe(saved.error()));
    }
}

/// Takes a finished structure import: its structures join the panel, the 3D view, picking and
/// (with their voxels) the label overlay; errors are recorded, the case stays as it was.
void pollStructureImport(ViewState& s, render::Context& ctx) {
    if (!s.structureImport) return;
    const auto st = s.structureImport->status();
    if (!st.finished) {
        s.status = fmt::format("{} ({:.0f}%)", st.stage, st.fraction * 100);
        return;
    }
    auto result = s.structureImport->take();
    s.structureImport.reset();
    if (!result || !s.loaded) return;
    auto failed = [&](const Error& e) {
        s.structureImportError = describe(e);
        s.status = "Could not import structures: " + describe(e);
        s.errors.push_back(s.status);
        log::error("{}", s.status);
    };
    if (!*result) return failed(result->error());
    ImportedStructures& imp = **result;
    std::vector<StructureView> views;
    for (const auto& m : imp.structures) {
        auto v = uploadStructure(ctx, m);
        if (!v) return failed(v.error());
        const bool bulky = m.info.kind == model::StructureKind::Skin || m.info.kind == model::StructureKind::Fat ||
                           m.info.kind == model::StructureKind::Muscle;
        v->opacity = bulky ? 0.3f : 1.0f;
        views.push_back(std::move(*v));
    }
    if (imp.labels) {
        auto volume = render::GpuVolume::upload(ctx, *s.loaded->volume, imp.labels.get());
        if (!volume) return failed(volume.error());
        s.volumeGpu = *volume; // the old one goes through the context's deferred deletion
        s.loaded->labels = imp.labels;
        s.paletteDirty = true;
    }
    s.picker.reset(); // its BVHs (and a build still reading them) belong to the old mesh list
    s.pending3d.reset();
    for (auto& m : imp.structures) s.loaded->structures.push_back(std::move(m));
    for (auto& v : views) s.structures.push_back(std::move(v));
    structuresChanged(s); // planning avoids the imported structures by their roles
    const std::size_t n = imp.structures.size(), nw = imp.report.warnings.size();
    s.status = fmt::format("Imported {} structure{} from {} in {:.1f} s{}", n, n == 1 ? "" : "s",
                           imp.file.filename().string(), imp.seconds,
                           nw ? fmt::format(", {} note{}", nw, nw == 1 ? "" : "s") : "");
    log::info("gui: {}", s.status);
    std::string names;
    for (std::size_t i = s.structures.size() - n; i < s.structures.size(); ++i)
        names += (names.empty() ? "" : ", ") + s.structures[i].info.name;
    s.structureImportSummary = fmt::format("{} ({}): {}", imp.file.string(), imp.format, names);
    s.structureImportNotes = std::move(imp.report.warnings);
}

void pollLoader(ViewState& s, render::Context& ctx, GlfwWindow& window) {
    if (!s.loader) return;
    const auto st = s.loader->status();
    if (!st.finished) {
        s.status = fmt::format("{} ({:.0f}%)", st.stage.empty() ? "Loading" : st.stage, st.fraction * 100);
        return;
    }
    auto result = s.loader->take();
    s.loader.reset();
    if (!result) return;
    if (!*result) {
        s.loadError = result->error();
        s.status = "Could not open the series: " + describe(result->error());
        s.errors.push_back(s.status);
        log::error("{}", s.status);
        return;
    }
    s.picker.reset(); // its BVHs (and a build still reading them) belong to the old meshes
    s.pending3d.reset();
    s.structureImport.reset(); // into the old case
    s.structureImportSummary.clear();
    s.structureImportNotes.clear();
    s.structureImportError.reset();
    s.measure.cancel(); // points on the old series (completed ones belong to the plan, which stays)
    s.lastPick.reset();
    s.loaded = std::move(**result);
    // The old case's GPU objects go through the context's deferred deletion.
    s.structures.clear();
    s.volumeGpu.reset();
    s.importAcknowledged = s.loaded->report.warnings.empty();
    s.importModalPending = !s.importAcknowledged;
    auto fail = [&](const Error& e, const char* what) {
        s.loadError = e;
        s.status = std::string(what) + describe(e);
        s.errors.push_back(s.status);
    };
    for (const auto& m : s.loaded->structures) {
        auto v = uploadStructure(ctx, m);
        if (!v) return fail(v.error(), "Could not show the surface: ");
        // Skin, fat and muscle would hide everything else: shown faint and off at first.
        const bool bulky = m.info.kind == model::StructureKind::Skin || m.info.kind == model::StructureKind::Fat ||
                           m.info.kind == model::StructureKind::Muscle || m.info.kind == model::StructureKind::Custom;
        v->visible = !bulky || s.loaded->structures.size() == 1;
        v->opacity = m.info.kind == model::StructureKind::Canal ? 0.6f : bulky ? 0.3f : 1.0f;
        s.structures.push_back(std::move(*v));
    }
    auto volume = render::GpuVolume::upload(ctx, *s.loaded->volume, s.loaded->labels.get());
    if (!volume) return fail(volume.error(), "Could not show the slices: ");
    s.volumeGpu = *volume;
    s.paletteDirty = true;
    if (!s.keepWindow) // a remembered window stays; else the one that suits the case
        s.sliceDisplay.window = s.loaded->labels ? render::kSoftTissueWindow : render::kBoneWindow;
    fitCamera(s, s.preset);
    fitSlices(s);
    s.planner.caseLoaded(*s.loaded);
    window.setTitle("Precis \xe2\x80\x94 " + displayName(s.loaded->identity.patientName));
    const std::size_t nw = s.loaded->report.warnings.size();
    s.status = fmt::format("Loaded in {:.1f} s: {} structure{}, {} triangles{}", s.loaded->loadSeconds,
                           s.structures.size(), s.structures.size() == 1 ? "" : "s",
                           s.loaded->triangleCount(),
                           nw ? fmt::format(", {} import warning{}", nw, nw == 1 ? "" : "s") : "");
    if (s.loaded->triangleCount() == 0)
        s.status = fmt::format("No bone surface at {} HU in this series", s.loaded->isoHu);
    log::info("gui: loaded {} ({} x {} x {})", s.loaded->path.string(), s.loaded->geometry.dims[0],
              s.loaded->geometry.dims[1], s.loaded->geometry.dims[2]);
}

/// The label overlay follows the structures panel: hidden structures leave the slices too.
void updatePalette(ViewState& s) {
    if (!s.paletteDirty || !s.volumeGpu) return;
    s.paletteDirty = false;
    render::LabelPalette p{};
    for (const auto& st : s.structures) {
        if (st.info.label == 0 || !st.visible) continue;
        const bool bulky = st.info.kind == model::StructureKind::Skin || st.info.kind == model::StructureKind::Fat ||
                           st.info.kind == model::StructureKind::Muscle;
        p[st.info.label] = glm::vec4(st.color, bulky ? 0.3f : 1.0f);
    }
    if (auto r = s.volumeGpu->setPalette(p); !r) {
        s.status = "Could not update the label colours: " + describe(r.error());
        s.errors.push_back(s.status);
    }
}

/// Takes finished planning work (scene, proposals), errors and requests (slices to a target, the
/// plan's series to load); keeps the down-the-needle camera on the active trajectory.
void pollPlanner(ViewState& s, render::Context& ctx, double autosaveIntervalS) {
    s.planner.poll(ctx, autosaveIntervalS);
    if (auto st = s.planner.takeStatus()) s.status = *st;
    else if (s.planner.busy()) s.status = s.planner.progressText();
    for (auto& e : s.planner.takeErrors()) {
        s.status = e;
        s.errors.push_back(std::move(e));
    }
    for (auto& e : s.exportPanel.takeErrors()) {
        s.status = e;
        s.errors.push_back(std::move(e));
    }
    if (auto focus = s.planner.takeFocus(); focus && s.loaded) slicesThrough(s, *focus);
    if (auto dir = s.planner.takeSeriesToLoad(); dir && !s.loader)
        startLoad(s, std::make_unique<CaseLoader>(*dir, anatomy::kBoneIsoHu));
    if (s.downTheNeedle && !s.cameraMoved && !needleCamera(s)) s.downTheNeedle = false;
}

/// Takes finished browser and PACS work: errors are recorded, a retrieved folder is loaded.
void pollWindows(ViewState& s) {
    s.browser.poll();
    if (s.browser.error() &&
        (!s.lastScanError || s.lastScanError->message != s.browser.error()->message)) {
        s.lastScanError = s.browser.error();
        s.errors.push_back("Scan failed: " + describe(*s.lastScanError));
        s.status = s.errors.back();
    } else if (!s.browser.error()) {
        s.lastScanError.reset();
    }
    if (auto folder = s.pacs.poll()) {
        s.pacs.close();
        startLoad(s, std::make_unique<CaseLoader>(*folder, anatomy::kBoneIsoHu));
    }
    if (s.pacs.error() &&
        (!s.lastPacsError || s.lastPacsError->message != s.pacs.error()->message)) {
        s.lastPacsError = s.pacs.error();
        s.errors.push_back(describe(*s.lastPacsError)); // names the PACS itself
        s.status = s.errors.back();
    } else if (!s.pacs.error()) {
        s.lastPacsError.reset();
    }
}

void fillReport(const ViewState& s, GuiRunReport& r) {
    r = {};
    for (const auto& x : s.browser.series())
        r.browserSeries.push_back({x.patientName, x.studyInstanceUid, x.seriesInstanceUid,
                                   x.modality, x.description, x.kind, x.imageCount});
    for (const auto& st : s.pacs.studies())
        for (const auto& se : st.series)
            r.pacsSeries.push_back(
                {st.studyInstanceUid, se.seriesInstanceUid, se.modality, se.numberOfInstances});
    if (s.loaded) {
        r.caseLoaded = true;
        r.loadedDims = {s.loaded->geometry.dims[0], s.loaded->geometry.dims[1],
                        s.loaded->geometry.dims[2]};
        r.loadedSeriesUid = s.loaded->identity.seriesInstanceUid;
        r.loadedPath = s.loaded->path;
        r.loadedTriangles = s.loaded->triangleCount();
        for (const auto& st : s.structures) {
            r.structures.push_back(st.info.name);
            if (st.visible) r.visibleStructures.push_back(st.info.name);
        }
        for (const auto& w : s.structureImportNotes) r.structureImportNotes.push_back(w.code + ": " + w.message);
        for (int i = 0; i < 3; ++i) r.slicePositionsLps[std::size_t(i)] = s.slices[std::size_t(i)].centerLps;
        for (int p = 0; p < kPaneCount; ++p) {
            const auto& q = s.panes[std::size_t(p)];
            r.panes[std::size_t(p)] = {q.x, q.y, q.width, q.height};
        }
        r.window = {s.sliceDisplay.window.centerHu, s.sliceDisplay.window.widthHu};
        r.importWarnings = s.loaded->report.warnings.size();
    }
    r.importAcknowledged = s.importAcknowledged;
    r.errors = s.errors;
    const Planner& pl = s.planner;
    r.sceneReady = pl.sceneReady();
    for (const auto& t : pl.plan().trajectories) {
        GuiRunReport::TrajectoryRow row{t.name, t.procedure, t.level, t.side, t.deviceId, {}, 0,
                                        t.entryLps, t.targetLps, {}};
        for (const auto& e : pl.evaluation().trajectories)
            if (e.name == t.name) {
                row.verdict = std::string(planning::toString(e.verdict));
                row.lengthMm = e.lengthMm;
                for (const auto& c : e.collisions) row.collisions.push_back(c.structure);
            }
        r.trajectories.push_back(std::move(row));
    }
    r.activeTrajectory = pl.activeName();
    r.planPath = pl.path();
    r.planDirty = pl.history().dirty();
    r.undoLabel = pl.history().undoLabel();
    r.redoLabel = pl.history().redoLabel();
    r.planWarnings = pl.seriesWarnings();
    r.recoveryPending = pl.recoveryPending();
    r.downTheNeedle = s.downTheNeedle;
    if (const auto* m = s.planner.riskMap(); m && s.planner.riskMapOn()) {
        r.riskMapVertices = m->patch.positions.size();
        r.riskMapRange = {m->lowRisk, m->highRisk};
    }
    r.clipPlane = s.clip.planeEnabled;
    r.clipBox = s.clip.boxEnabled;
    const auto& pane = s.panes[kPane3d];
    if (auto line = pl.activeEntryTip(); line && pane.width > 0 && pane.height > 0) {
        const glm::dmat4 clip = s.camera.clipFromWorld(double(pane.width) / pane.height);
        auto project = [&](const glm::dvec3& p) {
            const glm::dvec4 c = clip * glm::dvec4(p, 1.0);
            return glm::vec2(pane.x + float((c.x / c.w * 0.5 + 0.5) * pane.width),
                             pane.y + float((c.y / c.w * 0.5 + 0.5) * pane.height));
        };
        const glm::vec2 a = project(line->first), b = project(line->second);
        r.needle3d = {a.x, a.y, b.x, b.y};
    }
    for (const auto& p : s.picks)
        r.picks.push_back({true, p.pane, p.lps, p.label, p.structure, p.hu.has_value(), p.hu.value_or(0.0),
                           describePick(p)});
    if (s.lastPick && !r.picks.empty()) r.lastPick = r.picks.back();
    for (const auto& m : s.planner.plan().measurements)
        r.measurements.push_back({std::string(model::toString(m.kind)), m.pointsLps, model::measurementValue(m), m.pane});
    r.measureMode = std::string(toString(s.measure.mode()));
    r.measuring = s.measure.inProgress();
    r.sideTab = kSideTabs[std::size_t(std::clamp(s.sideTab, 0, 2))];
    r.windowSize = s.windowSize;
    r.split = {s.splitX, s.splitY};
    r.maximisedPane = s.maximised >= 0 ? kPaneNames[s.maximised] : "";
}

/// The layout, window size, slice window and side-panel tab of the last run (Settings).
void restoreLayout(ViewState& s) {
    const Settings& st = s.settings;
    s.splitX = float(std::clamp(st.getDouble("layout.splitX", 0.5), 0.1, 0.9));
    s.splitY = float(std::clamp(st.getDouble("layout.splitY", 0.5), 0.1, 0.9));
    s.maximised = paneIndex(st.get("layout.maximised"));
    const double c = st.getDouble("slice.windowCenterHu", 1e300), w = st.getDouble("slice.windowWidthHu", 1e300);
    if (c > -2000 && c < 4000 && w >= 1 && w <= 8000) {
        s.sliceDisplay.window = {c, w};
        s.keepWindow = true;
    }
    for (int t = 0; t < 3; ++t)
        if (st.get("layout.sideTab") == kSideTabs[t]) s.selectTab = t;
}

void rememberLayout(ViewState& s) {
    Settings& st = s.settings;
    st.set("layout.splitX", fmt::format("{:.4f}", s.splitX));
    st.set("layout.splitY", fmt::format("{:.4f}", s.splitY));
    st.set("layout.maximised", s.maximised >= 0 ? kPaneNames[s.maximised] : "");
    st.set("slice.windowCenterHu", fmt::format("{}", s.sliceDisplay.window.centerHu));
    st.set("slice.windowWidthHu", fmt::format("{}", s.sliceDisplay.window.widthHu));
    st.set("layout.sideTab", kSideTabs[std::size_t(std::clamp(s.sideTab, 0, 2))]);
    if (s.windowSize[0] > 0 && s.windowSize[1] > 0) {
        st.set("window.width", std::to_string(s.windowSize[0]));
        st.set("window.height", std::to_string(s.windowSize[1]));
    }
    if (auto saved = st.save(); !saved) log::warn("gui: could not remember the layout: {}", describe(saved.error()));
}

} // namespace

int runGui(const GuiOptions& options) {
    auto session = GlfwSession::create();
    if (!session) return reportFailure(session.error());

    render::ContextOptions copts;
    copts.validation = options.validation;
    copts.presentation = true;
    copts.instanceExtensions = (*session)->requiredInstanceExtensions();
    auto ctxResult = render::Context::create(copts);
    if (!ctxResult) return reportFailure(ctxResult.error());
    render::Context& ctx = **ctxResult;

    // Without a size asked for, the window opens as large as it was at the end of the last run.
    const Settings remembered = Settings::load();
    const int width = options.width > 0 ? options.width : remembered.getInt("window.width", 1600);
    const int height = options.height > 0 ? options.height : remembered.getInt("window.height", 900);
    auto windowResult = GlfwWindow::create(ctx.instance(), std::clamp(width, 320, 16384),
                                           std::clamp(height, 240, 16384), "Precis");
    if (!windowResult) return reportFailure(windowResult.error());
    GlfwWindow& window = **windowResult;

    int exitCode = 0;
    {
        auto swapchainResult = render::SwapchainTarget::create(ctx, window);
        if (!swapchainResult) return reportFailure(swapchainResult.error());
        render::SwapchainTarget& swapchain = **swapchainResult;
        auto sceneResult = render::SceneRenderer::create(ctx, swapchain.renderPass(), swapchain.samples());
        if (!sceneResult) return reportFailure(sceneResult.error());
        auto slicesResult = render::SliceRenderer::create(ctx, swapchain.renderPass(), 0, swapchain.samples(), false);
        if (!slicesResult) return reportFailure(slicesResult.error());
        auto imguiResult = ImGuiLayer::create(ctx, window.handle(), swapchain);
        if (!imguiResult) return reportFailure(imguiResult.error());
        ImGuiLayer& imgui = **imguiResult;

        ViewState s;
        restoreLayout(s);
        if (!options.seriesPath.empty())
            s.loader = std::make_unique<CaseLoader>(options.seriesPath, anatomy::kBoneIsoHu);
        else
            s.status = "No case open: Open... a DICOM folder, or query a PACS";
        if (!options.planPath.empty()) {
            // `precis PLAN.json`: the plan, and its series unless another was given.
            s.selectTab = 1;
            if (auto opened = s.planner.open(options.planPath); !opened) {
                s.status = "Could not open the plan: " + describe(opened.error());
                s.errors.push_back(s.status);
            }
            if (auto dir = s.planner.takeSeriesToLoad(); dir && !s.loader)
                startLoad(s, std::make_unique<CaseLoader>(*dir, anatomy::kBoneIsoHu));
        }
        s.camera = render::Camera::fit({}, s.preset);
        int framesAfterLoad = 0;
        std::size_t nextAction = 0;
        int settle = 0; // loop iterations left before the next action (let the UI show the last)
        int quietFrames = 0;
        std::optional<std::filesystem::path> actionShot;
        std::vector<std::filesystem::path> shotsWritten;

        while (!window.shouldClose()) {
            if (settle > 0) --settle;
            if (!s.busy() && settle == 0 && !actionShot && nextAction < options.actions.size()) {
                const std::string& action = options.actions[nextAction++];
                settle = 2;
                if (auto err = runAppAction(s, action, actionShot)) {
                    if (!err->empty()) {
                        std::fprintf(stderr, "precis: GUI action '%s' failed: %s\n", action.c_str(),
                                     err->c_str());
                        exitCode = 1;
                        break;
                    }
                    log::info("gui action: {}", action);
                } else if (!runAction(s, window, action)) {
                    std::fprintf(stderr, "precis: unknown GUI action '%s'\n", action.c_str());
                    exitCode = 1;
                    break;
                }
            }
            const VkExtent2D fb = window.framebufferExtent();
            if (fb.width == 0 || fb.height == 0) {
                glfwWaitEventsTimeout(0.1); // minimised: sleep, keep the loader polled
                pollLoader(s, ctx, window);
                pollStructureImport(s, ctx);
                pollWindows(s);
                pollPlanner(s, ctx, options.autosaveIntervalS);
                continue;
            }
            // Interactive runs redraw only after input (a couple of frames, so ImGui settles) or
            // while loading: a CPU renderer (lavapipe) would otherwise burn every core.
            if (options.frames == 0 && !s.busy() && quietFrames >= 2) {
                glfwWaitEvents(); // input, resize, expose or close
                quietFrames = 0;
            } else {
                glfwPollEvents();
                ++quietFrames;
            }
            pollLoader(s, ctx, window);
            pollStructureImport(s, ctx);
            pollWindows(s);
            pollPlanner(s, ctx, options.autosaveIntervalS);
            const auto frameStart = std::chrono::steady_clock::now();

            imgui.newFrame(swapchain);
            const ImGuiIO& io = ImGui::GetIO();
            const float w = io.DisplaySize.x, h = io.DisplaySize.y;
            const float statusHeight = ImGui::GetFrameHeight() + 8;
            const render::ViewportRect content{kSidePanelWidth, kToolbarHeight,
                                               std::max(1.0f, w - kSidePanelWidth),
                                               std::max(1.0f, h - statusHeight - kToolbarHeight)};
            if (content.width != s.content.width || content.height != s.content.height) {
                s.content = content;
                layoutPanes(s);
            }
            handleInput(s);
            s.clip = s.clipControls.state(s.camera); // the view plane follows the camera
            updatePalette(s);
            drawSidePanel(s, ctx, h - statusHeight);
            drawToolbar(s, kSidePanelWidth, std::max(1.0f, w - kSidePanelWidth), kToolbarHeight);
            drawOverlays(s);
            drawStatusBar(s, w, h, statusHeight);
            if (auto series = s.browser.draw(w, h))
                startLoad(s, std::make_unique<CaseLoader>(std::move(*series), anatomy::kBoneIsoHu));
            s.pacs.draw(w, h);
            drawImportModal(s, w, h);
            s.planner.drawModals(w, h);
            ImGui::Render();

            auto frame = swapchain.beginFrame();
            if (!frame) {
                exitCode = reportFailure(frame.error());
                break;
            }
            if (!*frame) continue; // recreated or minimised: draw the next one
            const render::SwapchainFrame& f = **frame;
            // ImGui works in window coordinates; the framebuffer may be larger (HiDPI).
            const float sx = io.DisplayFramebufferScale.x, sy = io.DisplayFramebufferScale.y;
            auto toPixels = [&](const render::ViewportRect& r) {
                return render::ViewportRect{std::floor(r.x * sx), std::floor(r.y * sy),
                                            std::floor(r.width * sx), std::floor(r.height * sy)};
            };
            const render::ViewportRect px3d = toPixels(s.panes[kPane3d]);
            const bool show3d = s.paneVisible(kPane3d) && px3d.width >= 1 && px3d.height >= 1;
            if (show3d) {
                // While the camera moves the decimated meshes at reduced resolution keep the
                // frame interactive; once it stops, a full-size still frame, then one final
                // (MSAA) frame when nothing changes, then the final image is reused.
                std::vector<render::Drawable> drawables;
                for (const auto& st : s.structures) {
                    const auto& mesh = s.interacting && st.lod ? st.lod : st.full;
                    drawables.push_back({mesh, glm::vec4(st.color, st.opacity), st.visible});
                }
                const auto& needles = s.planner.drawables();
                drawables.insert(drawables.end(), needles.begin(), needles.end());
                std::vector<render::SlicePlaneItem> planes;
                if (s.volumeGpu && (s.planesIn3d || s.sliceImagesIn3d))
                    for (int i = 0; i < 3; ++i) {
                        render::SlicePlaneItem p;
                        p.volume = s.volumeGpu;
                        p.view = s.slices[std::size_t(i)];
                        p.display = s.sliceDisplay;
                        p.showImage = s.sliceImagesIn3d;
                        p.frameColor = s.planesIn3d ? kSliceColors[i] : glm::vec4(0.0f);
                        planes.push_back(p);
                    }
                render::Scene scene;
                scene.drawables = drawables;
                scene.planes = planes;
                scene.clip = s.clip;
                if (auto prepared = (*sceneResult)->prepare(
                        f.cmd, scene, s.camera, {std::uint32_t(px3d.width), std::uint32_t(px3d.height)},
                        s.interacting ? render::FrameQuality::Interactive : render::FrameQuality::Progressive);
                    !prepared) {
                    exitCode = reportFailure(prepared.error());
                    break;
                }
                s.trianglesDrawn = (*sceneResult)->lastTriangleCount();
            }
            swapchain.beginRenderPass(f, glm::vec4(0.06f, 0.07f, 0.08f, 1.0f));
            if (show3d) (*sceneResult)->record(f.cmd, px3d);
            if (s.volumeGpu)
                for (int i = 0; i < 3; ++i) {
                    const int pane = kPaneAxial + i;
                    const render::ViewportRect r = toPixels(s.panes[std::size_t(pane)]);
                    if (!s.paneVisible(pane) || r.width < 1 || r.height < 1) continue;
                    (*slicesResult)->record2d(f.cmd, *s.volumeGpu, s.slices[std::size_t(i)], s.sliceDisplay, r);
                }
            imgui.record(f.cmd);
            vkCmdEndRenderPass(f.cmd);

            const bool counting = options.frames > 0 && !s.busy() &&
                                  nextAction >= options.actions.size() && !actionShot;
            const bool lastFrame = counting && framesAfterLoad + 1 >= options.frames;
            render::ImageRgba8 shot;
            const bool wantShot = (lastFrame && !options.screenshotPath.empty()) || actionShot;
            if (auto ended = swapchain.endFrame(f, wantShot ? &shot : nullptr); !ended) {
                exitCode = reportFailure(ended.error());
                break;
            }
            // Recording + waiting for the frame slot (i.e. the GPU's previous frame); idle waits
            // for input are not counted.
            s.frameMsLast = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                                      frameStart).count();
            s.frameMs = s.frameMs == 0 ? s.frameMsLast : 0.9 * s.frameMs + 0.1 * s.frameMsLast;
            if (counting) ++framesAfterLoad;
            if (wantShot) {
                const std::filesystem::path file =
                    actionShot ? *actionShot : options.screenshotPath;
                actionShot.reset();
                if (auto wrote = render::writePng(shot, file); !wrote) {
                    exitCode = reportFailure(wrote.error());
                } else {
                    shotsWritten.push_back(file);
                    std::fprintf(stderr, "precis: wrote screenshot %s (%dx%d)\n", file.c_str(),
                                 shot.width, shot.height);
                }
            }
            if (lastFrame) {
                if (!s.errors.empty() && exitCode == 0) {
                    for (const auto& e : s.errors)
                        std::fprintf(stderr, "precis: %s\n", e.c_str());
                    exitCode = 1; // scripted runs must notice
                }
                break;
            }
        }
        log::info("gui: last frame {:.1f} ms (smoothed {:.1f} ms) on {}", s.frameMsLast, s.frameMs,
                  ctx.deviceName());
        rememberLayout(s);
        if (options.report) {
            fillReport(s, *options.report);
            options.report->screenshots = shotsWritten;
        }
        s.loader.reset(); // cancel and join before the device goes
        vkDeviceWaitIdle(ctx.device());
    }
    if (ctx.validationMessageCount() > 0) {
        for (const auto& m : ctx.validationMessages())
            std::fprintf(stderr, "precis: vulkan validation: %s\n", m.c_str());
        exitCode = 1;
    }
    return exitCode;
}

} // namespace precis::gui
