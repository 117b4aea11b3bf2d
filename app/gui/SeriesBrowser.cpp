#include "gui/SeriesBrowser.h"

#include "core/Log.h"
#include "gui/Widgets.h"

#include <fmt/core.h>
#include <imgui.h>

#include <algorithm>
#include <chrono>
#include <map>

namespace precis::gui {

namespace {

const char* kindLabel(const std::string& kind) {
    if (kind == "image") return "Images";
    if (kind == "sr") return "SR";
    if (kind == "rtstruct") return "RT Struct";
    if (kind == "rtdose") return "RT Dose";
    if (kind == "rtplan") return "RT Plan";
    if (kind == "seg") return "SEG";
    if (kind == "presentation-state") return "Pres. state";
    return "Other";
}

} // namespace

SeriesBrowser::SeriesBrowser(Settings& settings) : settings_(&settings) {
    const auto recent = settings_->recentFolders();
    if (!recent.empty()) folder_ = recent.front();
}

void SeriesBrowser::open(const std::string& folder) {
    if (!folder.empty()) folder_ = folder;
    open_ = true;
    focusNext_ = true;
}

void SeriesBrowser::startScan() {
    if (scan_ || folder_.empty()) return;
    error_.reset();
    series_.clear();
    patients_.clear();
    selected_.reset();
    scannedFolder_ = folder_;
    settings_->addRecentFolder(folder_);
    if (auto saved = settings_->save(); !saved)
        log::warn("could not save settings: {}", describe(saved.error()));
    std::filesystem::path path = folder_;
    scan_ = std::make_unique<BackgroundTask<std::vector<dicom::SeriesSummary>>>(
        [path](const Progress& progress) { return dicom::scanSeries(path, progress); }, "Scanning");
    scanSeconds_ = 0;
    log::info("browser: scanning {}", path.string());
}

void SeriesBrowser::poll() {
    if (!scan_) return;
    const auto st = scan_->status();
    if (!st.finished) return;
    auto result = scan_->take();
    scan_.reset();
    if (!result) return;
    if (!*result) {
        error_ = result->error();
        log::error("browser: {}", describe(*error_));
        return;
    }
    series_ = std::move(**result);
    buildTree();
    for (std::size_t i = 0; i < series_.size(); ++i)
        if (series_[i].isImage()) {
            selected_ = i;
            break;
        }
    log::info("browser: {} series in {}", series_.size(), scannedFolder_);
}

std::optional<dicom::SeriesSummary> SeriesBrowser::firstImageSeries() const {
    for (const auto& s : series_)
        if (s.isImage()) return s;
    return std::nullopt;
}

void SeriesBrowser::buildTree() {
    patients_.clear();
    std::map<std::string, std::size_t> patientIndex;
    for (std::size_t i = 0; i < series_.size(); ++i) {
        const auto& s = series_[i];
        const std::string pkey = s.patientId + "\x1f" + s.patientName;
        auto [pit, newPatient] = patientIndex.try_emplace(pkey, patients_.size());
        if (newPatient) patients_.push_back({s.patientId, s.patientName, {}});
        auto& studies = patients_[pit->second].studies;
        auto st = std::find_if(studies.begin(), studies.end(), [&](const StudyNode& n) {
            return n.studyUid == s.studyInstanceUid;
        });
        if (st == studies.end()) {
            studies.push_back({s.studyInstanceUid, s.studyDescription, s.studyDate, {}});
            st = studies.end() - 1;
        }
        st->series.push_back(i);
    }
    std::stable_sort(patients_.begin(), patients_.end(),
                     [](const PatientNode& a, const PatientNode& b) { return a.name < b.name; });
    for (auto& p : patients_)
        std::stable_sort(p.studies.begin(), p.studies.end(),
                         [](const StudyNode& a, const StudyNode& b) { return a.date > b.date; });
}

void SeriesBrowser::drawSeriesRow(std::size_t index) {
    const auto& s = series_[index];
    const bool image = s.isImage();
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    if (!image)
        ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    const std::string label =
        fmt::format("{}{}##s{}", s.seriesNumber.empty() ? "" : "#" + s.seriesNumber + "  ",
                    s.description.empty() ? "(no description)" : s.description, index);
    const bool isSelected = selected_ == index;
    if (ImGui::Selectable(label.c_str(), isSelected,
                          ImGuiSelectableFlags_SpanAllColumns |
                              ImGuiSelectableFlags_AllowDoubleClick)) {
        selected_ = index;
        if (image && ImGui::IsMouseDoubleClicked(0)) loadRequested_ = true;
    }
    if (ImGui::IsItemHovered()) {
        ImGui::BeginTooltip();
        ImGui::Text("Series UID  %s",
                    s.seriesInstanceUid.empty() ? "(missing)" : s.seriesInstanceUid.c_str());
        ImGui::Text("Files       %zu", s.files.size());
        if (!s.files.empty()) ImGui::Text("Folder      %s", s.files.front().parent_path().c_str());
        if (!image)
            ImGui::TextDisabled("Not an image series: listed for reference, cannot be loaded");
        ImGui::EndTooltip();
    }
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(orDash(s.modality).c_str());
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(displayDate(s.seriesDate.empty() ? s.studyDate : s.seriesDate).c_str());
    ImGui::TableNextColumn();
    const std::string n = image ? std::to_string(s.imageCount) : std::string("-");
    ImGui::SetCursorPosX(ImGui::GetCursorPosX() + ImGui::GetColumnWidth() -
                         ImGui::CalcTextSize(n.c_str()).x - ImGui::GetStyle().CellPadding.x);
    ImGui::TextUnformatted(n.c_str());
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(kindLabel(s.kind));
    if (!image) ImGui::PopStyleColor();
}

void SeriesBrowser::drawTable() {
    if (!beginTreeTable("series", {{"Patient / study / series"},
                                   {"Modality", 72},
                                   {"Date", 88},
                                   {"Images", 60},
                                   {"Kind", 84}}))
        return;
    for (std::size_t p = 0; p < patients_.size(); ++p) {
        const auto& patient = patients_[p];
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        const std::string plabel =
            fmt::format("{}   ID {}##p{}", displayName(patient.name), orDash(patient.id), p);
        const bool popen = ImGui::TreeNodeEx(plabel.c_str(), ImGuiTreeNodeFlags_DefaultOpen |
                                                                 ImGuiTreeNodeFlags_SpanFullWidth);
        if (!popen) continue;
        for (std::size_t t = 0; t < patient.studies.size(); ++t) {
            const auto& study = patient.studies[t];
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            const std::string slabel = fmt::format(
                "{}##st{}_{}",
                study.description.empty() ? "(no study description)" : study.description, p, t);
            const bool sopen = ImGui::TreeNodeEx(
                slabel.c_str(), ImGuiTreeNodeFlags_DefaultOpen | ImGuiTreeNodeFlags_SpanFullWidth);
            ImGui::TableNextColumn();
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(displayDate(study.date).c_str());
            if (!sopen) continue;
            for (std::size_t i : study.series)
                drawSeriesRow(i);
            ImGui::TreePop();
        }
        ImGui::TreePop();
    }
    if (patients_.empty()) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextDisabled(scan_ ? "Scanning..."
                                  : "No series listed yet: choose a folder and press Scan");
    }
    ImGui::EndTable();
}

