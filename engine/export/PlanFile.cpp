#include "export/PlanFile.h"

#include "core/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fmt/format.h>

namespace precis::exporting {
namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kPlanFormat = "precis-plan";
constexpr std::string_view kDeviceFormat = "precis-devices";

json vec3(const glm::dvec3& v) { return json::array({v.x, v.y, v.z}); }

/// Field access that reports the JSON path of what is wrong; nlohmann's exceptions stay inside
/// this file (DESIGN.md: no exception crosses an engine API).
struct Reader {
    std::string source;
    std::string error;

    bool fail(const std::string& path, const std::string& what) {
        if (error.empty()) error = fmt::format("{}: {} {}", source, path, what);
        return false;
    }
    bool has(const json& o, const char* key) const { return o.is_object() && o.contains(key); }

    std::string str(const json& o, const char* key, const std::string& path, bool required = false) {
        if (!has(o, key)) {
            if (required) fail(path + "." + key, "is missing");
            return {};
        }
        const json& v = o.at(key);
        if (!v.is_string()) {
            fail(path + "." + key, "must be a string");
            return {};
        }
        return v.get<std::string>();
    }
    double num(const json& o, const char* key, const std::string& path, double fallback,
               bool required = false) {
        if (!has(o, key)) {
            if (required) fail(path + "." + key, "is missing");
            return fallback;
        }
        const json& v = o.at(key);
        if (!v.is_number() || !std::isfinite(v.get<double>())) {
            fail(path + "." + key, "must be a finite number");
            return fallback;
        }
        return v.get<double>();
    }
    bool boolean(const json& o, const char* key, const std::string& path, bool fallback) {
        if (!has(o, key)) return fallback;
        if (!o.at(key).is_boolean()) {
            fail(path + "." + key, "must be true or false");
            return fallback;
        }
        return o.at(key).get<bool>();
    }
    glm::dvec3 point(const json& v, const std::string& path) {
        if (!v.is_array() || v.size() != 3) {
            fail(path, "must be an array of three numbers [x, y, z] (LPS mm)");
            return {};
        }
        glm::dvec3 p{0.0};
        for (int i = 0; i < 3; ++i) {
            if (!v[i].is_number() || !std::isfinite(v[i].get<double>())) {
                fail(path, "must hold three finite numbers (LPS mm)");
                return {};
            }
            p[i] = v[i].get<double>();
        }
        return p;
    }
    glm::dvec3 point(const json& o, const char* key, const std::string& path) {
        if (!has(o, key)) {
            fail(path + "." + key, "is missing");
            return {};
        }
        return point(o.at(key), path + "." + key);
    }
    std::vector<std::string> strings(const json& o, const char* key, const std::string& path) {
        std::vector<std::string> out;
        if (!has(o, key)) return out;
        const json& v = o.at(key);
        if (!v.is_array()) {
            fail(path + "." + key, "must be an array of strings");
            return out;
        }
        for (const json& s : v) {
            if (!s.is_string()) {
                fail(path + "." + key, "must be an array of strings");
                return {};
            }
            out.push_back(s.get<std::string>());
        }
        return out;
    }
    const json* array(const json& o, const char* key, const std::string& path) {
        if (!has(o, key)) return nullptr;
        if (!o.at(key).is_array()) {
            fail(path + "." + key, "must be an array");
            return nullptr;
        }
        return &o.at(key);
    }
};

Result<json> parse(std::string_view text, const std::string& sourceName) {
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        // Re-parse with exceptions only to learn where it broke, for the message.
        std::string where;
        try {
            const json ignored = json::parse(text);
            (void)ignored;
        } catch (const json::parse_error& e) {
            where = e.what();
        }
        return fail(ErrorCode::ParseError, fmt::format("{} is not valid JSON", sourceName), where);
    }
    if (!doc.is_object()) {
        return fail(ErrorCode::ParseError, fmt::format("{}: expected a JSON object", sourceName));
    }
    return doc;
}

