#include "anatomy/LabelMapFile.h"

#include "core/AtomicFile.h"

#include <fmt/core.h>

#include <cstring>
#include <map>
#include <sstream>

namespace precis::anatomy {
namespace {

std::string trim(std::string s) {
    auto b = s.find_first_not_of(" \t\r");
    auto e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

/// Parses "(x,y,z)".
bool parseVector(const std::string& text, glm::dvec3& out) {
    std::string s = trim(text);
    if (s.size() < 2 || s.front() != '(' || s.back() != ')') return false;
    s = s.substr(1, s.size() - 2);
    for (char& c : s)
        if (c == ',') c = ' ';
    std::istringstream in(s);
    in >> out.x >> out.y >> out.z;
    return !in.fail();
}

/// Splits "(a,b,c) (d,e,f) (g,h,i)" into vectors.
bool parseVectors(const std::string& text, glm::dvec3* out, int count) {
    std::size_t at = 0;
    for (int i = 0; i < count; ++i) {
        auto open = text.find('(', at), close = text.find(')', open);
        if (open == std::string::npos || close == std::string::npos) return false;
        if (!parseVector(text.substr(open, close - open + 1), out[i])) return false;
        at = close + 1;
    }
    return true;
}

} // namespace

Result<void> writeLabelMap(const model::LabelMap& labels, const std::filesystem::path& file) {
    const auto& g = labels.geometry;
    if (labels.voxels.size() != g.voxelCount() || g.voxelCount() == 0)
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("cannot write {}: the label map is empty", file.string()));
    std::string header = "NRRD0004\n# Precis label map (one uint8 label per voxel, LPS mm)\n";
    header += "type: uint8\ndimension: 3\nspace: left-posterior-superior\n";
    header += fmt::format("sizes: {} {} {}\n", g.dims[0], g.dims[1], g.dims[2]);
    header += "space directions:";
    for (int a = 0; a < 3; ++a) {
        glm::dvec3 d = g.direction[a] * g.spacingMm[a];
        header += fmt::format(" ({:.17g},{:.17g},{:.17g})", d.x, d.y, d.z);
    }
    header += "\nkinds: domain domain domain\nendian: little\nencoding: raw\n";
    header += fmt::format("space origin: ({:.17g},{:.17g},{:.17g})\n\n", g.originMm.x,
                          g.originMm.y, g.originMm.z);
    return writeFileAtomically(
        file, header,
        std::string_view(reinterpret_cast<const char*>(labels.voxels.data()), labels.voxels.size()));
}

Result<model::LabelMap> readLabelMap(const std::filesystem::path& file) {
    auto data = readFile(file);
    if (!data) return std::unexpected(data.error());
    const std::string& s = *data;
    auto bad = [&](const std::string& what) {
        return fail(ErrorCode::ParseError, fmt::format("{}: not a Precis label map: {}", file.string(), what));
    };
    if (s.rfind("NRRD000", 0) != 0) return bad("missing NRRD magic");
    std::size_t end = s.find("\n\n");
    if (end == std::string::npos) return bad("header has no terminating blank line");
    std::map<std::string, std::string> fields;
    std::istringstream header(s.substr(0, end));
    std::string line;
    std::getline(header, line); // magic
    while (std::getline(header, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto colon = line.find(':');
        if (colon == std::string::npos) return bad("malformed header line '" + line + "'");
        fields[trim(line.substr(0, colon))] = trim(line.substr(colon + 1 + (line[colon + 1] == '=' ? 1 : 0)));
    }
    auto type = fields["type"];
    if (type != "uint8" && type != "uchar" && type != "unsigned char" && type != "uint8_t")
        return bad("type '" + type + "' (expected uint8)");
    if (fields["dimension"] != "3") return bad("dimension must be 3");
    if (fields["encoding"] != "raw") return bad("encoding '" + fields["encoding"] + "' (only raw)");
    const std::string space = fields["space"];
    bool ras = space == "right-anterior-superior" || space == "RAS";
    if (!ras && space != "left-posterior-superior" && space != "LPS")
        return bad("space '" + space + "' (expected left-posterior-superior)");
    model::ImageGeometry g;
    {
        std::istringstream in(fields["sizes"]);
        in >> g.dims[0] >> g.dims[1] >> g.dims[2];
        if (in.fail() || g.dims[0] <= 0 || g.dims[1] <= 0 || g.dims[2] <= 0 ||
            g.dims[0] > 65536 || g.dims[1] > 65536 || g.dims[2] > 65536)
            return bad("bad sizes '" + fields["sizes"] + "'");
    }
    glm::dvec3 dirs[3];
    if (!parseVectors(fields["space directions"], dirs, 3)) return bad("bad space directions");
    if (!parseVector(fields["space origin"], g.originMm)) return bad("bad space origin");
    for (int a = 0; a < 3; ++a) {
        if (ras) dirs[a] = {-dirs[a].x, -dirs[a].y, dirs[a].z}; // RAS -> LPS at this boundary
        g.spacingMm[a] = glm::length(dirs[a]);
        if (!(g.spacingMm[a] > 0)) return bad("zero-length space direction");
        g.direction[a] = dirs[a] / g.spacingMm[a];
    }
    if (ras) g.originMm = {-g.originMm.x, -g.originMm.y, g.originMm.z};
    const std::size_t bytes = g.voxelCount();
    if (s.size() - (end + 2) < bytes)
        return bad(fmt::format("data is truncated ({} of {} bytes)", s.size() - (end + 2), bytes));
    model::LabelMap labels(g);
    std::memcpy(labels.voxels.data(), s.data() + end + 2, bytes);
    return labels;
}

} // namespace precis::anatomy
