#include "gui/Widgets.h"

#include <imgui.h>

namespace precis::gui {

std::string displayName(const std::string& dicomName) {
    std::string s = dicomName;
    while (!s.empty() && (s.back() == '^' || s.back() == ' '))
        s.pop_back();
    std::string out;
    bool first = true;
    for (char c : s) {
        if (c == '^') {
            out += first ? ", " : " ";
            first = false;
        } else {
            out += c;
        }
    }
    return out.empty() ? std::string("(no patient name)") : out;
}

std::string displayDate(const std::string& d) {
    if (d.empty()) return "-";
    if (d.size() == 8 && d.find_first_not_of("0123456789") == std::string::npos)
        return d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2);
    return d;
}

std::string orDash(const std::string& s) {
    return s.empty() ? std::string("-") : s;
}

namespace {

int resizeCallback(ImGuiInputTextCallbackData* data) {
    if (data->EventFlag == ImGuiInputTextFlags_CallbackResize) {
        auto* s = static_cast<std::string*>(data->UserData);
        s->resize(static_cast<std::size_t>(data->BufTextLen));
        data->Buf = s->data();
    }
    return 0;
}

} // namespace

bool inputText(const char* label, std::string& value, int flags) {
    return ImGui::InputText(label, value.data(), value.capacity() + 1,
                            flags | ImGuiInputTextFlags_CallbackResize, resizeCallback, &value);
}

bool inputTextWithHint(const char* label, const char* hint, std::string& value, int flags) {
    return ImGui::InputTextWithHint(label, hint, value.data(), value.capacity() + 1,
                                    flags | ImGuiInputTextFlags_CallbackResize, resizeCallback,
                                    &value);
}

void errorText(const std::string& text) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.42f, 0.38f, 1));
    ImGui::TextWrapped("%s", text.c_str());
    ImGui::PopStyleColor();
}

void warningText(const std::string& text) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.8f, 0.35f, 1));
    ImGui::TextWrapped("%s", text.c_str());
    ImGui::PopStyleColor();
}

void okText(const std::string& text) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(0.45f, 0.85f, 0.5f, 1));
    ImGui::TextWrapped("%s", text.c_str());
    ImGui::PopStyleColor();
}

bool beginTreeTable(const char* id, std::initializer_list<TableColumn> columns) {
    const ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersOuter |
                                  ImGuiTableFlags_BordersV | ImGuiTableFlags_Resizable |
                                  ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingFixedFit;
    const float footer = ImGui::GetFrameHeightWithSpacing() + ImGui::GetStyle().ItemSpacing.y * 2;
    if (!ImGui::BeginTable(id, static_cast<int>(columns.size()), flags, ImVec2(0, -footer)))
        return false;
    ImGui::TableSetupScrollFreeze(0, 1);
    for (const auto& c : columns)
        ImGui::TableSetupColumn(c.name, c.width > 0 ? ImGuiTableColumnFlags_WidthFixed
                                                    : ImGuiTableColumnFlags_WidthStretch,
                                c.width);
    ImGui::TableHeadersRow();
    return true;
}

} // namespace precis::gui
