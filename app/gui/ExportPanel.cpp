#include "gui/ExportPanel.h"

#include "export/SlicerMarkups.h"
#include "gui/Widgets.h"

#include <fmt/core.h>
#include <imgui.h>

#include <algorithm>
#include <cctype>

namespace precis::gui {
namespace {

namespace fs = std::filesystem;

/// "L4-L5 facet denervation" -> "L4-L5-facet-denervation" (a file name from the plan's name).
std::string slug(const std::string& name) {
    std::string out;
    for (unsigned char c : name) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.')
            out += static_cast<char>(c);
        else if (!out.empty() && out.back() != '-')
            out += '-';
    }
    while (!out.empty() && (out.back() == '-' || out.back() == '.'))
        out.pop_back();
    return out.empty() ? "plan" : out;
}

void progressLine(double fraction, const std::string& stage) {
    ImGui::ProgressBar(static_cast<float>(fraction), ImVec2(-1.0f, 0.0f),
                       stage.empty() ? nullptr : stage.c_str());
}

void warningList(const char* id, const std::vector<std::string>& warnings) {
    if (warnings.empty()) return;
    if (ImGui::TreeNode(id, "%zu warning%s", warnings.size(), warnings.size() == 1 ? "" : "s")) {
        for (const auto& w : warnings)
            warningText(w);
        ImGui::TreePop();
    }
}

/// The series the DICOM export and the report use: the case's, else the one the plan names.
fs::path seriesFor(const model::Plan& plan, const fs::path& seriesDir) {
    if (!seriesDir.empty()) return seriesDir;
    return fs::path(plan.series.path);
}

} // namespace

ExportPanel::ExportPanel() = default;
ExportPanel::~ExportPanel() = default;

bool ExportPanel::busy() const {
    return dicomTask_ || reportTask_ || igtl_.active();
}

void ExportPanel::done(std::string line) {
    statusLine_ = std::move(line);
}

void ExportPanel::failed(const std::string& what, const Error& e) {
    errors_.push_back(fmt::format("{}: {}", what, e.message));
}

void ExportPanel::poll() {
    if (dicomTask_ && dicomTask_->status().finished) {
        auto r = dicomTask_->take();
        dicomTask_.reset();
        if (r && *r) {
            const auto& d = **r;
            dicomResult_ = fmt::format("Wrote {}: {} ROI{} referencing {} images (study {})",
                                       d.file.string(), d.rois, d.rois == 1 ? "" : "s",
                                       d.referencedImages, d.studyInstanceUid);
            dicomWarnings_ = d.warnings;
            done(dicomResult_);
        } else if (r && r->error().code != ErrorCode::Cancelled) {
            dicomError_ = r->error().message;
            failed("DICOM export", r->error());
        }
    }
    if (reportTask_ && reportTask_->status().finished) {
        auto r = reportTask_->take();
        reportTask_.reset();
        if (r && *r) {
            const auto& rep = **r;
            reportResult_ = fmt::format("Wrote {}: {} page{}{}{}", reportTarget_.string(),
                                        rep.summary.pages, rep.summary.pages == 1 ? "" : "s",
                                        deidentify_ ? ", de-identified" : "",
                                        rep.evaluated ? "" : ", not evaluated");
            reportWarnings_ = rep.warnings;
            done(reportResult_);
        } else if (r && r->error().code != ErrorCode::Cancelled) {
            reportError_ = r->error().message;
            failed("Plan report", r->error());
        }
    }
}

void ExportPanel::defaultPaths(const model::Plan& plan) {
    if (!slicerPath_.empty() && !dicomDir_.empty() && !reportPath_.empty()) return;
    std::error_code ec;
    fs::path dir = fs::current_path(ec);
    if (ec) dir = fs::temp_directory_path(ec);
    const std::string base = slug(plan.name);
    if (slicerPath_.empty()) slicerPath_ = (dir / (base + ".mrk.json")).string();
    if (dicomDir_.empty()) dicomDir_ = (dir / (base + "-dicom")).string();
    if (reportPath_.empty()) reportPath_ = (dir / (base + "-report.pdf")).string();
}

void ExportPanel::drawWindow(bool* open, const model::Plan& plan, const fs::path& seriesDir,
                             const model::DeviceCatalog& catalog) {
    if (open && !*open) {
        poll();
        return;
    }
    ImGui::SetNextWindowSize(ImVec2(460, 560), ImGuiCond_FirstUseEver);
    if (ImGui::Begin("Export", open)) draw(plan, seriesDir, catalog);
    ImGui::End();
}

