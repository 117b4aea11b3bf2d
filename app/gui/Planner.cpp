#include "gui/Planner.h"

#include "core/Log.h"
#include "export/PlanFile.h"
#include "gui/CaseLoader.h"
#include "gui/Widgets.h"
#include "render/GpuMesh.h"
#include "render/PlanOverlay.h"

#include <fmt/core.h>
#include <imgui.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

namespace precis::gui {

namespace {

constexpr std::array<const char*, 2> kSides = {"left", "right"};

const model::DeviceCatalog& catalog() { return exporting::builtinDeviceCatalog(); }

ImVec4 verdictColor(planning::Verdict v) {
    switch (v) {
    case planning::Verdict::Green: return {0.35f, 0.85f, 0.40f, 1.0f};
    case planning::Verdict::Amber: return {1.00f, 0.75f, 0.20f, 1.0f};
    case planning::Verdict::Red: return {1.00f, 0.38f, 0.33f, 1.0f};
    }
    return {0.7f, 0.7f, 0.7f, 1.0f};
}
const ImVec4 kUnevaluated{0.65f, 0.65f, 0.70f, 1.0f};

ImU32 toU32(ImVec4 c, float alpha) {
    return IM_COL32(int(c.x * 255), int(c.y * 255), int(c.z * 255), int(alpha * 255));
}

std::string upper(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return s;
}

/// A device combo over the catalogue; `allowDefault` adds "(template default)" for "".
bool deviceCombo(const char* label, std::string& id, bool allowDefault) {
    bool changed = false;
    const std::string preview = id.empty() ? "(template default)" : id;
    if (ImGui::BeginCombo(label, preview.c_str())) {
        if (allowDefault && ImGui::Selectable("(template default)", id.empty())) {
            id.clear();
            changed = true;
        }
        for (const auto& d : catalog().devices) {
            if (ImGui::Selectable(d.id.c_str(), d.id == id)) {
                id = d.id;
                changed = true;
            }
            if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", d.name.c_str());
        }
        ImGui::EndCombo();
    }
    return changed;
}

/// Typed LPS coordinates: true once the user finished an edit that changed them.
bool inputLps(const char* label, glm::dvec3& value) {
    ImGui::InputScalarN(label, ImGuiDataType_Double, &value.x, 3, nullptr, nullptr, "%.1f");
    return ImGui::IsItemDeactivatedAfterEdit();
}

/// A separator with a title (ImGui 1.86 has no SeparatorText).
void sectionTitle(const char* title) {
    ImGui::Spacing();
    ImGui::Separator();
    ImGui::TextUnformatted(title);
}

} // namespace

Planner::Planner() = default;
Planner::~Planner() = default; // the tasks cancel and join

void Planner::error(std::string message) {
    log::error("{}", message);
    statusLine_ = message;
    errors_.push_back(std::move(message));
}

// ---- the case ---------------------------------------------------------------------------------

void Planner::caseLoaded(const LoadedCase& c) {
    sceneTask_.reset();
    scene_.reset();
    riskTask_.reset(); // a map of the previous case's skin
    riskMap_.reset();
    riskGpu_.reset();
    caseOpen_ = true;
    caseSeries_ = {c.identity.seriesInstanceUid, c.identity.studyInstanceUid,
                   c.identity.frameOfReferenceUid, c.path.string(), c.identity.patientName,
                   c.identity.patientId};
    landmarks_ = c.landmarks;
    // A fresh, untouched plan belongs to the series just opened.
    const model::Plan& p = history_.current();
    if (path_.empty() && p.trajectories.empty() && !history_.canUndo()) {
        model::Plan fresh = p;
        fresh.series = caseSeries_;
        if (fresh.name.empty()) fresh.name = "Plan";
        history_ = planning::PlanHistory(std::move(fresh));
    }
    checkSeries();
    std::vector<model::Structure> structures;
    for (const auto& m : c.structures) structures.push_back(m.info);
    structuresChanged(c.labels, std::move(structures));
    changed();
}

void Planner::structuresChanged(std::shared_ptr<const model::LabelMap> labels,
                                std::vector<model::Structure> structures) {
    sceneTask_.reset(); // cancels a build of the previous structures
    // Only labelled structures take part (surface-only imports have no voxels to avoid).
    std::erase_if(structures, [](const model::Structure& s) { return s.label == 0; });
    sceneLabels_ = std::move(labels);
    sceneStructures_ = std::move(structures);
    if (!sceneLabels_) {
        sceneNote_ = "No labelled structures beside this series: placement works, safety checks "
                     "and templates do not";
        return;
    }
    sceneNote_.clear();
    rebuildScene();
}

void Planner::rebuildScene() {
    sceneTask_.reset();
    sceneRoles_ = history_.current().structureRoles;
    std::vector<model::Structure> structures = sceneStructures_;
    for (const std::string& name : model::applyStructureRoles(sceneRoles_, structures))
        log::warn("the plan gives \"{}\" a role, but this case has no labelled structure of that "
                  "name",
                  name);
    sceneTask_ = std::make_unique<BackgroundTask<planning::SafetyScene>>(
        [labels = sceneLabels_, structures = std::move(structures)](const Progress& progress) {
            return planning::SafetyScene::build(*labels, structures, {}, progress);
        },
        scene_ ? "Rebuilding safety scene" : "Building safety scene");
}

bool Planner::setStructureRole(const std::string& name, model::StructureRole role) {
    const auto it = std::find_if(sceneStructures_.begin(), sceneStructures_.end(),
                                 [&](const model::Structure& s) { return s.name == name; });
    if (it == sceneStructures_.end()) return false;
    model::Plan next = history_.current();
    std::erase_if(next.structureRoles, [&](const auto& o) { return o.structure == name; });
    if (role != it->role) next.structureRoles.push_back({name, role});
    if (next.structureRoles == history_.current().structureRoles) return true;
    commit(std::move(next), fmt::format("role {} {}", name, model::toString(role)));
    return true;
}

model::StructureRole Planner::roleOf(const model::Structure& structure) const {
    for (const auto& o : history_.current().structureRoles)
        if (o.structure == structure.name) return o.role;
    return structure.role;
}

void Planner::checkSeries() {
    seriesWarnings_.clear();
    const auto& s = history_.current().series;
    if (!caseOpen_) {
        if (!s.path.empty() || !s.seriesInstanceUid.empty())
            seriesWarnings_.push_back(fmt::format(
                "The plan's series{}{} is not open{}: its trajectories cannot be checked until "
                "it is. The plan stays open.",
                s.path.empty() ? "" : " in ", s.path,
                s.path.empty() || std::filesystem::exists(s.path) ? "" : " (the folder is missing)"));
        return;
    }
    if (!s.seriesInstanceUid.empty() && s.seriesInstanceUid != caseSeries_.seriesInstanceUid)
        seriesWarnings_.push_back(fmt::format(
            "This plan was made on series {} but the open series is {}: coordinates may not "
            "match this anatomy. The plan stays open; open its series to check it.",
            s.seriesInstanceUid, caseSeries_.seriesInstanceUid));
}

std::string Planner::progressText() const {
    if (sceneTask_) {
        const auto st = sceneTask_->status();
        return fmt::format("{} ({:.0f}%)", st.stage, st.fraction * 100);
    }
    if (proposeTask_) return "Proposing a trajectory";
    return {};
}

void Planner::poll(render::Context& ctx, double autosaveIntervalS) {
    if (sceneTask_) {
        if (auto r = sceneTask_->take()) {
            sceneTask_.reset();
            if (*r) {
                scene_ = std::make_shared<const planning::SafetyScene>(std::move(**r));
                riskMap_.reset(); // scored against the previous scene
                riskGpu_.reset();
                statusLine_ = fmt::format("Safety scene ready: {} structures in {:.1f} s",
                                          scene_->structures().size(), scene_->buildSeconds());
                changed();
            } else if (r->error().code != ErrorCode::Cancelled) {
                error("Could not build the safety scene: " + describe(r->error()));
            }
        }
    }
    if (proposeTask_) {
        if (auto r = proposeTask_->take()) {
            proposeTask_.reset();
            if (*r) {
                model::Plan next = history_.current();
                planning::addToPlan(next, **r);
                const std::string name = (*r)->trajectory.name;
                commit(std::move(next), "propose " + name);
                active_ = name;
                focus_ = (*r)->trajectory.targetLps;
                statusLine_ = fmt::format("Proposed {} ({})", name,
                                          planning::toString((*r)->evaluation.verdict));
                for (const auto& n : (*r)->notes) log::info("template: {}", n);
            } else {
                error("Could not propose a trajectory: " + describe(r->error()));
            }
        }
    }
    if (riskTask_) {
        if (auto r = riskTask_->take()) {
            riskTask_.reset();
            if (*r) {
                riskMap_ = std::move(**r);
                riskGpu_.reset();
                auto gpu = render::GpuMesh::upload(ctx, riskMap_->patch, riskMap_->colors);
                if (gpu) riskGpu_ = *gpu;
                else error("Could not show the skin risk map: " + describe(gpu.error()));
                statusLine_ = fmt::format("Skin risk map: {} skin points scored in {:.1f} s",
                                          riskMap_->candidates, riskMap_->seconds);
                dirtyViews_ = true;
            } else if (r->error().code != ErrorCode::Cancelled) {
                error("Could not compute the skin risk map: " + describe(r->error()));
                riskMapOn_ = false;
            }
        }
    }
    // A map for the active target and device, computed when either changed.
    if (riskMapOn_ && scene_ && !riskTask_ && riskMap() == nullptr) {
        const int i = activeIndex();
        const auto* device = i >= 0 ? catalog().find(history_.current().trajectories[std::size_t(i)].deviceId) : nullptr;
        if (device != nullptr) {
            riskTask_ = std::make_unique<BackgroundTask<SkinRiskMap>>(
                [scene = scene_, target = history_.current().trajectories[std::size_t(i)].targetLps,
                 device = *device, safety = history_.current().safety](const Progress& p) {
                    return computeSkinRiskMap(*scene, target, device, safety, p);
                },
                "Skin risk map");
        }
    }
    if (dirtyViews_) {
        reevaluate();
        rebuildOverlays(ctx);
        dirtyViews_ = false;
    }
    if (autosaveIntervalS > 0 && edits_ != autosavedEdits_ &&
        std::chrono::steady_clock::now() - lastAutosave_ >=
            std::chrono::duration<double>(autosaveIntervalS))
        autosaveNow();
}

void Planner::autosaveNow() {
    lastAutosave_ = std::chrono::steady_clock::now();
    if (path_.empty() || !history_.dirty()) return;
    if (auto r = exporting::autosavePlan(history_.current(), path_); !r) {
        error("Autosave failed: " + describe(r.error()));
        return;
    }
    autosavedEdits_ = edits_;
    log::info("gui: autosaved {}", exporting::autosavePath(path_).string());
}

// ---- edits ------------------------------------------------------------------------------------

void Planner::commit(model::Plan next, std::string label) {
    history_.commit(std::move(next), std::move(label));
    ++edits_;
    changed();
}

void Planner::changed() {
    dirtyViews_ = true;
    // The plan's roles decide what the scene avoids: rebuild when they changed.
    if (sceneLabels_ && history_.current().structureRoles != sceneRoles_) rebuildScene();
    if (!active_.empty() && history_.current().find(active_) == nullptr) active_.clear();
    if (active_.empty() && !history_.current().trajectories.empty())
        active_ = history_.current().trajectories.back().name;
    if (const auto* t = history_.current().find(active_)) {
        editEntry_ = t->entryLps;
        editTarget_ = t->targetLps;
    }
}

void Planner::newPlan() {
    model::Plan p;
    p.name = "Plan";
    if (caseOpen_) p.series = caseSeries_;
    history_ = planning::PlanHistory(std::move(p));
    path_.clear();
    active_.clear();
    recovery_.reset();
    ++edits_;
    autosavedEdits_ = edits_;
    checkSeries();
    changed();
    statusLine_ = "New plan";
}

Result<void> Planner::open(const std::filesystem::path& file) {
    auto loaded = exporting::loadPlan(file);
    if (!loaded) return std::unexpected(loaded.error());
    history_ = planning::PlanHistory(std::move(*loaded));
    path_ = file;
    active_.clear();
    ++edits_;
    autosavedEdits_ = edits_;
    lastAutosave_ = std::chrono::steady_clock::now();
    recovery_ = exporting::recoverAutosave(file);
    const auto& s = history_.current().series;
    if (!caseOpen_ && !s.path.empty() && std::filesystem::exists(s.path)) seriesToLoad_ = s.path;
    checkSeries();
    changed();
    statusLine_ = fmt::format("Opened {} ({} trajector{})", file.string(),
                              history_.current().trajectories.size(),
                              history_.current().trajectories.size() == 1 ? "y" : "ies");
    for (const auto& w : seriesWarnings_) log::warn("gui: {}", w);
    return {};
}

Result<void> Planner::save() {
    if (path_.empty())
        return fail(ErrorCode::InvalidArgument, "the plan has no file yet: use Save as...");
    return saveAs(path_);
}

Result<void> Planner::saveAs(const std::filesystem::path& file) {
    model::Plan p = history_.current();
    if (p.series.seriesInstanceUid.empty() && caseOpen_) p.series = caseSeries_;
    if (auto r = exporting::savePlan(p, file); !r) return r;
    if (path_ != file && !path_.empty()) exporting::discardAutosave(path_);
    path_ = file;
    history_.markSaved();
    exporting::discardAutosave(file);
    autosavedEdits_ = edits_;
    statusLine_ = "Saved " + file.string();
    return {};
}

Result<void> Planner::propose(const planning::TemplateRequest& request) {
    if (!scene_)
        return fail(ErrorCode::Unsupported,
                    sceneTask_ ? "the safety scene is still being built: propose once it is ready"
                               : "no safety scene: templates need a case with labelled structures");
    if (proposeTask_) return fail(ErrorCode::Unsupported, "a proposal is already running");
    proposeTask_ = std::make_unique<BackgroundTask<planning::TemplateResult>>(
        [scene = scene_, landmarks = landmarks_, request,
         safety = history_.current().safety](const Progress&) {
            return planning::proposeFromTemplate(*scene, landmarks, request, catalog(), safety);
        },
        "Proposing");
    return {};
}

bool Planner::undo() {
    if (!history_.undo()) return false;
    ++edits_;
    changed();
    return true;
}

bool Planner::redo() {
    if (!history_.redo()) return false;
    ++edits_;
    changed();
    return true;
}

std::string Planner::uniqueName(const std::string& base) const {
    for (int i = 1;; ++i) {
        std::string n = fmt::format("{} {}", base, i);
        if (history_.current().find(n) == nullptr) return n;
    }
}

int Planner::activeIndex() const {
    const auto& ts = history_.current().trajectories;
    for (std::size_t i = 0; i < ts.size(); ++i)
        if (ts[i].name == active_) return int(i);
    return -1;
}

void Planner::setPoint(PickMode which, const glm::dvec3& lps) {
    if (which == PickMode::None) return;
    model::Plan next = history_.current();
    const int i = activeIndex();
    if (i < 0) {
        if (which != PickMode::Target) {
            error("Set the target first: no trajectory is active");
            return;
        }
        // A new manual trajectory: the target picked, a provisional entry straight behind it
        // (posterior, the prone approach) until the entry is picked.
        model::Trajectory t;
        t.name = uniqueName("manual");
        t.procedure = "manual";
        t.deviceId = manualDevice_;
        t.targetLps = lps;
        t.entryLps = lps + glm::dvec3(0, 60, 0);
        next.trajectories.push_back(t);
        active_ = t.name;
        commit(std::move(next), "new trajectory " + t.name);
        pickMode_ = PickMode::Entry;
        return;
    }
    auto& t = next.trajectories[std::size_t(i)];
    glm::dvec3& p = which == PickMode::Target ? t.targetLps : t.entryLps;
    if (p == lps) return;
    p = lps;
    const std::string label =
        fmt::format("move {} of {}", which == PickMode::Target ? "target" : "entry", t.name);
    commit(std::move(next), label);
}

bool Planner::pick(const glm::dvec3& lps) {
    if (pickMode_ == PickMode::None) return false;
    const PickMode mode = pickMode_;
    pickMode_ = PickMode::None;
    setPoint(mode, lps); // a new trajectory's target asks for the entry next
    return true;
}

bool Planner::snapTarget(const std::string& landmark) {
    for (const auto& l : landmarks_)
        if (l.name == landmark) {
            if (activeIndex() < 0) {
                setPoint(PickMode::Target, l.lps);
                return true;
            }
            model::Plan next = history_.current();
            auto& t = next.trajectories[std::size_t(activeIndex())];
            t.targetLps = l.lps;
            const std::string label = fmt::format("snap target of {} to {}", t.name, l.name);
            commit(std::move(next), label);
            return true;
        }
    return false;
}

bool Planner::setDevice(const std::string& deviceId) {
    const int i = activeIndex();
    if (i < 0 || catalog().find(deviceId) == nullptr) return false;
    model::Plan next = history_.current();
    auto& t = next.trajectories[std::size_t(i)];
    if (t.deviceId == deviceId) return true;
    t.deviceId = deviceId;
    const std::string label = fmt::format("device of {} to {}", t.name, deviceId);
    commit(std::move(next), label);
    return true;
}

bool Planner::removeActive() {
    const int i = activeIndex();
    if (i < 0) return false;
    model::Plan next = history_.current();
    const std::string name = next.trajectories[std::size_t(i)].name;
    next.trajectories.erase(next.trajectories.begin() + i);
    active_.clear();
    commit(std::move(next), "delete " + name);
    return true;
}

void Planner::addMeasurement(model::PlanMeasurement measurement) {
    model::Plan next = history_.current();
    const std::string label = fmt::format("measure {} {:.1f} {}", model::toString(measurement.kind),
                                          model::measurementValue(measurement),
                                          model::measurementUnit(measurement.kind));
    next.measurements.push_back(std::move(measurement));
    commit(std::move(next), label);
}

bool Planner::removeMeasurement(std::size_t index) {
    model::Plan next = history_.current();
    if (index >= next.measurements.size()) return false;
    next.measurements.erase(next.measurements.begin() + std::ptrdiff_t(index));
    commit(std::move(next), "delete measurement");
    return true;
}

bool Planner::clearMeasurements() {
    model::Plan next = history_.current();
    if (next.measurements.empty()) return false;
    next.measurements.clear();
    commit(std::move(next), "delete all measurements");
    return true;
}

bool Planner::select(std::size_t index) {
    const auto& ts = history_.current().trajectories;
    if (index >= ts.size()) return false;
    active_ = ts[index].name;
    focus_ = ts[index].targetLps;
    changed();
    return true;
}

bool Planner::resolveRecovery(bool recover) {
    if (!recovery_) return false;
    if (recover) {
        model::Plan p = std::move(*recovery_);
        recovery_.reset();
        commit(std::move(p), "recover autosave");
        checkSeries();
        statusLine_ = "Recovered the autosaved changes (not saved yet)";
    } else {
        recovery_.reset();
        exporting::discardAutosave(path_);
        statusLine_ = "Discarded the autosaved changes";
    }
    return true;
}

// ---- evaluation and views ---------------------------------------------------------------------

void Planner::reevaluate() {
    evaluation_ = {};
    if (scene_) evaluation_ = planning::evaluatePlan(*scene_, history_.current(), catalog());
}

const planning::TrajectoryEvaluation* Planner::evaluationOf(const std::string& name) const {
    for (const auto& e : evaluation_.trajectories)
        if (e.name == name) return &e;
    return nullptr;
}

void Planner::rebuildOverlays(render::Context& ctx) {
    drawables_.clear(); // the old meshes go through the context's deferred deletion
    for (auto& m : render::planOverlayMeshes(history_.current(), catalog(), active_)) {
        glm::vec4 color = m.colorRgba;
        if (m.part == render::OverlayMesh::Part::Shaft) {
            // The shaft in its verdict's colour (the active one lighter).
            if (const auto* e = evaluationOf(m.trajectory)) {
                const ImVec4 c = verdictColor(e->verdict);
                color = glm::vec4(c.x, c.y, c.z, 1.0f);
                if (m.trajectory == active_) color = glm::mix(color, glm::vec4(1.0f), 0.3f);
            }
        }
        auto gpu = render::GpuMesh::upload(ctx, m.mesh);
        if (!gpu) {
            error("Could not show the trajectory " + m.trajectory + ": " + describe(gpu.error()));
            continue;
        }
        drawables_.push_back({*gpu, color, true, false}); // never clipped
    }
    // The risk map is painted on the skin: anatomy, so the clipping cuts it.
    if (riskMapOn_ && riskGpu_ && riskMap() != nullptr) drawables_.push_back({riskGpu_, glm::vec4(1.0f), true, true});
}

void Planner::setRiskMap(bool on) {
    if (on == riskMapOn_) return;
    riskMapOn_ = on;
    if (!on) riskTask_.reset(); // cancels a map being computed
    dirtyViews_ = true;
}

const SkinRiskMap* Planner::riskMap() const {
    if (!riskMap_) return nullptr;
    const auto* t = history_.current().find(active_);
    if (t == nullptr || t->targetLps != riskMap_->targetLps || t->deviceId != riskMap_->deviceId) return nullptr;
    return &*riskMap_;
}

std::optional<std::pair<glm::dvec3, glm::dvec3>> Planner::activeEntryTip() const {
    const auto* t = history_.current().find(active_);
    if (t == nullptr) return std::nullopt;
    const auto path = model::devicePath(*t);
    if (path.size() < 2) return std::nullopt;
    return std::make_pair(path.front(), path.back());
}

void Planner::drawSliceOverlay(ImDrawList* dl, const render::SliceView& view,
                               const render::ViewportRect& r) const {
    const double band = 1.5; // mm either side of the plane drawn as "in the slice"
    auto px = [&](const glm::dvec3& p) {
        const glm::dvec2 v = view.viewportFromWorld(p, r.width, r.height);
        return ImVec2(r.x + float(v.x), r.y + float(v.y));
    };
    for (const auto& t : history_.current().trajectories) {
        const auto* e = evaluationOf(t.name);
        const ImVec4 c = e ? verdictColor(e->verdict) : kUnevaluated;
        const bool active = t.name == active_;
        const auto path = model::devicePath(t);
        for (std::size_t i = 0; i + 1 < path.size(); ++i) {
            const glm::dvec3 a = path[i], b = path[i + 1];
            dl->AddLine(px(a), px(b), toU32(c, active ? 0.55f : 0.35f), 1.0f);
            // The part within the slab |distance| <= band.
            const double da = view.distanceMm(a), db = view.distanceMm(b);
            double t0 = 0, t1 = 1;
            if (std::abs(db - da) < 1e-9) {
                if (std::abs(da) > band) continue;
            } else {
                double u0 = (-band - da) / (db - da), u1 = (band - da) / (db - da);
                if (u0 > u1) std::swap(u0, u1);
                t0 = std::max(0.0, u0);
                t1 = std::min(1.0, u1);
                if (t0 > t1) continue;
            }
            dl->AddLine(px(a + (b - a) * t0), px(a + (b - a) * t1), toU32(c, 1.0f), active ? 4.0f : 3.0f);
            if ((da <= 0) != (db <= 0) && std::abs(db - da) > 1e-9) {
                const glm::dvec3 x = a + (b - a) * (da / (da - db));
                dl->AddCircle(px(x), 6.0f, toU32(c, 1.0f), 16, 2.0f);
            }
        }
        // Entry and target: filled within the slab, hollow beyond it.
        auto handle = [&](const glm::dvec3& p, ImU32 col) {
            if (std::abs(view.distanceMm(p)) <= band) dl->AddCircleFilled(px(p), active ? 5.0f : 4.0f, col);
            else dl->AddCircle(px(p), 4.0f, col, 12, 1.0f);
        };
        handle(t.entryLps, IM_COL32(50, 215, 90, 230));
        handle(t.targetLps, IM_COL32(240, 65, 190, 230));
        if (active) {
            const ImVec2 p = px(t.entryLps);
            dl->AddText(ImVec2(p.x + 7, p.y - 7), toU32(c, 1.0f), t.name.c_str());
        }
    }
}

// ---- panel ------------------------------------------------------------------------------------

void Planner::drawToolbarButtons() {
    const bool canUndo = history_.canUndo(), canRedo = history_.canRedo();
    auto shortLabel = [](const std::string& s) {
        return s.size() > 22 ? s.substr(0, 21) + "..." : s;
    };
    ImGui::BeginDisabled(!canUndo);
    const std::string u = canUndo ? "Undo " + shortLabel(history_.undoLabel()) : "Undo";
    if (ImGui::Button((u + "###undo").c_str())) undo();
    if (canUndo && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("Undo %s (Ctrl+Z)", history_.undoLabel().c_str());
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!canRedo);
    const std::string r = canRedo ? "Redo " + shortLabel(history_.redoLabel()) : "Redo";
    if (ImGui::Button((r + "###redo").c_str())) redo();
    if (canRedo && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("Redo %s (Ctrl+Shift+Z or Ctrl+Y)", history_.redoLabel().c_str());
    ImGui::EndDisabled();
}

void Planner::drawPanel() {
    const model::Plan& plan = history_.current();
    ImGui::Text("%s%s", plan.name.empty() ? "Plan" : plan.name.c_str(), history_.dirty() ? " *" : "");
    ImGui::TextDisabled("%s", path_.empty() ? "(not saved yet)" : path_.string().c_str());
    if (ImGui::Button("New")) newPlan();
    ImGui::SameLine();
    if (ImGui::Button("Open...")) {
        openDialog_ = true;
        dialogPath_ = path_.string();
    }
    ImGui::SameLine();
    if (ImGui::Button("Save")) {
        if (path_.empty()) {
            saveDialog_ = true;
        } else if (auto r = save(); !r) {
            error("Could not save the plan: " + describe(r.error()));
        }
    }
    ImGui::SameLine();
    if (ImGui::Button("Save as...")) {
        saveDialog_ = true;
        dialogPath_ = path_.empty() && !caseSeries_.path.empty()
                          ? (std::filesystem::path(caseSeries_.path) / "plan.json").string()
                          : path_.string();
    }
    for (const auto& w : seriesWarnings_) warningText(w);

    if (sceneTask_) {
        const auto st = sceneTask_->status();
        ImGui::ProgressBar(float(st.fraction), ImVec2(-1, 0), st.stage.c_str());
    } else if (scene_) {
        ImGui::TextDisabled("Safety scene: %zu structures", scene_->structures().size());
    } else if (!sceneNote_.empty()) {
        warningText(sceneNote_);
    } else if (!caseOpen_) {
        ImGui::TextDisabled("No case open");
    }

    sectionTitle("Template");
    const auto& names = planning::templateNames();
    const std::string procName(names[std::size_t(procedure_)]);
    ImGui::SetNextItemWidth(110);
    if (ImGui::BeginCombo("##procedure", procName.c_str())) {
        for (std::size_t i = 0; i < names.size(); ++i)
            if (ImGui::Selectable(std::string(names[i]).c_str(), int(i) == procedure_)) procedure_ = int(i);
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    std::set<std::string> levels;
    for (const auto& l : landmarks_)
        if (!l.level.empty() && l.level.find('-') == std::string::npos) levels.insert(l.level);
    if (levels.empty()) levels = {"L1", "L2", "L3", "L4", "L5", "S1"};
    ImGui::SetNextItemWidth(70);
    if (ImGui::BeginCombo("##level", level_.c_str())) {
        for (const auto& l : levels)
            if (ImGui::Selectable(l.c_str(), l == level_)) level_ = l;
        ImGui::EndCombo();
    }
    ImGui::SameLine();
    ImGui::SetNextItemWidth(80);
    ImGui::Combo("##side", &side_, kSides.data(), int(kSides.size()));
    ImGui::SetNextItemWidth(200);
    deviceCombo("Device##template", templateDevice_, true);
    ImGui::BeginDisabled(!scene_ || proposeTask_ != nullptr);
    if (ImGui::Button(proposeTask_ ? "Proposing..." : "Propose")) {
        planning::TemplateRequest req;
        req.procedure = procName;
        req.level = level_;
        req.side = kSides[std::size_t(side_)];
        req.deviceId = templateDevice_;
        if (auto r = propose(req); !r) error("Could not propose: " + describe(r.error()));
    }
    ImGui::EndDisabled();
    if (landmarks_.empty() && caseOpen_)
        ImGui::TextDisabled("This case has no landmarks: templates need them");

    sectionTitle("Trajectories");
    if (plan.trajectories.empty()) ImGui::TextDisabled("None: propose one, or Set target on a slice");
    if (!plan.trajectories.empty() &&
        ImGui::BeginTable("trajectories", 4,
                          ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY,
                          ImVec2(0, std::min(180.0f, 26.0f + 22.0f * float(plan.trajectories.size()))))) {
        ImGui::TableSetupScrollFreeze(0, 1);
        ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed, 44);
        ImGui::TableSetupColumn("Trajectory", ImGuiTableColumnFlags_WidthStretch);
        ImGui::TableSetupColumn("mm", ImGuiTableColumnFlags_WidthFixed, 36);
        ImGui::TableSetupColumn("Device", ImGuiTableColumnFlags_WidthFixed, 86);
        ImGui::TableHeadersRow();
        for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
            const auto& t = plan.trajectories[i];
            const auto* e = evaluationOf(t.name);
            ImGui::PushID(int(i));
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::TextColored(e ? verdictColor(e->verdict) : kUnevaluated, "%s",
                               e ? upper(std::string(planning::toString(e->verdict))).c_str() : "-");
            ImGui::TableNextColumn();
            if (ImGui::Selectable(t.name.c_str(), t.name == active_, ImGuiSelectableFlags_SpanAllColumns))
                select(i);
            ImGui::TableNextColumn();
            ImGui::Text("%.0f", e ? e->lengthMm : glm::length(t.targetLps - t.entryLps));
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(t.deviceId.c_str());
            ImGui::PopID();
        }
        ImGui::EndTable();
    }
    for (const auto& c : evaluation_.conflicts)
        warningText(fmt::format("{} and {} are {:.1f} mm apart", c.first, c.second, c.distanceMm));

    auto modeButton = [&](const char* label, PickMode mode, const char* tip) {
        const bool on = pickMode_ == mode;
        if (on) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
        if (ImGui::Button(label)) pickMode_ = on ? PickMode::None : mode;
        if (on) ImGui::PopStyleColor();
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", tip);
    };
    modeButton("Set target", PickMode::Target,
               "Click a slice to place the active trajectory's target\n(no trajectory active: a new one)");
    ImGui::SameLine();
    modeButton("Set entry", PickMode::Entry, "Click a slice to place the active trajectory's entry");
    ImGui::SameLine();
    ImGui::BeginDisabled(activeIndex() < 0);
    if (ImGui::Button("Delete")) removeActive();
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (ImGui::Button("New##trajectory")) {
        active_.clear();
        pickMode_ = PickMode::Target;
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("A new manual trajectory: click its target on a slice");
    if (pickMode_ != PickMode::None)
        ImGui::TextColored(ImVec4(0.55f, 0.8f, 1.0f, 1), "Click a slice to set the %s (right click: cancel)",
                           pickMode_ == PickMode::Target ? "target" : "entry");
    drawActive();
}

void Planner::drawActive() {
    const int i = activeIndex();
    if (i < 0) return;
    const auto& t = history_.current().trajectories[std::size_t(i)];
    sectionTitle(t.name.c_str());
    ImGui::SetNextItemWidth(-70);
    if (inputLps("Entry", editEntry_)) setPoint(PickMode::Entry, editEntry_);
    ImGui::SetNextItemWidth(-70);
    if (inputLps("Target", editTarget_)) setPoint(PickMode::Target, editTarget_);
    ImGui::TextDisabled("LPS mm");
    if (!landmarks_.empty()) {
        ImGui::SetNextItemWidth(-70);
        if (ImGui::BeginCombo("Snap", "target to landmark...")) {
            for (const auto& l : landmarks_)
                if (ImGui::Selectable(l.name.c_str())) {
                    snapTarget(l.name);
                    break;
                }
            ImGui::EndCombo();
        }
    }
    std::string device = t.deviceId;
    ImGui::SetNextItemWidth(-70);
    if (deviceCombo("Device", device, false)) setDevice(device);
    bool riskOn = riskMapOn_;
    if (ImGui::Checkbox("Skin risk map", &riskOn)) setRiskMap(riskOn);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("Colours the posterior skin by the risk score of the straight path from\n"
                          "each point to this target with this device: clearance to must-avoid and\n"
                          "caution structures along the path, and its length. Green: lowest, red:\n"
                          "highest. Unpainted skin is out of reach or blocked by bone.");
    if (riskMapOn_) {
        ImGui::SameLine();
        if (riskTask_) {
            ImGui::TextDisabled("computing...");
        } else if (const auto* m = riskMap()) {
            ImGui::TextColored(ImVec4(0.15f, 0.75f, 0.25f, 1), "%.1f", m->lowRisk);
            ImGui::SameLine(0, 4);
            ImGui::TextDisabled("to");
            ImGui::SameLine(0, 4);
            ImGui::TextColored(ImVec4(0.9f, 0.15f, 0.1f, 1), "%.1f", m->highRisk);
        }
    }
    const auto* e = evaluationOf(t.name);
    if (!e) {
        ImGui::TextDisabled(scene_ ? "-" : "Not evaluated: no safety scene");
        return;
    }
    ImGui::TextColored(verdictColor(e->verdict), "%s", upper(std::string(planning::toString(e->verdict))).c_str());
    ImGui::SameLine();
    ImGui::TextWrapped("risk %.2f, length %.1f of %.0f mm, %.0f deg to axial", e->riskScore,
                       e->lengthMm, e->usableLengthMm, e->angleToAxialDeg);
    for (const auto& r : e->reasons) {
        ImGui::Bullet();
        ImGui::TextWrapped("%s", r.c_str());
    }
    for (const auto& w : e->warnings) warningText(w);
    if (!e->collisions.empty() || !e->intendedContacts.empty()) {
        ImGui::TextDisabled("Collisions; (tip): intended contact. Depth from entry, mm");
        if (ImGui::BeginTable("collisions", 3, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
            ImGui::TableSetupColumn("Structure", ImGuiTableColumnFlags_WidthStretch);
            ImGui::TableSetupColumn("Entry", ImGuiTableColumnFlags_WidthFixed, 48);
            ImGui::TableSetupColumn("Exit", ImGuiTableColumnFlags_WidthFixed, 48);
            ImGui::TableHeadersRow();
            auto row = [](const planning::Collision& c, bool intended) {
                ImGui::TableNextRow();
                ImGui::TableNextColumn();
                if (intended) ImGui::TextDisabled("%s (tip)", c.structure.c_str());
                else ImGui::TextColored(ImVec4(1, 0.45f, 0.4f, 1), "%s", c.structure.c_str());
                ImGui::TableNextColumn();
                ImGui::Text("%.1f", c.entryDepthMm);
                ImGui::TableNextColumn();
                ImGui::Text("%.1f", c.exitDepthMm);
            };
            for (const auto& c : e->collisions) row(c, false);
            for (const auto& c : e->intendedContacts) row(c, true);
            ImGui::EndTable();
        }
    }
    if (!e->clearances.empty()) {
        ImGui::TextDisabled("Clearances");
        if (ImGui::BeginTable("clearances", 3,
                              ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg | ImGuiTableFlags_ScrollY,
                              ImVec2(0, std::min(200.0f, 26.0f + 22.0f * float(e->clearances.size()))))) {
            ImGui::TableSetupScrollFreeze(0, 1);
            ImGui::TableSetupColumn("Structure", ImGuiTableColumnFlags_WidthStretch);
            ImGui::TableSetupColumn("Role", ImGuiTableColumnFlags_WidthFixed, 70);
            ImGui::TableSetupColumn("Min mm", ImGuiTableColumnFlags_WidthFixed, 52);
            ImGui::TableHeadersRow();
            for (const auto& c : e->clearances) {
                ImGui::TableNextRow();
                ImGui::TableNextColumn();
                ImGui::TextUnformatted(c.structure.c_str());
                ImGui::TableNextColumn();
                ImGui::TextDisabled("%s", std::string(model::toString(c.role)).c_str());
                ImGui::TableNextColumn();
                const bool close = c.role == model::StructureRole::MustAvoid &&
                                   c.minMm < history_.current().safety.amberClearanceMm;
                if (close) ImGui::TextColored(ImVec4(1, 0.75f, 0.2f, 1), "%.1f", c.minMm);
                else ImGui::Text("%.1f", c.minMm);
            }
            ImGui::EndTable();
        }
    }
}

void Planner::drawModals(float width, float height) {
    auto pathDialog = [&](const char* title, bool& openFlag, bool saving) {
        if (openFlag) {
            ImGui::OpenPopup(title);
            openFlag = false;
        }
        ImGui::SetNextWindowSize(ImVec2(std::min(560.0f, width - 60), 0));
        ImGui::SetNextWindowPos(ImVec2(width * 0.5f, height * 0.5f), ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
        if (!ImGui::BeginPopupModal(title, nullptr, ImGuiWindowFlags_NoSavedSettings)) return;
        ImGui::TextUnformatted(saving ? "Save the plan as (JSON):" : "Open a plan file (JSON):");
        ImGui::SetNextItemWidth(-1);
        if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
        const bool enter = inputText("##path", dialogPath_, ImGuiInputTextFlags_EnterReturnsTrue);
        if ((ImGui::Button(saving ? "Save" : "Open", ImVec2(100, 0)) || enter) && !dialogPath_.empty()) {
            auto r = saving ? saveAs(dialogPath_) : open(dialogPath_);
            if (!r) error(fmt::format("Could not {} the plan: {}", saving ? "save" : "open", describe(r.error())));
            ImGui::CloseCurrentPopup();
        }
        ImGui::SameLine();
        if (ImGui::Button("Cancel", ImVec2(100, 0))) ImGui::CloseCurrentPopup();
        ImGui::EndPopup();
    };
    pathDialog("Open plan###openPlan", openDialog_, false);
    pathDialog("Save plan as###savePlan", saveDialog_, true);

    constexpr const char* kRecover = "Unsaved changes found###recoverPlan";
    if (recovery_ && !ImGui::IsPopupOpen(kRecover)) ImGui::OpenPopup(kRecover);
    ImGui::SetNextWindowPos(ImVec2(width * 0.5f, height * 0.5f), ImGuiCond_Appearing, ImVec2(0.5f, 0.5f));
    if (ImGui::BeginPopupModal(kRecover, nullptr, ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings)) {
        if (!recovery_) {
            ImGui::CloseCurrentPopup();
        } else {
            ImGui::Text("%s has an autosave newer than the file:", path_.string().c_str());
            ImGui::Text("changes from a session that did not save (%zu trajector%s).",
                        recovery_->trajectories.size(), recovery_->trajectories.size() == 1 ? "y" : "ies");
            if (ImGui::Button("Recover", ImVec2(120, 0))) resolveRecovery(true);
            ImGui::SameLine();
            if (ImGui::Button("Discard", ImVec2(120, 0))) resolveRecovery(false);
        }
        ImGui::EndPopup();
    }
}

} // namespace precis::gui