std::optional<dicom::SeriesSummary> SeriesBrowser::draw(float displayWidth, float displayHeight) {
    if (!open_) return std::nullopt;
    const ImVec2 size(std::min(980.0f, displayWidth - 60), std::min(600.0f, displayHeight - 60));
    ImGui::SetNextWindowSize(size, ImGuiCond_Appearing);
    ImGui::SetNextWindowPos(ImVec2(displayWidth * 0.5f, displayHeight * 0.5f), ImGuiCond_Appearing,
                            ImVec2(0.5f, 0.5f));
    if (focusNext_) {
        ImGui::SetNextWindowFocus();
        focusNext_ = false;
    }
    ImGui::SetNextWindowBgAlpha(1.0f); // a dialog, not an overlay
    if (!ImGui::Begin("Open DICOM series###browser", &open_,
                      ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings)) {
        ImGui::End();
        return std::nullopt;
    }
    loadRequested_ = false;

    // Folder row: label, path, recent folders, Scan.
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("Folder");
    ImGui::SameLine(70);
    const float buttons = 150;
    ImGui::SetNextItemWidth(-buttons);
    ImGui::BeginDisabled(scan_ != nullptr);
    const bool enter = inputTextWithHint("##folder", "Folder, DICOMDIR or file", folder_,
                                         ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(ImGui::GetFrameHeight());
    if (ImGui::BeginCombo("##recent", nullptr,
                          ImGuiComboFlags_NoPreview | ImGuiComboFlags_PopupAlignLeft)) {
        const auto recent = settings_->recentFolders();
        if (recent.empty()) ImGui::TextDisabled("No recent folders");
        for (const auto& f : recent)
            if (ImGui::Selectable(f.c_str(), f == folder_)) folder_ = f;
        ImGui::EndCombo();
    }
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("Recent folders");
    ImGui::SameLine();
    if ((ImGui::Button("Scan", ImVec2(-1, 0)) || enter) && !folder_.empty()) startScan();
    ImGui::EndDisabled();

    // Progress or summary.
    if (scan_) {
        const auto st = scan_->status();
        ImGui::SetNextItemWidth(-90);
        ImGui::ProgressBar(static_cast<float>(st.fraction), ImVec2(-90, 0),
                           scan_->cancelRequested() ? "Cancelling..." : st.stage.c_str());
        ImGui::SameLine();
        if (ImGui::Button("Cancel", ImVec2(-1, 0))) scan_->cancel();
    } else if (error_) {
        errorText(error_->code == ErrorCode::Cancelled ? "Scan cancelled" : describe(*error_));
    } else if (!scannedFolder_.empty()) {
        std::size_t images = 0, studies = 0, skipped = 0;
        for (const auto& s : series_) {
            images += s.isImage();
            skipped += s.scanWarnings.size();
        }
        for (const auto& p : patients_)
            studies += p.studies.size();
        ImGui::TextDisabled("%zu patient%s, %zu stud%s, %zu series (%zu image, %zu other) in %s",
                            patients_.size(), patients_.size() == 1 ? "" : "s", studies,
                            studies == 1 ? "y" : "ies", series_.size(), images,
                            series_.size() - images, scannedFolder_.c_str());
        if (skipped > 0) {
            ImGui::SameLine();
            warningText(fmt::format("{} file{} skipped", skipped, skipped == 1 ? "" : "s"));
            if (ImGui::IsItemHovered()) {
                ImGui::BeginTooltip();
                int shown = 0;
                for (const auto& s : series_)
                    for (const auto& w : s.scanWarnings)
                        if (shown++ < 20) ImGui::TextUnformatted(w.c_str());
                if (shown > 20) ImGui::Text("... and %d more", shown - 20);
                ImGui::EndTooltip();
            }
        }
    } else {
        ImGui::TextDisabled(
            "Choose a folder (or a DICOMDIR) and press Scan. Headers only are read.");
    }

    ImGui::Spacing();
    drawTable();

    // Selection and actions.
    const dicom::SeriesSummary* sel =
        selected_ && *selected_ < series_.size() ? &series_[*selected_] : nullptr;
    ImGui::Separator();
    ImGui::AlignTextToFramePadding();
    if (!sel) {
        ImGui::TextDisabled("No series selected");
    } else if (!sel->isImage()) {
        ImGui::TextDisabled("%s is not an image series and cannot be loaded", kindLabel(sel->kind));
    } else {
        ImGui::Text("Selected: %s %s, %d images", orDash(sel->modality).c_str(),
                    sel->description.empty() ? "(no description)" : sel->description.c_str(),
                    sel->imageCount);
    }
    const float bw = 96;
    ImGui::SameLine(ImGui::GetWindowContentRegionMax().x - bw * 2 -
                    ImGui::GetStyle().ItemSpacing.x);
    ImGui::BeginDisabled(!sel || !sel->isImage() || scan_ != nullptr);
    if (ImGui::Button("Load", ImVec2(bw, 0))) loadRequested_ = true;
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (ImGui::Button("Close", ImVec2(bw, 0))) open_ = false;
    ImGui::End();

    if (!open_ && scan_) scan_->cancel(); // closed while scanning: nobody waits for the result
    if (loadRequested_ && sel && sel->isImage()) {
        loadRequested_ = false;
        open_ = false;
        return *sel;
    }
    return std::nullopt;
}

} // namespace precis::gui