void ExportPanel::draw(const model::Plan& plan, const fs::path& seriesDir,
                       const model::DeviceCatalog& catalog) {
    poll();
    defaultPaths(plan);
    ImGui::PushID("export");
    ImGui::TextWrapped("Plan \"%s\": %zu trajector%s, %zu landmark%s (LPS mm)",
                       plan.name.empty() ? "(unnamed)" : plan.name.c_str(),
                       plan.trajectories.size(), plan.trajectories.size() == 1 ? "y" : "ies",
                       plan.landmarks.size(), plan.landmarks.size() == 1 ? "" : "s");
    if (plan.trajectories.empty()) warningText("The plan has no trajectories yet.");
    drawIgtl(plan, catalog);
    drawSlicer(plan);
    drawDicom(plan, seriesDir);
    drawReport(plan, seriesDir, catalog);
    ImGui::PopID();
}

void ExportPanel::drawIgtl(const model::Plan& plan, const model::DeviceCatalog& catalog) {
    if (!ImGui::CollapsingHeader("Send to navigation (OpenIGTLink)",
                                 ImGuiTreeNodeFlags_DefaultOpen))
        return;
    ImGui::PushID("igtl");
    const IgtlJobStatus st = igtl_.status();
    const bool running = st.active();

    ImGui::BeginDisabled(running);
    ImGui::SetNextItemWidth(-90.0f);
    inputTextWithHint("Host", "navigation system's address", host_);
    ImGui::SetNextItemWidth(-90.0f);
    ImGui::InputInt("Port", &port_, 0, 0);
    const char* frames[] = {"LPS (DICOM, Precis)", "RAS (3D Slicer)"};
    ImGui::SetNextItemWidth(-90.0f);
    ImGui::Combo("Frame", &frame_, frames, 2);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("Coordinates on the wire; named in every device name and the STRING.\n"
                          "3D Slicer reads OpenIGTLink as RAS.");
    ImGui::SetNextItemWidth(80.0f);
    ImGui::InputInt("Timeout (s)", &timeoutS_, 0, 0);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(60.0f);
    ImGui::InputInt("Attempts", &attempts_, 0, 0);
    ImGui::EndDisabled();
    timeoutS_ = std::clamp(timeoutS_, 1, 3600);
    attempts_ = std::clamp(attempts_, 1, 100);

    const auto frame = frame_ == 1 ? exporting::Frame::Ras : exporting::Frame::Lps;
    ImGui::BeginDisabled(running || plan.trajectories.empty());
    if (ImGui::Button("Connect & send")) {
        exporting::IgtlClientOptions o;
        o.messages.frame = frame;
        o.connectTimeoutMs = o.sendTimeoutMs = timeoutS_ * 1000;
        o.attempts = attempts_;
        const std::string target =
            host_.find(':') != std::string::npos && !host_.starts_with("[")
                ? fmt::format("[{}]:{}", host_, port_) // a bare IPv6 address
                : fmt::format("{}:{}", host_, port_);
        auto r = igtl_.send(plan, catalog, target, o);
        igtlError_ = r ? "" : r.error().message;
    }
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("Connect to the navigation system at host:port and send the plan");
    ImGui::SameLine();
    if (ImGui::Button("Serve on port")) {
        exporting::IgtlServeOptions o = IgtlExportJob::untilStopped();
        o.messages.frame = frame;
        o.sendTimeoutMs = timeoutS_ * 1000;
        auto r = igtl_.serve(plan, catalog, port_, o);
        igtlError_ = r ? "" : r.error().message;
    }
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("Listen on the port: every navigation system that connects gets the "
                          "plan, until Stop");
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!running);
    if (ImGui::Button("Stop")) igtl_.stop();
    ImGui::EndDisabled();

    // The connection's status, live.
    ImGui::AlignTextToFramePadding();
    ImGui::TextDisabled("Status");
    ImGui::SameLine();
    const std::string line = st.summary();
    switch (st.state) {
    case IgtlJobState::Failed:
        errorText(line);
        break;
    case IgtlJobState::Sent:
        okText(line);
        break;
    case IgtlJobState::Idle:
    case IgtlJobState::Stopped:
        ImGui::TextWrapped("%s", line.c_str());
        break;
    default:
        ImGui::TextWrapped("%s", line.c_str());
        break;
    }
    if (st.state == IgtlJobState::Sending || (st.state == IgtlJobState::Serving &&
                                              !st.activePeer.empty()))
        progressLine(st.fraction, "");
    if (!igtlError_.empty()) errorText(igtlError_);
    if (st.server && !st.peers.empty() &&
        ImGui::TreeNode("peers", "Peers served (%zu)", st.peers.size())) {
        for (const auto& p : st.peers)
            ImGui::BulletText("%s", p.c_str());
        ImGui::TreePop();
    }
    if (!st.peerErrors.empty()) {
        // A peer that dropped out is shown, whatever the job does next.
        if (st.active() || st.state != IgtlJobState::Failed)
            errorText((st.server ? "Last failed peer: " : "Last failed attempt: ") +
                      st.peerErrors.back());
        if (ImGui::TreeNode("failures", "Failures (%zu)", st.peerErrors.size())) {
            for (const auto& e : st.peerErrors)
                ImGui::BulletText("%s", e.c_str());
            ImGui::TreePop();
        }
    }
    warningList("igtlWarnings", st.warnings);
    ImGui::PopID();
}