Result<void> checkFormat(const json& doc, std::string_view format, int newestVersion,
                         const std::string& sourceName) {
    if (!doc.contains("format") || doc.at("format") != format) {
        return fail(ErrorCode::ParseError,
                    fmt::format("{} is not a {} file (its \"format\" field is not \"{}\")",
                                sourceName, format, format));
    }
    if (!doc.contains("version") || !doc.at("version").is_number_integer()) {
        return fail(ErrorCode::ParseError,
                    fmt::format("{}: \"version\" is missing or not an integer", sourceName));
    }
    const int version = doc.at("version").get<int>();
    if (version < 1 || version > newestVersion) {
        return fail(ErrorCode::Unsupported,
                    fmt::format("{} is {} version {}; this Precis reads versions 1 to {}: "
                                "open it with a newer Precis",
                                sourceName, format, version, newestVersion));
    }
    if (doc.contains("frame") && doc.at("frame") != "LPS") {
        return fail(ErrorCode::ParseError,
                    fmt::format("{}: \"frame\" must be \"LPS\" (coordinates are DICOM patient "
                                "LPS millimetres)",
                                sourceName));
    }
    return {};
}

json evaluationObject(const planning::TrajectoryEvaluation& e) {
    json collisions = json::array();
    auto collision = [](const planning::Collision& c) {
        return json{{"structure", c.structure},
                    {"entryDepthMm", c.entryDepthMm},
                    {"exitDepthMm", c.exitDepthMm},
                    {"kind", model::toString(c.kind)},
                    {"role", model::toString(c.role)}};
    };
    for (const auto& c : e.collisions) collisions.push_back(collision(c));
    json intended = json::array();
    for (const auto& c : e.intendedContacts) intended.push_back(collision(c));
    json clearances = json::array();
    for (const auto& c : e.clearances) {
        clearances.push_back({{"structure", c.structure},
                              {"minMm", c.minMm},
                              {"pointLps", vec3(c.pointLps)},
                              {"onPathLps", vec3(c.onPathLps)},
                              {"depthMm", c.depthMm},
                              {"kind", model::toString(c.kind)},
                              {"role", model::toString(c.role)}});
    }
    json o{{"name", e.name},
           {"device", e.deviceId},
           {"entryLps", vec3(e.entryLps)},
           {"targetLps", vec3(e.targetLps)},
           {"tipLps", vec3(e.tipLps)},
           {"lengthMm", e.lengthMm},
           {"usableLengthMm", e.usableLengthMm},
           {"angleToAxialDeg", e.angleToAxialDeg},
           {"angleToSagittalDeg", e.angleToSagittalDeg}};
    if (e.angleToViewDeg) o["angleToViewDeg"] = *e.angleToViewDeg;
    o["collisions"] = collisions;
    o["intendedContacts"] = intended;
    o["clearances"] = clearances;
    o["riskScore"] = e.riskScore;
    o["verdict"] = planning::toString(e.verdict);
    o["reasons"] = e.reasons;
    o["warnings"] = e.warnings;
    return o;
}

} // namespace

std::string evaluationToJson(const planning::TrajectoryEvaluation& evaluation) {
    return evaluationObject(evaluation).dump(2);
}

std::string evaluationToJson(const planning::PlanEvaluation& evaluation) {
    json doc;
    json list = json::array();
    for (const auto& t : evaluation.trajectories) list.push_back(evaluationObject(t));
    doc["trajectories"] = list;
    json conflicts = json::array();
    for (const auto& c : evaluation.conflicts) {
        conflicts.push_back({{"first", c.first},
                             {"second", c.second},
                             {"distanceMm", c.distanceMm},
                             {"pointLps", vec3(c.pointLps)}});
    }
    doc["conflicts"] = conflicts;
    return doc.dump(2);
}

