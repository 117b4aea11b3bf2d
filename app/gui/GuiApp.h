#pragma once
// The planner window: GLFW + Dear ImGui over the Vulkan renderer (engine/render). Only app/ sees
// GLFW and ImGui (DESIGN.md).
#include <array>
#include <glm/glm.hpp>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace precis::gui {

/// What a run ended with, for tests that drive the GUI in-process (GuiOptions::report).
struct GuiRunReport {
    struct BrowserRow {
        std::string patientName, studyInstanceUid, seriesInstanceUid, modality, description, kind;
        int imageCount = 0;
    };
    std::vector<BrowserRow> browserSeries; // the series browser's last scan, in scan order
    struct PacsRow {
        std::string studyInstanceUid, seriesInstanceUid, modality;
        int numberOfInstances = 0;
    };
    std::vector<PacsRow> pacsSeries; // every series of the PACS window's last query
    bool caseLoaded = false;
    std::array<int, 3> loadedDims{0, 0, 0};
    std::string loadedSeriesUid;
    std::filesystem::path loadedPath;
    std::size_t loadedTriangles = 0; // full detail, all structures
    std::vector<std::string> structures;        // names, in the structures panel's order
    std::vector<std::string> visibleStructures; // those shown
    /// The last "Import structures..." report, one "code: message" per note (overlaps, contours on
    /// missing slices, units assumed, surface-only meshes ...); failures are in `errors`.
    std::vector<std::string> structureImportNotes;
    std::array<glm::dvec3, 3> slicePositionsLps{}; // centres of the axial, coronal, sagittal views
    /// Pane rectangles in window pixels (x, y, width, height): 3D, axial, coronal, sagittal;
    /// zero size when another pane is maximised.
    std::array<std::array<float, 4>, 4> panes{};
    std::array<double, 2> window{0, 0}; // slice window centre and width, HU
    std::size_t importWarnings = 0;
    bool importAcknowledged = false;
    // Planning.
    bool sceneReady = false; // the safety scene is built
    struct TrajectoryRow {
        std::string name, procedure, level, side, deviceId;
        std::string verdict; // "green", "amber", "red"; empty when not evaluated
        double lengthMm = 0;
        glm::dvec3 entryLps{0.0}, targetLps{0.0};
        std::vector<std::string> collisions; // unintended, by entry depth
    };
    std::vector<TrajectoryRow> trajectories; // the trajectory list, in plan order
    std::string activeTrajectory;
    std::filesystem::path planPath;
    bool planDirty = false;
    std::string undoLabel, redoLabel;
    std::vector<std::string> planWarnings; // the plan's series missing or different
    bool recoveryPending = false;          // the autosave prompt is up
    bool downTheNeedle = false;            // the 3D camera looks down the active trajectory
    std::size_t riskMapVertices = 0;       // skin points painted by the risk map shown (0: none)
    std::array<float, 2> riskMapRange{};   // risk scores of its green and red ends
    /// The active trajectory's entry and tip projected into the 3D pane (window pixels
    /// x0, y0, x1, y1); zero when none.
    std::array<float, 4> needle3d{};
    bool clipPlane = false, clipBox = false; // the 3D view's clipping plane / box is on
    std::vector<std::string> errors; // load, scan and PACS errors, in the order they happened
    std::vector<std::filesystem::path> screenshots; // written by "screenshot:" actions
    // Picking and measurements.
    struct Pick {
        bool valid = false;     // a pick happened (a 3D click on no surface leaves it false)
        std::string pane;       // "3d", "axial", "coronal", "sagittal"
        glm::dvec3 lps{0.0};    // LPS mm
        int label = 0;          // the label map's at lps (0: none)
        std::string structure;  // the structure under it ("" when none)
        bool hasHu = false;
        double hu = 0;          // the CT value at the nearest voxel
        std::string text;       // as the status bar shows it: "L 1.0 P 2.0 S 3.0 mm · L3 · 400 HU"
    };
    Pick lastPick;
    std::vector<Pick> picks; // every pick of the run, in order (lastPick is the last)
    struct MeasurementRow {
        std::string kind; // "distance" (mm) or "angle" (degrees)
        std::vector<glm::dvec3> pointsLps;
        double value = 0;
        std::string pane; // where it was placed
    };
    std::vector<MeasurementRow> measurements; // completed, in the order they were made
    std::string measureMode;                  // "none", "distance", "angle"
    bool measuring = false;                   // a measurement is in progress
    // Remembered between runs (Settings).
    std::string sideTab;                // "case", "plan", "export"
    std::array<int, 2> windowSize{0, 0}; // window size in screen coordinates at the end
    std::array<float, 2> split{0, 0};    // pane split as fractions of the content area (x, y)
    std::string maximisedPane;           // "" when four panes are shown
};

