#include "gui/GuiApp.h"

#include "anatomy/IsoSurface.h"
#include "core/Log.h"
#include "gui/CaseLoader.h"
#include "gui/GlfwWindow.h"
#include "gui/ImGuiLayer.h"
#include "gui/PacsWindow.h"
#include "gui/SeriesBrowser.h"
#include "gui/Settings.h"
#include "gui/Widgets.h"
#include "model/Structure.h"
#include "render/Camera.h"
#include "render/Context.h"
#include "render/Image.h"
#include "render/OrientationLabels.h"
#include "render/SceneRenderer.h"
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
constexpr float kToolbarHeight = 36.0f;

int reportFailure(const Error& e) {
    std::fprintf(stderr, "precis: %s\n", describe(e).c_str());
    return 1;
}

/// Everything the window shows; display state lives here, not in model objects.
struct ViewState {
    std::unique_ptr<CaseLoader> loader;
    std::optional<LoadedCase> loaded;
    std::optional<Error> loadError;
    std::shared_ptr<const render::GpuMesh> boneGpu;
    glm::vec4 boneColor{model::defaultColor(model::StructureKind::Bone), 1.0f};
    bool showBone = true;
    render::Camera camera;
    render::ViewPreset preset = render::ViewPreset::Posterior;
    bool cameraMoved = false; // orbited/panned/zoomed away from the preset
    render::ViewportRect viewRect{};
    bool dragging[3] = {false, false, false};
    double frameMs = 0;      // CPU time per frame, smoothed
    double frameMsLast = 0;
    std::string status = "Starting";

    Settings settings = Settings::load();
    SeriesBrowser browser{settings};
    PacsWindow pacs{settings};
    bool importModalPending = false; // open the import report at the next frame
    bool importAcknowledged = false;
    std::vector<std::string> errors; // for scripted runs and GuiRunReport
    std::optional<Error> lastScanError, lastPacsError;

    [[nodiscard]] bool busy() const { return loader || browser.busy() || pacs.busy(); }
};

void startLoad(ViewState& s, std::unique_ptr<CaseLoader> loader) {
    s.loader.reset(); // cancels and joins a load still running
    s.loader = std::move(loader);
    s.loadError.reset();
    s.status = "Loading";
}

void fitCamera(ViewState& s, render::ViewPreset preset) {
    s.preset = preset;
    s.cameraMoved = false;
    model::Bounds b = s.boneGpu ? s.boneGpu->bounds()
                                : (s.loaded ? s.loaded->geometry.worldBounds() : model::Bounds{});
    const double aspect = s.viewRect.height > 0 ? double(s.viewRect.width) / s.viewRect.height : 1.0;
    s.camera = render::Camera::fit(b, preset, aspect);
}

void handleMouse(ViewState& s) {
    ImGuiIO& io = ImGui::GetIO();
    const ImVec2 m = io.MousePos;
    const auto& r = s.viewRect;
    const bool inside = m.x >= r.x && m.y >= r.y && m.x < r.x + r.width && m.y < r.y + r.height;
    for (int b = 0; b < 3; ++b) {
        if (ImGui::IsMouseClicked(b) && inside && !io.WantCaptureMouse) s.dragging[b] = true;
        if (!io.MouseDown[b]) s.dragging[b] = false;
    }
    if (r.height < 1) return;
    const ImVec2 d = io.MouseDelta;
    if (s.dragging[0] && (d.x != 0 || d.y != 0)) {
        s.camera.orbit(d.x * 0.008, d.y * 0.008); // left drag: the model follows the mouse
        s.cameraMoved = true;
    }
    if ((s.dragging[1] || s.dragging[2]) && (d.x != 0 || d.y != 0)) {
        s.camera.pan(d.x / r.height, d.y / r.height); // right/middle drag: pan
        s.cameraMoved = true;
    }
    if (inside && !io.WantCaptureMouse && io.MouseWheel != 0) {
        s.camera.zoom(std::pow(1.12, double(io.MouseWheel)));
        s.cameraMoved = true;
    }
}

