#include "export/SlicerMarkups.h"

#include "core/AtomicFile.h"
#include "export/Frame.h"
#include "model/TrajectoryColor.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>

namespace precis::exporting {
namespace {

using json = nlohmann::ordered_json;

json xyz(const glm::dvec3& v) {
    return json::array({v.x, v.y, v.z});
}

double polylineLengthMm(const std::vector<glm::dvec3>& pts) {
    double length = 0.0;
    for (std::size_t i = 1; i < pts.size(); ++i)
        length += glm::length(pts[i] - pts[i - 1]);
    return length;
}

json controlPoint(int id, const std::string& label, const std::string& description,
                  const glm::dvec3& lps) {
    return {{"id", std::to_string(id)},
            {"label", label},
            {"description", description},
            {"associatedNodeID", ""},
            {"position", xyz(lps)},
            {"orientation", {-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0}},
            {"selected", true},
            {"locked", false},
            {"visibility", true},
            {"positionStatus", "defined"}};
}

json display(const std::array<std::uint8_t, 3>& rgb) {
    const json c = {rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0};
    return {{"visibility", true},
            {"opacity", 1.0},
            {"color", c},
            {"selectedColor", c},
            {"propertiesLabelVisibility", true},
            {"pointLabelsVisibility", true},
            {"textScale", 3.0},
            {"glyphType", "Sphere3D"},
            {"glyphScale", 1.0},
            {"glyphSize", 5.0},
            {"useGlyphScale", true},
            {"lineThickness", 0.2},
            {"snapMode", "toVisibleSurface"}};
}

json markupHeader(const std::string& type, const std::string& name, int points) {
    return {{"type", type},
            {"coordinateSystem", "LPS"},
            {"coordinateUnits", "mm"},
            {"locked", false},
            {"fixedNumberOfControlPoints", false},
            {"labelFormat", "%N-%d"},
            {"lastUsedControlPointNumber", points},
            {"name", name}};
}

// --- reading ---------------------------------------------------------------------------------

/// Reading context: every error names the file and where in it.
struct Reader {
    const std::string& source;
    std::vector<std::string>& warnings;

    [[nodiscard]] std::unexpected<Error> bad(const std::string& what) const {
        return fail(ErrorCode::ParseError, fmt::format("{}: {}", source, what));
    }
};

std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// mm per unit of the markup's coordinateUnits (string or [code, scheme, meaning]).
Result<double> unitScale(const Reader& r, const json& m, const std::string& where) {
    auto it = m.find("coordinateUnits");
    if (it == m.end()) return 1.0;
    std::string unit;
    if (it->is_string())
        unit = it->get<std::string>();
    else if (it->is_array() && !it->empty() && (*it)[0].is_string())
        unit = (*it)[0].get<std::string>();
    if (unit == "mm") return 1.0;
    if (unit == "um") return 0.001;
    return r.bad(fmt::format("{}: unsupported coordinateUnits (mm or um)", where));
}

Result<Frame> frameOf(const Reader& r, const json& m, const std::string& where) {
    auto it = m.find("coordinateSystem");
    if (it == m.end()) return Frame::Lps; // the schema's default
    if (it->is_string())
        if (auto f = frameFromString(it->get<std::string>())) return *f;
    return r.bad(fmt::format("{}: coordinateSystem must be \"LPS\" or \"RAS\"", where));
}

struct Point {
    std::string label, description;
    std::string level, side; // Precis landmarks' "precis" property
    glm::dvec3 lps{0.0};
};

/// The markup's defined control points, in LPS mm.
Result<std::vector<Point>> points(const Reader& r, const json& m, const std::string& where) {
    auto frame = frameOf(r, m, where);
    if (!frame) return std::unexpected(frame.error());
    auto scale = unitScale(r, m, where);
    if (!scale) return std::unexpected(scale.error());
    std::vector<Point> out;
    auto it = m.find("controlPoints");
    if (it == m.end()) return out;
    if (!it->is_array()) return r.bad(where + ": controlPoints is not an array");
    for (std::size_t i = 0; i < it->size(); ++i) {
        const json& cp = (*it)[i];
        const std::string at = fmt::format("{}, control point {}", where, i + 1);
        if (!cp.is_object()) return r.bad(at + " is not an object");
        if (str(cp, "positionStatus") == "undefined") {
            r.warnings.push_back(at + " has no position (undefined): skipped");
            continue;
        }
        auto pos = cp.find("position");
        if (pos == cp.end() || !pos->is_array() || pos->size() != 3 || !(*pos)[0].is_number() ||
            !(*pos)[1].is_number() || !(*pos)[2].is_number())
            return r.bad(at + ": position is not three numbers");
        glm::dvec3 p((*pos)[0].get<double>(), (*pos)[1].get<double>(), (*pos)[2].get<double>());
        if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z))
            return r.bad(at + ": position is not finite");
        if (*scale != 1.0) p *= *scale;
        Point point{str(cp, "label"), str(cp, "description"), {}, {}, toLps(p, *frame)};
        if (auto extra = cp.find("precis"); extra != cp.end() && extra->is_object()) {
            point.level = str(*extra, "level");
            point.side = str(*extra, "side");
        }
        out.push_back(std::move(point));
    }
    return out;
}

