#include "gui/Settings.h"

#include "core/AtomicFile.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace precis::gui {

std::filesystem::path dataHome() {
    if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x)
        return std::filesystem::path(x) / "precis";
    if (const char* h = std::getenv("HOME"); h && *h)
        return std::filesystem::path(h) / ".local" / "share" / "precis";
    return std::filesystem::temp_directory_path() / "precis";
}

Settings Settings::load(const std::filesystem::path& file) {
    Settings s;
    s.file_ = file;
    auto text = readFile(file);
    if (!text) return s;
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        s.values_[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return s;
}

std::string Settings::get(const std::string& key, const std::string& fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
}

int Settings::getInt(const std::string& key, int fallback) const {
    const std::string v = get(key);
    if (v.empty()) return fallback;
    char* end = nullptr;
    const long n = std::strtol(v.c_str(), &end, 10);
    if (end == v.c_str() || *end != '\0' || n < -1000000000L || n > 1000000000L) return fallback;
    return static_cast<int>(n);
}

double Settings::getDouble(const std::string& key, double fallback) const {
    const std::string v = get(key);
    if (v.empty()) return fallback;
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !std::isfinite(d)) return fallback;
    return d;
}

void Settings::set(const std::string& key, const std::string& value) {
    // A newline would split the entry into two lines on the next load.
    std::string v;
    for (char c : value)
        v += (c == '\n' || c == '\r') ? ' ' : c;
    values_[key] = v;
}

std::vector<std::string> Settings::recentFolders() const {
    std::vector<std::string> out;
    for (int i = 0; i < kMaxRecent; ++i) {
        std::string v = get("recent." + std::to_string(i));
        if (!v.empty()) out.push_back(std::move(v));
    }
    return out;
}

void Settings::addRecentFolder(const std::string& folder) {
    if (folder.empty()) return;
    std::vector<std::string> list{folder};
    for (auto& f : recentFolders())
        if (f != folder && int(list.size()) < kMaxRecent) list.push_back(std::move(f));
    for (int i = 0; i < kMaxRecent; ++i)
        values_.erase("recent." + std::to_string(i));
    for (std::size_t i = 0; i < list.size(); ++i)
        set("recent." + std::to_string(i), list[i]);
}

Result<void> Settings::save() const {
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    std::string body = "# Precis GUI settings (key=value)\n";
    for (const auto& [k, v] : values_)
        body += k + "=" + v + "\n";
    return writeFileAtomically(file_, body);
}

} // namespace precis::gui