void ExportPanel::drawSlicer(const model::Plan& plan) {
    if (!ImGui::CollapsingHeader("3D Slicer markups")) return;
    ImGui::PushID("slicer");
    ImGui::SetNextItemWidth(-70.0f);
    inputTextWithHint("File", "OUT.mrk.json", slicerPath_);
    ImGui::BeginDisabled(slicerPath_.empty());
    if (ImGui::Button("Export")) {
        slicerResult_.clear();
        slicerError_.clear();
        if (auto r = exporting::exportSlicerMarkups(plan, slicerPath_); r) {
            slicerResult_ = fmt::format("Wrote {}: {} trajectories, {} landmarks (LPS mm)",
                                        slicerPath_, plan.trajectories.size(),
                                        plan.landmarks.size());
            done(slicerResult_);
        } else {
            slicerError_ = r.error().message;
            failed("Slicer markups", r.error());
        }
    }
    ImGui::EndDisabled();
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("Trajectories as Line markups (Entry, Target), landmarks as Fiducials");
    if (!slicerResult_.empty()) okText(slicerResult_);
    if (!slicerError_.empty()) errorText(slicerError_);
    ImGui::PopID();
}

void ExportPanel::drawDicom(const model::Plan& plan, const fs::path& seriesDir) {
    if (!ImGui::CollapsingHeader("DICOM RT Structure Set")) return;
    ImGui::PushID("dicom");
    const fs::path series = seriesFor(plan, seriesDir);
    ImGui::SetNextItemWidth(-70.0f);
    inputTextWithHint("Folder", "OUTDIR", dicomDir_);
    if (series.empty())
        warningText("No series: load the plan's CT (the RT Structure Set references its images).");
    else
        ImGui::TextDisabled("References the series in %s", series.c_str());
    if (dicomTask_) {
        // The writer reports no progress and is short (it reads the series' headers).
        ImGui::TextDisabled("%s...", dicomTask_->status().stage.c_str());
    } else {
        ImGui::BeginDisabled(dicomDir_.empty() || series.empty());
        if (ImGui::Button("Export")) {
            dicomResult_.clear();
            dicomError_.clear();
            dicomWarnings_.clear();
            dicomTask_ = std::make_unique<BackgroundTask<dicom::PlanDicomResult>>(
                [plan, series, out = fs::path(dicomDir_)](const Progress&) {
                    return dicom::writePlanRtStruct(plan, series, out);
                },
                "Writing the RT Structure Set");
        }
        ImGui::EndDisabled();
    }
    if (!dicomResult_.empty()) okText(dicomResult_);
    if (!dicomError_.empty()) errorText(dicomError_);
    warningList("dicomWarnings", dicomWarnings_);
    ImGui::PopID();
}

void ExportPanel::drawReport(const model::Plan& plan, const fs::path& seriesDir,
                             const model::DeviceCatalog& catalog) {
    if (!ImGui::CollapsingHeader("PDF report")) return;
    ImGui::PushID("report");
    ImGui::SetNextItemWidth(-70.0f);
    inputTextWithHint("File", "OUT.pdf", reportPath_);
    ImGui::Checkbox("De-identify (teaching)", &deidentify_);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("Leaves out the patient's name and ID, dates, UIDs, folders and notes");
    if (reportTask_) {
        const auto s = reportTask_->status();
        progressLine(s.fraction, s.stage);
        if (ImGui::Button("Cancel")) reportTask_->cancel();
    } else {
        ImGui::BeginDisabled(reportPath_.empty());
        if (ImGui::Button("Export")) {
            reportResult_.clear();
            reportError_.clear();
            reportWarnings_.clear();
            app::EvaluatedReportOptions o;
            o.deidentify = deidentify_;
            o.seriesDir = seriesFor(plan, seriesDir);
            reportTarget_ = reportPath_;
            // The scene is shared with the planner; the worker keeps it alive while it runs.
            reportTask_ = std::make_unique<BackgroundTask<app::EvaluatedReport>>(
                [plan, catalog, o, scene = scene_, out = reportTarget_](
                    const Progress& progress) mutable {
                    o.scene = scene.get();
                    return app::writeEvaluatedPlanReport(plan, catalog, o, out, progress);
                },
                "Preparing the report");
        }
        ImGui::EndDisabled();
    }
    if (!reportResult_.empty()) okText(reportResult_);
    if (!reportError_.empty()) errorText(reportError_);
    warningList("reportWarnings", reportWarnings_);
    ImGui::PopID();
}

} // namespace precis::gui