void drawSidePanel(ViewState& s, const render::Context& ctx, float height) {
    ImGui::SetNextWindowPos(ImVec2(0, 0));
    ImGui::SetNextWindowSize(ImVec2(kSidePanelWidth, height));
    ImGui::Begin("Case", nullptr,
                 ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                     ImGuiWindowFlags_NoSavedSettings);
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
            for (const auto& w : s.loaded->report.warnings) {
                ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.8f, 0.35f, 1));
                ImGui::Bullet();
                ImGui::TextWrapped("%s", w.message.c_str());
                ImGui::PopStyleColor();
                if (ImGui::IsItemHovered() && !w.files.empty()) {
                    ImGui::BeginTooltip();
                    ImGui::TextDisabled("%s", w.code.c_str());
                    for (std::size_t i = 0; i < w.files.size() && i < 20; ++i)
                        ImGui::TextUnformatted(w.files[i].c_str());
                    if (w.files.size() > 20) ImGui::Text("... and %zu more", w.files.size() - 20);
                    ImGui::EndTooltip();
                }
            }
        }
    }
    if (ImGui::CollapsingHeader("Surfaces", ImGuiTreeNodeFlags_DefaultOpen)) {
        if (s.loaded) {
            ImGui::Checkbox("Bone", &s.showBone);
            ImGui::SameLine();
            ImGui::ColorEdit3("##bonecolor", &s.boneColor.r, ImGuiColorEditFlags_NoInputs);
            ImGui::SameLine();
            ImGui::TextDisabled("%zu triangles at %g HU", s.loaded->boneSurface.triangleCount(),
                                s.loaded->isoHu);
        } else {
            ImGui::TextDisabled("-");
        }
    }
    if (ImGui::CollapsingHeader("Display")) {
        ImGui::TextDisabled("Device");
        ImGui::TextWrapped("%s", ctx.deviceName().c_str());
        ImGui::Text("Frame: %.1f ms", s.frameMs);
        if (ctx.validationEnabled())
            ImGui::Text("Validation messages: %zu", ctx.validationMessageCount());
        ImGui::TextDisabled("Left drag: orbit   Wheel: zoom\nRight/middle drag: pan");
    }
    ImGui::End();
}