struct GuiOptions {
    /// Folder (or file) holding the DICOM series to open at start; empty: start without a case
    /// (File > Open or PACS).
    std::filesystem::path seriesPath;
    std::filesystem::path screenshotPath; // written after the last frame when frames > 0
    /// 0 = run until the window is closed. Otherwise exit after N frames, counted once every action
    /// has run and no work is pending (loading, scanning, PACS), so a screenshot shows the result;
    /// writes screenshotPath if set.
    int frames = 0;
    /// Window size; 0: the size the window had at the end of the last run (Settings), else
    /// 1600 x 900. The pane layout, slice window and side-panel tab are always restored.
    int width = 0, height = 0;
    bool validation = false; // also on with PRECIS_VK_VALIDATION=1; any message -> exit code 1
    /// Scripted input for GUI tests. Each action waits until no work is pending (loading,
    /// scanning, PACS) and the previous action has had two frames to show:
    /// "view <preset>", "orbit <yawDeg> <pitchDeg>", "pan <dx> <dy>" (fractions of the view
    /// height), "zoom <factor>", "resize <width> <height>", "iconify", "restore";
    /// "browse:DIR" (series browser on DIR, scanning it), "load-first" (loads the browser's first
    /// image series), "pacs-echo:HOST:PORT:AET", "pacs-query:HOST:PORT:AET" (PACS window, query
    /// everything), "pacs-retrieve-first" (C-GET of the first series found, then load it),
    /// "acknowledge-import" (closes the import report), "import-structures:FILE" (Case tab >
    /// Structures > Import structures...: a DICOM SEG or RTSTRUCT drawn on the loaded series, or a
    /// mesh file in LPS mm, added as structures; waits until it is done; a refused or unreadable
    /// file is an error of the run), "close-windows", "screenshot:FILE"
    /// (this frame as PNG); "hide NAME", "show NAME" (a structure), "role NAME
    /// must-avoid|caution|target|none" (waits for the safety scene's rebuild), "scroll PANE N" (N slices,
    /// PANE axial|coronal|sagittal), "window bone|soft-tissue|lung", "maximise PANE" (also 3d),
    /// "four-panes". Planning: "plan-new", "plan-open:FILE", "plan-save", "plan-save:FILE"
    /// (save as), "propose PROC LEVEL SIDE [DEVICE]" (waits for the proposal), "undo", "redo",
    /// "select N" (trajectory index), "set-target X Y Z", "set-entry X Y Z" (LPS mm), "snap-target
    /// LANDMARK", "device ID", "delete", "pick target|entry|none" (the click mode), "click PANE FX
    /// FY" (a left click at fractions of the pane), "recover-autosave", "discard-autosave",
    /// "autosave", "view needle" (down the active trajectory), "tab case|plan|export" (side panel),
    /// "risk-map on|off" (the active trajectory's skin risk map; waits for it).
    /// Picking and measuring: "click PANE FX FY" also works in the 3d pane and without a pick
    /// mode: it then adds a point to the measurement in progress ("measure distance|angle|none"
    /// picks the tool; 3D points are picks on surfaces), or else picks (GuiRunReport::lastPick);
    /// "pick-at PANE FX FY" always only picks; "key escape" (as the Esc key: cancels a
    /// measurement in progress); "delete-measurement N"; "split FX FY" (the pane split, as
    /// dragging the gaps does: fractions of the content area, 0.1..0.9). Clipping (Case tab >
    /// Clipping): "clip-plane axial|coronal|sagittal|view POS [flip]" (axial keeps S <= POS,
    /// coronal P >= POS, sagittal L >= POS, view the side beyond POS mm from the camera target;
    /// flip keeps the other side), "clip-plane off", "clip-box L0 L1 P0 P1 S0 S1" (LPS mm),
    /// "clip-box off".
    /// An unknown or impossible action fails the run (exit code 1), and so does a load, scan or PACS error in a run with frames > 0.
    std::vector<std::string> actions;
    /// A plan file to open at start (`precis PLAN.json`): its series (plan.series.path) is
    /// loaded with it when seriesPath is empty.
    std::filesystem::path planPath;
    /// Seconds between autosaves of a plan with unsaved edits (0: never).
    double autosaveIntervalS = 30;
    /// Filled at the end of the run when set (tests).
    GuiRunReport* report = nullptr;
};

/// Opens the window and runs until closed (or `frames` are done). Returns the process exit code:
/// 0 ok, 1 failure (message on stderr: no display, no Vulkan device, load failed in a scripted
/// run, screenshot not written, validation messages).
int runGui(const GuiOptions& options);

} // namespace precis::gui
