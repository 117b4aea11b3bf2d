#include "phantom/LumbarPhantom.h"

#include "core/Parallel.h"
#include "phantom/LumbarModel.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>

namespace precis::phantom {

namespace {

const LumbarModel& sharedModel() {
    static const LumbarModel model; // immutable after construction; thread-safe init
    return model;
}

std::uint64_t splitMix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

Result<void> validate(const PhantomOptions& o) {
    constexpr int kMaxDim = 2048;
    if (o.columns < 1 || o.rows < 1 || o.slices < 1 || o.columns > kMaxDim || o.rows > kMaxDim ||
        o.slices > kMaxDim) {
        return fail(ErrorCode::InvalidArgument,
                    "Phantom size must be 1 to 2048 voxels along each axis.",
                    "columns=" + std::to_string(o.columns) + " rows=" + std::to_string(o.rows) +
                        " slices=" + std::to_string(o.slices));
    }
    if (!(o.pixelMm > 0.05 && o.pixelMm < 20.0) || !(o.sliceMm > 0.05 && o.sliceMm < 20.0)) {
        return fail(ErrorCode::InvalidArgument, "Phantom spacing must be between 0.05 and 20 mm.",
                    "pixelMm=" + std::to_string(o.pixelMm) +
                        " sliceMm=" + std::to_string(o.sliceMm));
    }
    if (!(o.noiseSdHu >= 0.0 && o.noiseSdHu <= 1000.0)) {
        return fail(ErrorCode::InvalidArgument, "Phantom noise SD must be between 0 and 1000 HU.",
                    "noiseSdHu=" + std::to_string(o.noiseSdHu));
    }
    return {};
}

} // namespace

Result<Phantom> makeLumbarPhantom(const PhantomOptions& options, const Progress& progress) {
    if (auto ok = validate(options); !ok) return std::unexpected(ok.error());
    const LumbarModel& model = sharedModel();
    const model::ImageGeometry grid = model.gridFor(options);

    Phantom ph;
    ph.ct = model::Volume(grid, std::int16_t{-1000});
    ph.labels = model::LabelMap(grid, std::uint8_t{0});
    ph.ct.identity.patientName = "PHANTOM^LUMBAR";
    ph.ct.identity.patientId = "PRECIS-PHANTOM";
    ph.ct.identity.modality = "CT";
    ph.ct.identity.patientPosition = "HFP";
    ph.ct.identity.seriesDescription = "Lumbar phantom L2-S1 (synthetic)";
    ph.ct.windowCenter = 400.0;
    ph.ct.windowWidth = 1800.0;

    const std::size_t sliceVoxels =
        static_cast<std::size_t>(options.columns) * static_cast<std::size_t>(options.rows);
    const int slices = options.slices;
    // Batches so progress is reported (and cancel checked) from the calling thread.
    const int batches = std::min(slices, 16);
    std::atomic<bool> stop{false};
    constexpr const char* kStage = "Generating lumbar phantom";
    progress.report(0.0, kStage);
    for (int b = 0; b < batches; ++b) {
        if (progress.cancelled())
            return fail(ErrorCode::Cancelled, "Phantom generation was cancelled.");
        const auto k0 = static_cast<std::size_t>(static_cast<long long>(slices) * b / batches);
        const auto k1 =
            static_cast<std::size_t>(static_cast<long long>(slices) * (b + 1) / batches);
        parallelFor(k0, k1, [&](std::size_t begin, std::size_t end) {
            std::vector<float> hu(sliceVoxels);
            for (std::size_t k = begin; k < end; ++k) {
                if (stop.load(std::memory_order_relaxed)) return;
                if (progress.cancelled()) {
                    stop.store(true, std::memory_order_relaxed);
                    return;
                }
                const std::span<std::uint8_t> lab(ph.labels.voxels.data() + k * sliceVoxels,
                                                  sliceVoxels);
                model.sampleSlice(grid, static_cast<int>(k), lab, hu);
                // Per-slice generator: results do not depend on how slices are split up.
                std::mt19937_64 rng(splitMix64(options.seed) ^ splitMix64(k + 1));
                std::normal_distribution<float> noise(0.0f, static_cast<float>(options.noiseSdHu));
                std::int16_t* out = ph.ct.voxels.data() + k * sliceVoxels;
                const bool noisy = options.noiseSdHu > 0.0;
                for (std::size_t v = 0; v < sliceVoxels; ++v) {
                    const float value = hu[v] + (noisy ? noise(rng) : 0.0f);
                    out[v] =
                        static_cast<std::int16_t>(std::clamp(std::lround(value), -1024L, 3071L));
                }
            }
        });
        if (stop.load()) return fail(ErrorCode::Cancelled, "Phantom generation was cancelled.");
        progress.report(static_cast<double>(b + 1) / batches, kStage);
    }
    ph.truth = model.truth();
    return ph;
}

// ------------------------------------------------------------------------------------------------
// truth.json

std::string truthToJson(const Truth& truth) {
    using nlohmann::json;
    json j;
    j["frame"] = "LPS";
    j["units"] = "mm";
    json structures = json::array();
    for (const auto& s : truth.structures) {
        structures.push_back({{"name", s.name},
                              {"label", s.label},
                              {"kind", std::string(model::toString(s.kind))},
                              {"role", std::string(model::toString(s.role))}});
    }
    j["structures"] = std::move(structures);
    auto point = [](const glm::dvec3& p) { return json::array({p.x, p.y, p.z}); };
    json landmarks = json::array();
    for (const auto& l : truth.landmarks) {
        landmarks.push_back({{"name", l.name},
                             {"kind", l.kind},
                             {"level", l.level},
                             {"side", l.side},
                             {"lps", point(l.lps)}});
    }
    j["landmarks"] = std::move(landmarks);
    json polylines = json::array();
    for (const auto& p : truth.polylines) {
        json pts = json::array();
        for (const auto& q : p.lps) pts.push_back(point(q));
        polylines.push_back({{"name", p.name},
                             {"kind", p.kind},
                             {"level", p.level},
                             {"side", p.side},
                             {"lps", std::move(pts)}});
    }
    j["polylines"] = std::move(polylines);
    return j.dump(1);
}

namespace {

using nlohmann::json;

std::unexpected<Error> bad(const std::string& what) {
    return fail(ErrorCode::ParseError, "The phantom truth file is not valid: " + what + ".", what);
}

Result<std::string> getString(const json& obj, const char* key, const std::string& where,
                              bool required) {
    const auto it = obj.find(key);
    if (it == obj.end()) {
        if (required) return bad(where + " has no \"" + key + "\"");
        return std::string{};
    }
    if (!it->is_string()) return bad(where + ": \"" + key + "\" must be a string");
    return it->get<std::string>();
}

/// name and kind (required), level and side (optional) of a landmark or polyline.
template <class T>
Result<void> readNaming(const json& obj, const std::string& where, T& out) {
    auto name = getString(obj, "name", where, true);
    auto kind = getString(obj, "kind", where, true);
    auto level = getString(obj, "level", where, false);
    auto side = getString(obj, "side", where, false);
    for (auto* r : {&name, &kind, &level, &side})
        if (!*r) return std::unexpected(r->error());
    out.name = *name;
    out.kind = *kind;
    out.level = *level;
    out.side = *side;
    return {};
}

Result<glm::dvec3> getPoint(const json& v, const std::string& where) {
    if (!v.is_array() || v.size() != 3) return bad(where + ": a point must be [x, y, z]");
    glm::dvec3 p;
    for (int i = 0; i < 3; ++i) {
        const json& c = v[static_cast<std::size_t>(i)];
        if (!c.is_number()) return bad(where + ": point coordinates must be numbers");
        p[i] = c.get<double>();
        if (!std::isfinite(p[i])) return bad(where + ": point coordinates must be finite");
    }
    return p;
}

Result<Truth> parseTruth(const json& j) {
    if (!j.is_object()) return bad("the top level must be a JSON object");
    if (auto f = getString(j, "frame", "the file", true); !f) {
        return std::unexpected(f.error());
    } else if (*f != "LPS") {
        return bad("frame is \"" + *f + "\", expected \"LPS\"");
    }
    if (auto u = getString(j, "units", "the file", true); !u) {
        return std::unexpected(u.error());
    } else if (*u != "mm") {
        return bad("units is \"" + *u + "\", expected \"mm\"");
    }
    Truth t;
    for (const char* key : {"structures", "landmarks", "polylines"}) {
        if (!j.contains(key) || !j[key].is_array())
            return bad(std::string("\"") + key + "\" must be an array");
    }
    for (std::size_t i = 0; i < j["structures"].size(); ++i) {
        const json& s = j["structures"][i];
        const std::string where = "structures[" + std::to_string(i) + "]";
        if (!s.is_object()) return bad(where + " must be an object");
        model::Structure st;
        auto name = getString(s, "name", where, true);
        if (!name) return std::unexpected(name.error());
        st.name = *name;
        const auto lab = s.find("label");
        if (lab == s.end() || !lab->is_number_integer() || lab->get<long long>() < 0 ||
            lab->get<long long>() > 255) {
            return bad(where + ": \"label\" must be an integer 0-255");
        }
        st.label = static_cast<std::uint8_t>(lab->get<long long>());
        auto kind = getString(s, "kind", where, true);
        if (!kind) return std::unexpected(kind.error());
        const auto k = model::structureKindFromString(*kind);
        if (!k) return bad(where + ": unknown kind \"" + *kind + "\"");
        st.kind = *k;
        st.role = model::defaultRole(*k);
        auto role = getString(s, "role", where, false);
        if (!role) return std::unexpected(role.error());
        if (!role->empty()) {
            const auto r = model::structureRoleFromString(*role);
            if (!r) return bad(where + ": unknown role \"" + *role + "\"");
            st.role = *r;
        }
        st.defaultColor = model::defaultColor(st.kind);
        t.structures.push_back(std::move(st));
    }
    for (std::size_t i = 0; i < j["landmarks"].size(); ++i) {
        const json& l = j["landmarks"][i];
        const std::string where = "landmarks[" + std::to_string(i) + "]";
        if (!l.is_object()) return bad(where + " must be an object");
        Landmark lm;
        if (auto ok = readNaming(l, where, lm); !ok) return std::unexpected(ok.error());
        if (!l.contains("lps")) return bad(where + " has no \"lps\"");
        auto p = getPoint(l["lps"], where);
        if (!p) return std::unexpected(p.error());
        lm.lps = *p;
        t.landmarks.push_back(std::move(lm));
    }
    for (std::size_t i = 0; i < j["polylines"].size(); ++i) {
        const json& l = j["polylines"][i];
        const std::string where = "polylines[" + std::to_string(i) + "]";
        if (!l.is_object()) return bad(where + " must be an object");
        Polyline pl;
        if (auto ok = readNaming(l, where, pl); !ok) return std::unexpected(ok.error());
        if (!l.contains("lps") || !l["lps"].is_array())
            return bad(where + ": \"lps\" must be an array of points");
        for (const json& q : l["lps"]) {
            auto p = getPoint(q, where);
            if (!p) return std::unexpected(p.error());
            pl.lps.push_back(*p);
        }
        t.polylines.push_back(std::move(pl));
    }
    return t;
}

} // namespace

Result<Truth> truthFromJson(std::string_view text) {
    const json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return bad("it is not well-formed JSON");
    try {
        return parseTruth(j);
    } catch (const std::exception& e) { // defensive: nothing escapes the engine API
        return fail(ErrorCode::ParseError, "The phantom truth file is not valid.", e.what());
    }
}

std::vector<model::PlanLandmark> planLandmarks(const Truth& truth) {
    std::vector<model::PlanLandmark> out;
    out.reserve(truth.landmarks.size());
    for (const auto& l : truth.landmarks) out.push_back({l.name, l.kind, l.level, l.side, l.lps});
    return out;
}

} // namespace precis::phantom