void readPrecisFields(const json& m, model::Trajectory& t) {
    auto it = m.find("precis");
    if (it == m.end() || !it->is_object()) return;
    const json& p = *it;
    t.procedure = str(p, "procedure").empty() ? t.procedure : str(p, "procedure");
    t.level = str(p, "level");
    t.side = str(p, "side");
    t.deviceId = str(p, "device");
    if (auto d = p.find("insertionDepthMm"); d != p.end() && d->is_number())
        t.insertionDepthMm = d->get<double>();
    if (auto d = p.find("bevelRotationDeg"); d != p.end() && d->is_number())
        t.bevelRotationDeg = d->get<double>();
    if (auto c = p.find("intendedContact"); c != p.end() && c->is_array())
        for (const auto& s : *c)
            if (s.is_string()) t.intendedContact.push_back(s.get<std::string>());
}

Result<std::optional<model::Trajectory>> trajectoryFrom(const Reader& r, const json& m,
                                                        const std::string& where) {
    auto pts = points(r, m, where);
    if (!pts) return std::unexpected(pts.error());
    if (pts->size() < 2) {
        r.warnings.push_back(where + " has fewer than two defined points: skipped");
        return std::optional<model::Trajectory>();
    }
    model::Trajectory t;
    t.name = str(m, "name");
    t.procedure = "manual";
    int entry = -1, target = -1;
    for (std::size_t i = 0; i < pts->size(); ++i) {
        if ((*pts)[i].label == "Entry" && entry < 0) entry = static_cast<int>(i);
        if ((*pts)[i].label == "Target" && target < 0) target = static_cast<int>(i);
    }
    const int last = static_cast<int>(pts->size()) - 1;
    if (entry < 0 || target < 0) {
        r.warnings.push_back(where +
                             " has no points labelled Entry and Target: the first point was "
                             "taken as the entry and the last as the target");
        entry = 0;
        target = last;
    }
    if (entry == target) return r.bad(where + ": the entry and the target are the same point");
    t.entryLps = (*pts)[static_cast<std::size_t>(entry)].lps;
    t.targetLps = (*pts)[static_cast<std::size_t>(target)].lps;
    // Whatever lies between them (in file order, entry to target) steers a lead.
    const int step = target > entry ? 1 : -1;
    for (int i = entry + step; i != target; i += step)
        t.controlPointsLps.push_back((*pts)[static_cast<std::size_t>(i)].lps);
    readPrecisFields(m, t);
    return std::optional<model::Trajectory>(std::move(t));
}

} // namespace