std::string planToJson(const model::Plan& plan) {
    json doc;
    doc["format"] = kPlanFormat;
    doc["version"] = model::Plan::kFormatVersion;
    doc["frame"] = "LPS";
    doc["units"] = "mm";
    doc["name"] = plan.name;
    doc["series"] = {{"seriesInstanceUid", plan.series.seriesInstanceUid},
                     {"studyInstanceUid", plan.series.studyInstanceUid},
                     {"frameOfReferenceUid", plan.series.frameOfReferenceUid},
                     {"path", plan.series.path},
                     {"patientName", plan.series.patientName},
                     {"patientId", plan.series.patientId}};
    doc["safety"] = {{"amberClearanceMm", plan.safety.amberClearanceMm},
                     {"deviceConflictMm", plan.safety.deviceConflictMm},
                     {"tipContactZoneMm", plan.safety.tipContactZoneMm}};
    json roles = json::array();
    for (const model::StructureRoleOverride& o : plan.structureRoles)
        roles.push_back({{"structure", o.structure}, {"role", model::toString(o.role)}});
    doc["structureRoles"] = roles;
    json trajectories = json::array();
    for (const model::Trajectory& t : plan.trajectories) {
        json cps = json::array();
        for (const glm::dvec3& p : t.controlPointsLps) cps.push_back(vec3(p));
        trajectories.push_back({{"name", t.name},
                                {"procedure", t.procedure},
                                {"level", t.level},
                                {"side", t.side},
                                {"device", t.deviceId},
                                {"entryLps", vec3(t.entryLps)},
                                {"targetLps", vec3(t.targetLps)},
                                {"insertionDepthMm", t.insertionDepthMm},
                                {"bevelRotationDeg", t.bevelRotationDeg},
                                {"controlPointsLps", cps},
                                {"intendedContact", t.intendedContact},
                                {"expectedNearby", t.expectedNearby}});
    }
    doc["trajectories"] = trajectories;
    json landmarks = json::array();
    for (const model::PlanLandmark& l : plan.landmarks) {
        landmarks.push_back({{"name", l.name},
                             {"kind", l.kind},
                             {"level", l.level},
                             {"side", l.side},
                             {"lps", vec3(l.lps)}});
    }
    doc["landmarks"] = landmarks;
    json measurements = json::array();
    for (const model::PlanMeasurement& m : plan.measurements) {
        json points = json::array();
        for (const glm::dvec3& p : m.pointsLps) points.push_back(vec3(p));
        measurements.push_back({{"kind", model::toString(m.kind)},
                                {"pointsLps", points},
                                {"value", model::measurementValue(m)},
                                {"unit", model::measurementUnit(m.kind)},
                                {"pane", m.pane}});
    }
    doc["measurements"] = measurements;
    doc["notes"] = plan.notes;
    return doc.dump(2) + "\n";
}

