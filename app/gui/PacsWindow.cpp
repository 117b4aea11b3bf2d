#include "gui/PacsWindow.h"

#include "core/Log.h"
#include "gui/Widgets.h"

#include <fmt/core.h>
#include <imgui.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace precis::gui {

namespace {

constexpr float kLabelWidth = 96;

void label(const char* text) {
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted(text);
    ImGui::SameLine(kLabelWidth);
}

void rightAligned(const std::string& text) {
    ImGui::SetCursorPosX(ImGui::GetCursorPosX() + ImGui::GetColumnWidth() -
                         ImGui::CalcTextSize(text.c_str()).x - ImGui::GetStyle().CellPadding.x);
    ImGui::TextUnformatted(text.c_str());
}

std::string countOrDash(int n) {
    return n > 0 ? std::to_string(n) : std::string("-");
}

std::string modalities(const std::string& dicom) {
    std::string s = dicom;
    std::replace(s.begin(), s.end(), '\\', ',');
    return orDash(s);
}

/// Folder names from UIDs: digits and dots only in valid UIDs; anything else is replaced.
std::string safeName(const std::string& uid) {
    std::string s;
    for (char c : uid)
        s += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
    return s.empty() ? std::string("unknown") : s;
}

} // namespace

PacsWindow::PacsWindow(Settings& settings) : settings_(&settings) {
    host_ = settings_->get("pacs.host", "127.0.0.1");
    port_ = settings_->getInt("pacs.port", 4242);
    calledAe_ = settings_->get("pacs.calledAe", "ORTHANC");
    callingAe_ = settings_->get("pacs.callingAe", "PRECIS");
}

std::filesystem::path PacsWindow::retrieveRoot() {
    return dataHome() / "pacs";
}

void PacsWindow::open() {
    open_ = true;
    focusNext_ = true;
}

void PacsWindow::setPeer(const std::string& host, int port, const std::string& calledAe) {
    host_ = host;
    port_ = port;
    calledAe_ = calledAe;
}

dicom::PacsConfig PacsWindow::config() const {
    dicom::PacsConfig c;
    c.host = host_;
    c.port = port_;
    c.calledAeTitle = calledAe_;
    c.callingAeTitle = callingAe_;
    // Short enough that a dead peer is reported while the user still waits for it.
    c.connectTimeoutS = 5;
    c.acseTimeoutS = 10;
    c.dimseTimeoutS = 30;
    return c;
}

dicom::PacsQuery PacsWindow::query() const {
    dicom::PacsQuery q;
    q.patientId = patientId_;
    q.patientName = patientName_;
    q.modality = modality_;
    if (!dateFrom_.empty() || !dateTo_.empty())
        q.dateRange = dateFrom_ == dateTo_ ? dateFrom_ : dateFrom_ + "-" + dateTo_;
    return q;
}

void PacsWindow::rememberPeer() {
    settings_->set("pacs.host", host_);
    settings_->set("pacs.port", std::to_string(port_));
    settings_->set("pacs.calledAe", calledAe_);
    settings_->set("pacs.callingAe", callingAe_);
    if (auto saved = settings_->save(); !saved)
        log::warn("could not save settings: {}", describe(saved.error()));
}

void PacsWindow::startEcho() {
    if (busy()) return;
    error_.reset();
    status_.clear();
    rememberPeer();
    echo_ = std::make_unique<BackgroundTask<double>>(
        [cfg = config()](const Progress&) -> Result<double> {
            const auto t0 = std::chrono::steady_clock::now();
            auto r = dicom::PacsClient(cfg).echo();
            if (!r) return std::unexpected(r.error());
            return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        },
        "Sending C-ECHO");
}