void drawToolbar(ViewState& s) {
    ImGui::SetNextWindowPos(ImVec2(s.viewRect.x, s.viewRect.y));
    ImGui::SetNextWindowSize(ImVec2(s.viewRect.width, kToolbarHeight));
    ImGui::SetNextWindowBgAlpha(0.35f);
    ImGui::Begin("##toolbar", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                     ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoScrollWithMouse);
    struct Button {
        const char* label;
        render::ViewPreset preset;
    };
    const Button buttons[] = {{"Anterior", render::ViewPreset::Anterior},
                              {"Posterior", render::ViewPreset::Posterior},
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
    for (const auto& b : buttons) {
        const bool active = s.preset == b.preset;
        if (active) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
        if (ImGui::Button(b.label)) fitCamera(s, b.preset);
        if (active) ImGui::PopStyleColor();
        ImGui::SameLine();
    }
    ImGui::End();
}

void drawOverlays(ViewState& s) {
    const auto& r = s.viewRect;
    ImDrawList* dl = ImGui::GetBackgroundDrawList(); // over the 3D view, under the ImGui windows
    const auto labels = render::edgeLabels(s.camera);
    auto text = [&](const std::string& t, float x, float y) {
        const ImVec2 size = ImGui::CalcTextSize(t.c_str());
        const ImVec2 p(x - size.x * 0.5f, y - size.y * 0.5f);
        dl->AddText(ImVec2(p.x + 1, p.y + 1), IM_COL32(0, 0, 0, 200), t.c_str());
        dl->AddText(p, IM_COL32(235, 235, 235, 255), t.c_str());
    };
    text(labels.left, r.x + 14, r.y + r.height * 0.5f);
    text(labels.right, r.x + r.width - 14, r.y + r.height * 0.5f);
    text(labels.top, r.x + r.width * 0.5f, r.y + kToolbarHeight + 12);
    text(labels.bottom, r.x + r.width * 0.5f, r.y + r.height - 12);

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
    const std::string right = fmt::format("{} view{}  |  {:.1f} ms/frame", render::toString(s.preset),
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
    } else if (action == "acknowledge-import") {
        if (!s.loaded) return "acknowledge-import: no case is loaded";
        s.importAcknowledged = true;
    } else if (action == "close-windows") {
        s.browser.close();
        s.pacs.close();
    } else if (auto file = arg("screenshot:")) {
        if (file->empty()) return "screenshot: needs a file";
        screenshot = *file;
    } else {
        return std::nullopt;
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
    s.loaded = std::move(**result);
    s.boneGpu.reset(); // the old case's mesh goes through the context's deferred deletion
    s.importAcknowledged = s.loaded->report.warnings.empty();
    s.importModalPending = !s.importAcknowledged;
    auto gpu = render::GpuMesh::upload(ctx, s.loaded->boneSurface);
    if (!gpu) {
        s.loadError = gpu.error();
        s.status = "Could not show the surface: " + describe(gpu.error());
        s.errors.push_back(s.status);
        return;
    }
    s.boneGpu = *gpu;
    fitCamera(s, s.preset);
    window.setTitle("Precis \xe2\x80\x94 " + displayName(s.loaded->identity.patientName));
    const std::size_t nw = s.loaded->report.warnings.size();
    s.status = fmt::format("Loaded in {:.1f} s: {} triangles{}", s.loaded->loadSeconds,
                           s.loaded->boneSurface.triangleCount(),
                           nw ? fmt::format(", {} import warning{}", nw, nw == 1 ? "" : "s") : "");
    if (s.loaded->boneSurface.empty())
        s.status = fmt::format("No bone surface at {} HU in this series", s.loaded->isoHu);
    log::info("gui: loaded {} ({} x {} x {})", s.loaded->path.string(), s.loaded->geometry.dims[0],
              s.loaded->geometry.dims[1], s.loaded->geometry.dims[2]);
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
        r.loadedTriangles = s.loaded->boneSurface.triangleCount();
        r.importWarnings = s.loaded->report.warnings.size();
    }
    r.importAcknowledged = s.importAcknowledged;
    r.errors = s.errors;
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

    auto windowResult = GlfwWindow::create(ctx.instance(), std::max(320, options.width),
                                           std::max(240, options.height), "Precis");
    if (!windowResult) return reportFailure(windowResult.error());
    GlfwWindow& window = **windowResult;

    int exitCode = 0;
    {
        auto swapchainResult = render::SwapchainTarget::create(ctx, window);
        if (!swapchainResult) return reportFailure(swapchainResult.error());
        render::SwapchainTarget& swapchain = **swapchainResult;
        auto sceneResult = render::SceneRenderer::create(ctx, swapchain.renderPass(), swapchain.samples());
        if (!sceneResult) return reportFailure(sceneResult.error());
        auto imguiResult = ImGuiLayer::create(ctx, window.handle(), swapchain);
        if (!imguiResult) return reportFailure(imguiResult.error());
        ImGuiLayer& imgui = **imguiResult;

        ViewState s;
        if (!options.seriesPath.empty())
            s.loader = std::make_unique<CaseLoader>(options.seriesPath, anatomy::kBoneIsoHu);
        else
            s.status = "No case open: Open... a DICOM folder, or query a PACS";
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
                pollWindows(s);
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
            pollWindows(s);
            const auto frameStart = std::chrono::steady_clock::now();

            imgui.newFrame(swapchain);
            const ImGuiIO& io = ImGui::GetIO();
            const float w = io.DisplaySize.x, h = io.DisplaySize.y;
            const float statusHeight = ImGui::GetFrameHeight() + 8;
            s.viewRect = {kSidePanelWidth, 0, std::max(1.0f, w - kSidePanelWidth),
                          std::max(1.0f, h - statusHeight)};
            handleMouse(s);
            drawSidePanel(s, ctx, h - statusHeight);
            drawToolbar(s);
            drawOverlays(s);
            drawStatusBar(s, w, h, statusHeight);
            if (auto series = s.browser.draw(w, h))
                startLoad(s, std::make_unique<CaseLoader>(std::move(*series), anatomy::kBoneIsoHu));
            s.pacs.draw(w, h);
            drawImportModal(s, w, h);
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
            const render::ViewportRect px{s.viewRect.x * sx, s.viewRect.y * sy, s.viewRect.width * sx,
                                          s.viewRect.height * sy};
            std::vector<render::Drawable> drawables;
            if (s.boneGpu) drawables.push_back({s.boneGpu, s.boneColor, s.showBone});
            swapchain.beginRenderPass(f, glm::vec4(0.06f, 0.07f, 0.08f, 1.0f));
            (*sceneResult)->record(f.cmd, drawables, s.camera, px);
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