Result<model::Plan> planFromJson(std::string_view text, const std::string& sourceName) {
    auto doc = parse(text, sourceName);
    if (!doc) return std::unexpected(doc.error());
    if (auto ok = checkFormat(*doc, kPlanFormat, model::Plan::kFormatVersion, sourceName); !ok) {
        return std::unexpected(ok.error());
    }
    Reader r{sourceName, {}};
    model::Plan plan;
    plan.name = r.str(*doc, "name", "");
    plan.notes = r.str(*doc, "notes", "");
    if (r.has(*doc, "series")) {
        const json& s = doc->at("series");
        plan.series.seriesInstanceUid = r.str(s, "seriesInstanceUid", "series");
        plan.series.studyInstanceUid = r.str(s, "studyInstanceUid", "series");
        plan.series.frameOfReferenceUid = r.str(s, "frameOfReferenceUid", "series");
        plan.series.path = r.str(s, "path", "series");
        plan.series.patientName = r.str(s, "patientName", "series");
        plan.series.patientId = r.str(s, "patientId", "series");
    }
    if (r.has(*doc, "safety")) {
        const json& s = doc->at("safety");
        plan.safety.amberClearanceMm =
            r.num(s, "amberClearanceMm", "safety", plan.safety.amberClearanceMm);
        plan.safety.deviceConflictMm =
            r.num(s, "deviceConflictMm", "safety", plan.safety.deviceConflictMm);
        plan.safety.tipContactZoneMm =
            r.num(s, "tipContactZoneMm", "safety", plan.safety.tipContactZoneMm);
    }
    // Optional (plans written before roles were saved have none).
    if (const json* list = r.array(*doc, "structureRoles", "")) {
        for (std::size_t i = 0; i < list->size() && r.error.empty(); ++i) {
            const json& o = (*list)[i];
            const std::string path = fmt::format("structureRoles[{}]", i);
            model::StructureRoleOverride ro;
            ro.structure = r.str(o, "structure", path, true);
            const std::string role = r.str(o, "role", path, true);
            if (!r.error.empty()) break;
            const auto parsed = model::structureRoleFromString(role);
            if (!parsed) {
                r.fail(path + ".role", fmt::format("must be \"must-avoid\", \"caution\", "
                                                   "\"target\" or \"none\" (not \"{}\")",
                                                   role));
                break;
            }
            ro.role = *parsed;
            for (const auto& earlier : plan.structureRoles)
                if (earlier.structure == ro.structure)
                    r.fail(path + ".structure", fmt::format("\"{}\" is given twice", ro.structure));
            plan.structureRoles.push_back(std::move(ro));
        }
    }
    if (const json* list = r.array(*doc, "trajectories", "")) {
        for (std::size_t i = 0; i < list->size(); ++i) {
            const json& o = (*list)[i];
            const std::string path = fmt::format("trajectories[{}]", i);
            if (!o.is_object()) {
                r.fail(path, "must be an object");
                break;
            }
            model::Trajectory t;
            t.name = r.str(o, "name", path, true);
            t.procedure = r.str(o, "procedure", path);
            t.level = r.str(o, "level", path);
            t.side = r.str(o, "side", path);
            t.deviceId = r.str(o, "device", path, true);
            t.entryLps = r.point(o, "entryLps", path);
            t.targetLps = r.point(o, "targetLps", path);
            t.insertionDepthMm = r.num(o, "insertionDepthMm", path, 0.0);
            t.bevelRotationDeg = r.num(o, "bevelRotationDeg", path, 0.0);
            if (const json* cps = r.array(o, "controlPointsLps", path)) {
                for (std::size_t k = 0; k < cps->size(); ++k) {
                    t.controlPointsLps.push_back(
                        r.point((*cps)[k], fmt::format("{}.controlPointsLps[{}]", path, k)));
                }
            }
            t.intendedContact = r.strings(o, "intendedContact", path);
            t.expectedNearby = r.strings(o, "expectedNearby", path);
            if (!r.error.empty()) break;
            if (plan.find(t.name) != nullptr) {
                r.fail(path + ".name", fmt::format("\"{}\" is used twice", t.name));
                break;
            }
            plan.trajectories.push_back(std::move(t));
        }
    }
    if (const json* list = r.array(*doc, "landmarks", "")) {
        for (std::size_t i = 0; i < list->size() && r.error.empty(); ++i) {
            const json& o = (*list)[i];
            const std::string path = fmt::format("landmarks[{}]", i);
            model::PlanLandmark l;
            l.name = r.str(o, "name", path, true);
            l.kind = r.str(o, "kind", path);
            l.level = r.str(o, "level", path);
            l.side = r.str(o, "side", path);
            l.lps = r.point(o, "lps", path);
            plan.landmarks.push_back(std::move(l));
        }
    }
    // Optional (plans written before measurements were saved have none). "value" and "unit" are
    // for readers; the value is recomputed from the points.
    if (const json* list = r.array(*doc, "measurements", "")) {
        for (std::size_t i = 0; i < list->size() && r.error.empty(); ++i) {
            const json& o = (*list)[i];
            const std::string path = fmt::format("measurements[{}]", i);
            model::PlanMeasurement m;
            const std::string kind = r.str(o, "kind", path, true);
            if (!r.error.empty()) break;
            const auto k = model::measurementKindFromString(kind);
            if (!k) {
                r.fail(path + ".kind", fmt::format("must be \"distance\" or \"angle\" (not \"{}\")", kind));
                break;
            }
            m.kind = *k;
            if (const json* pts = r.array(o, "pointsLps", path)) {
                for (std::size_t j = 0; j < pts->size(); ++j)
                    m.pointsLps.push_back(
                        r.point((*pts)[j], fmt::format("{}.pointsLps[{}]", path, j)));
            }
            if (!r.error.empty()) break;
            if (m.pointsLps.size() != model::measurementPointCount(m.kind)) {
                r.fail(path + ".pointsLps",
                       fmt::format("must hold {} points for a {} (it has {})",
                                   model::measurementPointCount(m.kind), kind,
                                   m.pointsLps.size()));
                break;
            }
            m.pane = r.str(o, "pane", path);
            plan.measurements.push_back(std::move(m));
        }
    }
    if (!r.error.empty()) return fail(ErrorCode::ParseError, r.error);
    return plan;
}

Result<void> savePlan(const model::Plan& plan, const std::filesystem::path& path) {
    return writeFileAtomically(path, planToJson(plan));
}

std::filesystem::path autosavePath(const std::filesystem::path& planPath) {
    std::filesystem::path p = planPath;
    p += ".autosave";
    return p;
}

