#pragma once
#include <initializer_list>
// Small Dear ImGui helpers and display formatting shared by the GUI windows.
#include <string>

namespace precis::gui {

/// DICOM person name for display: "PHANTOM^LUMBAR" -> "PHANTOM, LUMBAR"; "(no patient name)".
std::string displayName(const std::string& dicomName);
/// DICOM date YYYYMMDD -> "YYYY-MM-DD"; anything else is returned as is ("-" when empty).
std::string displayDate(const std::string& dicomDate);
/// "-" for an empty string.
std::string orDash(const std::string& s);

/// InputText over a std::string (Debian's libimgui does not ship imgui_stdlib).
bool inputText(const char* label, std::string& value, int flags = 0);
bool inputTextWithHint(const char* label, const char* hint, std::string& value, int flags = 0);

/// Text in the warning/error colours used everywhere in the app.
void errorText(const std::string& text);   // red, wrapped
void warningText(const std::string& text); // amber, wrapped
void okText(const std::string& text);      // green, wrapped

/// A scrolling tree table that fills the window above a one-line footer, header row frozen.
/// Columns with width 0 stretch. Returns false when nothing is to be drawn (no EndTable then).
struct TableColumn {
    const char* name;
    float width = 0.0f;
};
bool beginTreeTable(const char* id, std::initializer_list<TableColumn> columns);

} // namespace precis::gui
