#pragma once
// The planner window: GLFW + Dear ImGui over the Vulkan renderer (engine/render). Only app/ sees
// GLFW and ImGui (DESIGN.md).
#include <filesystem>
#include <string>
#include <vector>

namespace precis::gui {

struct GuiOptions {
    std::filesystem::path seriesPath;     // folder (or file) holding the DICOM series to open
    std::filesystem::path screenshotPath; // written after the last frame when frames > 0
    /// 0 = run until the window is closed. Otherwise exit after N frames, counted once loading has
    /// finished (or failed), so a screenshot shows the loaded case; writes screenshotPath if set.
    int frames = 0;
    int width = 1600, height = 900;
    bool validation = false; // also on with PRECIS_VK_VALIDATION=1; any message -> exit code 1
    /// Scripted input for GUI tests, one action per frame once loading has finished:
    /// "view <preset>", "orbit <yawDeg> <pitchDeg>", "pan <dx> <dy>" (fractions of the view
    /// height), "zoom <factor>", "resize <width> <height>", "iconify", "restore". An unknown
    /// action fails the run (exit code 1).
    std::vector<std::string> actions;
};

/// Opens the window and runs until closed (or `frames` are done). Returns the process exit code:
/// 0 ok, 1 failure (message on stderr: no display, no Vulkan device, load failed in a scripted
/// run, screenshot not written, validation messages).
int runGui(const GuiOptions& options);

} // namespace precis::gui