void PacsWindow::startQuery() {
    if (busy()) return;
    error_.reset();
    status_.clear();
    rememberPeer();
    studies_.clear();
    selStudy_ = selSeries_ = -1;
    queried_ = false;
    query_ = std::make_unique<BackgroundTask<std::vector<dicom::PacsStudy>>>(
        [cfg = config(),
         q = query()](const Progress& progress) -> Result<std::vector<dicom::PacsStudy>> {
            dicom::PacsClient client(cfg);
            progress.report(0.05, "Querying studies");
            auto studies = client.findStudies(q, progress);
            if (!studies) return std::unexpected(studies.error());
            dicom::PacsQuery seriesKeys;
            seriesKeys.modality = q.modality;
            for (std::size_t i = 0; i < studies->size(); ++i) {
                if (progress.cancelled()) return fail(ErrorCode::Cancelled, "query cancelled");
                auto& st = (*studies)[i];
                progress.report(
                    0.1 + 0.9 * double(i) / double(studies->size()),
                    fmt::format("Querying series of study {} of {}", i + 1, studies->size()));
                auto series = client.findSeries(st.studyInstanceUid, seriesKeys, {});
                if (!series) return std::unexpected(series.error());
                st.series = std::move(*series);
                std::sort(st.series.begin(), st.series.end(),
                          [](const dicom::PacsSeries& a, const dicom::PacsSeries& b) {
                              return a.seriesNumber < b.seriesNumber;
                          });
            }
            return studies;
        },
        "Querying studies");
}

bool PacsWindow::selectFirstSeries() {
    for (std::size_t i = 0; i < studies_.size(); ++i)
        if (!studies_[i].series.empty()) {
            selStudy_ = static_cast<int>(i);
            selSeries_ = 0;
            return true;
        }
    return false;
}

bool PacsWindow::startRetrieve() {
    if (busy() || selStudy_ < 0 || selStudy_ >= int(studies_.size())) return false;
    const auto& st = studies_[std::size_t(selStudy_)];
    std::string seriesUid;
    if (selSeries_ >= 0 && selSeries_ < int(st.series.size()))
        seriesUid = st.series[std::size_t(selSeries_)].seriesInstanceUid;
    error_.reset();
    status_.clear();
    rememberPeer();
    const std::filesystem::path dest =
        retrieveRoot() / safeName(st.studyInstanceUid) /
        (seriesUid.empty() ? std::string("study") : safeName(seriesUid));
    log::info("pacs: retrieving {} / {} into {}", st.studyInstanceUid, seriesUid, dest.string());
    retrieve_ = std::make_unique<BackgroundTask<Retrieved>>(
        [cfg = config(), studyUid = st.studyInstanceUid, seriesUid,
         dest](const Progress& progress) -> Result<Retrieved> {
            auto r = dicom::PacsClient(cfg).getSeries(studyUid, seriesUid, dest, progress);
            if (!r) return std::unexpected(r.error());
            return Retrieved{dest, std::move(*r)};
        },
        "Retrieving (C-GET)");
    return true;
}

std::optional<std::filesystem::path> PacsWindow::poll() {
    auto failed = [this](const Error& e) {
        error_ = e;
        log::error("pacs: {}", describe(e));
    };
    if (echo_ && echo_->status().finished) {
        auto r = echo_->take();
        echo_.reset();
        if (r && *r)
            status_ = fmt::format("{} answered C-ECHO in {:.0f} ms",
                                  dicom::PacsClient(config()).peerName(), **r);
        else if (r)
            failed(r->error());
    }
    if (query_ && query_->status().finished) {
        auto r = query_->take();
        query_.reset();
        queried_ = true;
        if (r && *r) {
            studies_ = std::move(**r);
            std::size_t n = 0;
            for (const auto& s : studies_)
                n += s.series.size();
            status_ = fmt::format("{} stud{} with {} series", studies_.size(),
                                  studies_.size() == 1 ? "y" : "ies", n);
            selectFirstSeries();
        } else if (r) {
            failed(r->error());
        }
    }
    if (retrieve_ && retrieve_->status().finished) {
        auto r = retrieve_->take();
        retrieve_.reset();
        if (r && *r) {
            const auto& got = (*r)->result;
            status_ = fmt::format(
                "Retrieved {} file{}{} into {}", got.files.size(), got.files.size() == 1 ? "" : "s",
                got.failed ? fmt::format(" ({} failed)", got.failed) : "", (*r)->folder.string());
            return (*r)->folder;
        }
        if (r) failed(r->error());
    }
    return std::nullopt;
}

void PacsWindow::drawPeer() {
    ImGui::TextDisabled("PACS");
    ImGui::BeginDisabled(busy());
    label("Host");
    ImGui::SetNextItemWidth(220);
    inputText("##host", host_);
    ImGui::SameLine(kLabelWidth + 240);
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("Port");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(90);
    ImGui::InputInt("##port", &port_, 0, 0);
    label("Called AE");
    ImGui::SetNextItemWidth(220);
    inputText("##calledAe", calledAe_, ImGuiInputTextFlags_CharsUppercase);
    ImGui::SameLine(kLabelWidth + 240);
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("Our AE");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(160);
    inputText("##callingAe", callingAe_, ImGuiInputTextFlags_CharsUppercase);
    ImGui::SameLine();
    if (ImGui::Button("Echo", ImVec2(80, 0))) startEcho();
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("C-ECHO: checks that the PACS answers and accepts our AE");
    ImGui::EndDisabled();
}