std::string markupsToJson(const model::Plan& plan) {
    json markups = json::array();
    for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
        const model::Trajectory& t = plan.trajectories[i];
        std::vector<glm::dvec3> path{t.entryLps};
        path.insert(path.end(), t.controlPointsLps.begin(), t.controlPointsLps.end());
        path.push_back(t.targetLps);
        const bool curve = !t.controlPointsLps.empty();
        json m = markupHeader(curve ? "Curve" : "Line", t.name, static_cast<int>(path.size()));
        json cps = json::array();
        for (std::size_t k = 0; k < path.size(); ++k) {
            const std::string label = k == 0                 ? "Entry"
                                      : k + 1 == path.size() ? "Target"
                                                             : fmt::format("Control {}", k);
            cps.push_back(controlPoint(static_cast<int>(k + 1), label, "", path[k]));
        }
        m["controlPoints"] = cps;
        m["measurements"] = json::array({{{"name", "length"},
                                          {"enabled", true},
                                          {"value", polylineLengthMm(path)},
                                          {"units", "mm"},
                                          {"printFormat", "%-#4.4g%s"}}});
        m["display"] = display(model::trajectoryColor(i));
        m["precis"] = {{"procedure", t.procedure},
                       {"level", t.level},
                       {"side", t.side},
                       {"device", t.deviceId},
                       {"insertionDepthMm", t.insertionDepthMm},
                       {"bevelRotationDeg", t.bevelRotationDeg},
                       {"intendedContact", t.intendedContact}};
        markups.push_back(std::move(m));
    }
    if (!plan.landmarks.empty()) {
        json m = markupHeader("Fiducial", "Landmarks", static_cast<int>(plan.landmarks.size()));
        json cps = json::array();
        for (std::size_t k = 0; k < plan.landmarks.size(); ++k) {
            const auto& l = plan.landmarks[k];
            json cp = controlPoint(static_cast<int>(k + 1), l.name, l.kind, l.lps);
            cp["precis"] = {{"level", l.level}, {"side", l.side}};
            cps.push_back(std::move(cp));
        }
        m["controlPoints"] = cps;
        m["measurements"] = json::array();
        m["display"] = display({255, 255, 255});
        markups.push_back(std::move(m));
    }
    json doc = {{"@schema", std::string(kMarkupsSchemaUrl)}, {"markups", markups}};
    return doc.dump(4, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<void> exportSlicerMarkups(const model::Plan& plan, const std::filesystem::path& file) {
    return writeFileAtomically(file, markupsToJson(plan));
}

Result<SlicerMarkups> markupsFromJson(std::string_view text, const std::string& sourceName) {
    SlicerMarkups out;
    Reader r{sourceName, out.warnings};
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::exception& e) {
        // nlohmann throws; no exception leaves the engine (DESIGN.md "Errors" 4).
        return fail(ErrorCode::ParseError, fmt::format("{}: not JSON", sourceName), e.what());
    }
    if (!doc.is_object()) return r.bad("not a markups file (the top level is not an object)");
    if (!doc.contains("markups") || !doc["markups"].is_array())
        return r.bad("not a markups file (no \"markups\" array)");
    std::size_t i = 0;
    for (const json& m : doc["markups"]) {
        ++i;
        if (!m.is_object()) return r.bad(fmt::format("markup {} is not an object", i));
        const std::string type = str(m, "type");
        const std::string where = fmt::format("markup {} ('{}')", i, str(m, "name"));
        if (type == "Line" || type == "Curve") {
            auto t = trajectoryFrom(r, m, where);
            if (!t) return std::unexpected(t.error());
            if (*t) out.trajectories.push_back(std::move(**t));
        } else if (type == "Fiducial") {
            auto pts = points(r, m, where);
            if (!pts) return std::unexpected(pts.error());
            for (auto& p : *pts) {
                model::PlanLandmark l;
                l.name = p.label;
                l.kind = p.description;
                l.level = p.level;
                l.side = p.side;
                l.lps = p.lps;
                out.landmarks.push_back(std::move(l));
            }
        } else if (type.empty()) {
            return r.bad(where + " has no type");
        } else {
            out.warnings.push_back(fmt::format("{} is a {}: skipped (only Line, Curve and "
                                               "Fiducial markups carry plan data)",
                                               where, type));
        }
    }
    return out;
}

Result<SlicerMarkups> importSlicerMarkups(const std::filesystem::path& file) {
    auto text = readFile(file);
    if (!text) return std::unexpected(text.error());
    return markupsFromJson(*text, file.string());
}

} // namespace precis::exporting
