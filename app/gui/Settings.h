#pragma once
// A tiny key=value settings store for the GUI (recent folders, PACS peer, window size and pane
// layout, slice window, side-panel tab), kept in
// $XDG_DATA_HOME/precis/settings (~/.local/share/precis/settings when XDG_DATA_HOME is unset).
// One "key=value" per line; unknown keys are kept; saves are atomic (DESIGN.md "Errors" 5).
#include "core/Error.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace precis::gui {

/// $XDG_DATA_HOME/precis, or ~/.local/share/precis (the folder may not exist yet).
std::filesystem::path dataHome();

class Settings {
public:
    /// Reads `file`; a missing or unreadable file gives empty settings (nothing to fail on).
    static Settings load(const std::filesystem::path& file = dataHome() / "settings");

    [[nodiscard]] std::string get(const std::string& key, const std::string& fallback = {}) const;
    [[nodiscard]] int getInt(const std::string& key, int fallback) const;
    /// `fallback` when the key is missing or not a finite number.
    [[nodiscard]] double getDouble(const std::string& key, double fallback) const;
    void set(const std::string& key, const std::string& value);

    /// Most recent first, at most `kMaxRecent`, without duplicates.
    [[nodiscard]] std::vector<std::string> recentFolders() const;
    void addRecentFolder(const std::string& folder);
    static constexpr int kMaxRecent = 6;

    /// Writes the file atomically (creating its folder); IoError names the file.
    [[nodiscard]] Result<void> save() const;
    [[nodiscard]] const std::filesystem::path& file() const { return file_; }

private:
    std::filesystem::path file_;
    std::map<std::string, std::string> values_;
};

} // namespace precis::gui