void PacsWindow::drawQuery() {
    ImGui::TextDisabled("Query");
    ImGui::BeginDisabled(busy());
    label("Patient ID");
    ImGui::SetNextItemWidth(220);
    bool enter = inputText("##pid", patientId_, ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine(kLabelWidth + 240);
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("Name");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(250);
    enter |=
        inputTextWithHint("##pname", "DOE^J*", patientName_, ImGuiInputTextFlags_EnterReturnsTrue);
    label("Study date");
    ImGui::SetNextItemWidth(104);
    enter |=
        inputTextWithHint("##from", "YYYYMMDD", dateFrom_,
                          ImGuiInputTextFlags_CharsDecimal | ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine();
    ImGui::TextUnformatted("to");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(104);
    enter |=
        inputTextWithHint("##to", "YYYYMMDD", dateTo_,
                          ImGuiInputTextFlags_CharsDecimal | ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine(kLabelWidth + 240);
    ImGui::AlignTextToFramePadding();
    ImGui::TextUnformatted("Modality");
    ImGui::SameLine();
    ImGui::SetNextItemWidth(80);
    enter |= inputTextWithHint("##mod", "any", modality_,
                               ImGuiInputTextFlags_CharsUppercase |
                                   ImGuiInputTextFlags_EnterReturnsTrue);
    ImGui::SameLine(kLabelWidth + 240 + 250 + ImGui::CalcTextSize("Name").x +
                    ImGui::GetStyle().ItemSpacing.x - 80);
    if (ImGui::Button("Query", ImVec2(80, 0)) || enter) startQuery();
    ImGui::EndDisabled();
}

void PacsWindow::drawProgress() {
    auto bar = [](auto& task, const char* what) {
        const auto st = task->status();
        ImGui::ProgressBar(static_cast<float>(st.fraction), ImVec2(-90, 0),
                           task->cancelRequested() ? "Cancelling..."
                                                   : (st.stage.empty() ? what : st.stage.c_str()));
        ImGui::SameLine();
        if (ImGui::Button("Cancel", ImVec2(-1, 0))) task->cancel();
    };
    if (echo_)
        bar(echo_, "C-ECHO");
    else if (query_)
        bar(query_, "Querying");
    else if (retrieve_)
        bar(retrieve_, "Retrieving");
    else if (error_) {
        errorText(error_->code == ErrorCode::Cancelled ? "Cancelled" : error_->message);
        if (!error_->detail.empty() && error_->code != ErrorCode::Cancelled)
            ImGui::TextDisabled("%s", error_->detail.c_str());
    } else if (!status_.empty()) {
        okText(status_);
    } else {
        ImGui::TextDisabled(
            "Echo checks the connection; Query lists matching studies and their series.");
    }
}

void PacsWindow::drawResults() {
    if (!beginTreeTable("studies", {{"Patient / study / series"},
                                    {"Patient ID", 110},
                                    {"Date", 88},
                                    {"Modality", 72},
                                    {"Images", 60}}))
        return;
    for (std::size_t i = 0; i < studies_.size(); ++i) {
        const auto& st = studies_[i];
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        const std::string desc =
            st.studyDescription.empty() ? "(no study description)" : st.studyDescription;
        const std::string slabel =
            fmt::format("{}  -  {}##study{}", displayName(st.patientName), desc, i);
        ImGuiTreeNodeFlags tf = ImGuiTreeNodeFlags_DefaultOpen | ImGuiTreeNodeFlags_SpanFullWidth |
                                ImGuiTreeNodeFlags_OpenOnArrow;
        if (selStudy_ == int(i) && selSeries_ < 0) tf |= ImGuiTreeNodeFlags_Selected;
        const bool open = ImGui::TreeNodeEx(slabel.c_str(), tf);
        if (ImGui::IsItemClicked() && !ImGui::IsItemToggledOpen()) {
            selStudy_ = int(i);
            selSeries_ = -1;
        }
        if (ImGui::IsItemHovered()) {
            ImGui::SetTooltip("Study UID  %s\nAccession  %s", st.studyInstanceUid.c_str(),
                              orDash(st.accessionNumber).c_str());
        }
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(orDash(st.patientId).c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(displayDate(st.studyDate).c_str());
        ImGui::TableNextColumn();
        ImGui::TextUnformatted(modalities(st.modalitiesInStudy).c_str());
        ImGui::TableNextColumn();
        rightAligned(countOrDash(st.numberOfInstances));
        if (!open) continue;
        for (std::size_t j = 0; j < st.series.size(); ++j) {
            const auto& se = st.series[j];
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            const std::string label =
                fmt::format("{}{}##series{}_{}",
                            se.seriesNumber > 0 ? fmt::format("#{}  ", se.seriesNumber) : "",
                            se.description.empty() ? "(no description)" : se.description, i, j);
            if (ImGui::Selectable(label.c_str(), selStudy_ == int(i) && selSeries_ == int(j),
                                  ImGuiSelectableFlags_SpanAllColumns)) {
                selStudy_ = int(i);
                selSeries_ = int(j);
            }
            if (ImGui::IsItemHovered())
                ImGui::SetTooltip("Series UID  %s", se.seriesInstanceUid.c_str());
            ImGui::TableNextColumn();
            ImGui::TableNextColumn();
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(orDash(se.modality).c_str());
            ImGui::TableNextColumn();
            rightAligned(countOrDash(se.numberOfInstances));
        }
        ImGui::TreePop();
    }
    if (studies_.empty()) {
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        ImGui::TextDisabled(query_     ? "Querying..."
                            : queried_ ? "No study matches the query"
                                       : "No query yet");
    }
    ImGui::EndTable();
}

void PacsWindow::draw(float displayWidth, float displayHeight) {
    if (!open_) return;
    const ImVec2 size(std::min(980.0f, displayWidth - 60), std::min(620.0f, displayHeight - 60));
    ImGui::SetNextWindowSize(size, ImGuiCond_Appearing);
    ImGui::SetNextWindowPos(ImVec2(displayWidth * 0.5f, displayHeight * 0.5f), ImGuiCond_Appearing,
                            ImVec2(0.5f, 0.5f));
    if (focusNext_) {
        ImGui::SetNextWindowFocus();
        focusNext_ = false;
    }
    ImGui::SetNextWindowBgAlpha(1.0f); // a dialog, not an overlay
    if (!ImGui::Begin("PACS query / retrieve###pacs", &open_,
                      ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings)) {
        ImGui::End();
        return;
    }
    drawPeer();
    ImGui::Separator();
    drawQuery();
    ImGui::Separator();
    drawProgress();
    ImGui::Spacing();
    drawResults();

    ImGui::Separator();
    ImGui::AlignTextToFramePadding();
    const bool haveStudy = selStudy_ >= 0 && selStudy_ < int(studies_.size());
    if (!haveStudy) {
        ImGui::TextDisabled("No study selected");
    } else {
        const auto& st = studies_[std::size_t(selStudy_)];
        if (selSeries_ >= 0 && selSeries_ < int(st.series.size())) {
            const auto& se = st.series[std::size_t(selSeries_)];
            ImGui::Text("Selected: %s %s, %s images", orDash(se.modality).c_str(),
                        se.description.empty() ? "(no description)" : se.description.c_str(),
                        countOrDash(se.numberOfInstances).c_str());
        } else {
            ImGui::Text("Selected: the whole study (%s)", displayDate(st.studyDate).c_str());
        }
    }
    const float bw = 96;
    ImGui::SameLine(ImGui::GetWindowContentRegionMax().x - bw * 2 -
                    ImGui::GetStyle().ItemSpacing.x);
    ImGui::BeginDisabled(!haveStudy || busy());
    if (ImGui::Button("Retrieve", ImVec2(bw, 0))) startRetrieve();
    ImGui::EndDisabled();
    if (ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("C-GET into %s, then open it", retrieveRoot().c_str());
    ImGui::SameLine();
    if (ImGui::Button("Close", ImVec2(bw, 0))) open_ = false;
    ImGui::End();
    if (!open_) {
        // Closed while working: nobody waits for the answer.
        if (echo_) echo_->cancel();
        if (query_) query_->cancel();
        if (retrieve_) retrieve_->cancel();
    }
}

} // namespace precis::gui