Result<void> autosavePlan(const model::Plan& plan, const std::filesystem::path& planPath) {
    return writeFileAtomically(autosavePath(planPath), planToJson(plan));
}

std::optional<model::Plan> recoverAutosave(const std::filesystem::path& planPath) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path autosave = autosavePath(planPath);
    if (!fs::exists(autosave, ec)) return std::nullopt;
    if (fs::exists(planPath, ec) &&
        fs::last_write_time(autosave, ec) <= fs::last_write_time(planPath, ec)) {
        return std::nullopt;
    }
    auto plan = loadPlan(autosave);
    if (!plan) return std::nullopt;
    return std::move(*plan);
}

void discardAutosave(const std::filesystem::path& planPath) {
    std::error_code ec;
    std::filesystem::remove(autosavePath(planPath), ec);
}

Result<model::Plan> loadPlan(const std::filesystem::path& path) {
    auto text = readFile(path);
    if (!text) return std::unexpected(text.error());
    return planFromJson(*text, path.string());
}

Result<model::DeviceCatalog> deviceCatalogFromJson(std::string_view text,
                                                   const std::string& sourceName) {
    auto doc = parse(text, sourceName);
    if (!doc) return std::unexpected(doc.error());
    if (auto ok = checkFormat(*doc, kDeviceFormat, 1, sourceName); !ok) {
        return std::unexpected(ok.error());
    }
    Reader r{sourceName, {}};
    model::DeviceCatalog catalog;
    const json* list = r.array(*doc, "devices", "");
    if (list == nullptr) {
        return fail(ErrorCode::ParseError, fmt::format("{}: \"devices\" is missing", sourceName));
    }
    for (std::size_t i = 0; i < list->size() && r.error.empty(); ++i) {
        const json& o = (*list)[i];
        const std::string path = fmt::format("devices[{}]", i);
        model::Device d;
        d.id = r.str(o, "id", path, true);
        d.name = r.str(o, "name", path, true);
        const std::string type = r.str(o, "type", path, true);
        if (auto t = model::deviceTypeFromString(type)) {
            d.type = *t;
        } else if (r.error.empty()) {
            r.fail(path + ".type", fmt::format("\"{}\" is not a device type", type));
        }
        if (r.has(o, "gauge")) d.gauge = static_cast<int>(r.num(o, "gauge", path, 0));
        d.outerDiameterMm = r.num(o, "outerDiameterMm", path, 0, true);
        d.usableLengthMm = r.num(o, "usableLengthMm", path, 0, true);
        d.activeTipMm = r.num(o, "activeTipMm", path, 0);
        d.curved = r.boolean(o, "curved", path, false);
        d.curveDeg = r.num(o, "curveDeg", path, 0);
        d.tip = r.str(o, "tip", path);
        d.source = r.str(o, "source", path, true);
        d.reference = r.str(o, "reference", path);
        if (const json* contacts = r.array(o, "contacts", path)) {
            for (const json& c : *contacts) {
                d.contacts.push_back({r.num(c, "offsetMm", path + ".contacts", 0, true),
                                      r.num(c, "lengthMm", path + ".contacts", 0, true)});
            }
        }
        if (!r.error.empty()) break;
        if (d.outerDiameterMm <= 0 || d.usableLengthMm <= 0) {
            r.fail(path, "needs a positive outerDiameterMm and usableLengthMm");
            break;
        }
        if (d.source != "manufacturer" && d.source != "typical") {
            r.fail(path + ".source", "must be \"manufacturer\" or \"typical\"");
            break;
        }
        if (catalog.find(d.id) != nullptr) {
            r.fail(path + ".id", fmt::format("\"{}\" is used twice", d.id));
            break;
        }
        catalog.devices.push_back(std::move(d));
    }
    if (!r.error.empty()) return fail(ErrorCode::ParseError, r.error);
    return catalog;
}

const model::DeviceCatalog& builtinDeviceCatalog() {
    static const model::DeviceCatalog catalog = [] {
        static constexpr std::string_view kText =
#include "devices.json.inc"
            ;
        auto parsed = deviceCatalogFromJson(kText, "assets/devices.json (built in)");
        // The built-in catalogue is checked by tests; a broken one is a build defect.
        if (!parsed) return model::DeviceCatalog{};
        return *parsed;
    }();
    return catalog;
}

} // namespace precis::exporting
