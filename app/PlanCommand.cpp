// `precis plan evaluate|suggest|template` and `precis devices`: the planning engine headless.
// Output is JSON on stdout (the contract other tools read); progress and notes go to stderr.
#include "Commands.h"
#include "PlanCase.h"

#include "core/AtomicFile.h"
#include "core/Parallel.h"
#include "export/PlanFile.h"
#include "planning/Evaluation.h"
#include "planning/Templates.h"
#include "planning/TrajectorySearch.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace precis::app {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

Result<glm::dvec3> pointOption(const Args& a, const std::string& name) {
    const auto it = a.options.find(name);
    if (it == a.options.end()) {
        return fail(ErrorCode::InvalidArgument, fmt::format("{} X,Y,Z (LPS mm) is required", name));
    }
    std::vector<double> v;
    std::stringstream ss(it->second);
    std::string item;
    while (std::getline(ss, item, ',')) {
        double d = 0;
        auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), d);
        if (ec != std::errc{} || ptr != item.data() + item.size() || !std::isfinite(d)) {
            v.clear();
            break;
        }
        v.push_back(d);
    }
    if (v.size() != 3) {
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("{} \"{}\": expected three numbers X,Y,Z (LPS mm)", name, it->second));
    }
    return glm::dvec3(v[0], v[1], v[2]);
}

void printNotes(const PlanCase& c) {
    std::fprintf(stderr, "precis: structures: %s\n", c.source.c_str());
    for (const auto& n : c.notes) std::fprintf(stderr, "precis: note: %s\n", n.c_str());
}


int printJson(const json& doc) {
    std::fputs((doc.dump(2) + "\n").c_str(), stdout);
    return 0;
}

// ---- evaluate --------------------------------------------------------------------------------

int planEvaluate(const Args& a) {
    if (auto ok = allowOnly(a, {"--series", "--labels", "--catalog", "--view"}); !ok) {
        return reportError(ok.error());
    }
    if (a.positional.size() != 2) {
        return reportError({ErrorCode::InvalidArgument, "usage: precis plan evaluate PLAN.json", {}});
    }
    const fs::path planFile = a.positional[1];
    auto plan = exporting::loadPlan(planFile);
    if (!plan) return reportError(plan.error());
    auto devices = deviceCatalog(a);
    if (!devices) return reportError(devices.error());
    const fs::path seriesDir = optionValue(a, "--series", plan->series.path);
    if (seriesDir.empty()) {
        return reportError({ErrorCode::InvalidArgument,
                            fmt::format("{} names no series path: give --series DIR",
                                        planFile.string()),
                            {}});
    }
    const auto t0 = Clock::now();
    auto c = loadPlanCase(seriesDir, optionValue(a, "--labels"), terminalProgress());
    if (!c) {
        return reportError({c.error().code,
                            fmt::format("the plan's series could not be opened ({}); the plan "
                                        "file {} is unchanged",
                                        c.error().message, planFile.string()),
                            c.error().detail});
    }
    printNotes(*c);
    std::vector<std::string> warnings;
    if (!plan->series.seriesInstanceUid.empty() &&
        plan->series.seriesInstanceUid != c->identity.seriesInstanceUid) {
        warnings.push_back(fmt::format(
            "the plan was made on series {} but {} holds series {}: coordinates may not match "
            "this anatomy",
            plan->series.seriesInstanceUid, seriesDir.string(), c->identity.seriesInstanceUid));
    }
    for (auto& w : applyPlanRoles(*c, *plan)) warnings.push_back(std::move(w));
    auto scene = buildScene(*c, terminalProgress());
    if (!scene) return reportError(scene.error());
    planning::EvaluateOptions eo;
    if (a.options.count("--view")) {
        auto v = pointOption(a, "--view");
        if (!v) return reportError(v.error());
        if (glm::length(*v) <= 0) {
            return reportError({ErrorCode::InvalidArgument, "--view must not be zero", {}});
        }
        eo.viewDirection = glm::normalize(*v);
    }
    const auto t1 = Clock::now();
    const auto ev = planning::evaluatePlan(*scene, *plan, *devices, eo);
    const double evalS = secondsSince(t1);
    json doc = json::parse(exporting::evaluationToJson(ev));
    json out;
    out["plan"] = planFile.string();
    out["series"] = seriesDir.string();
    out["structuresFrom"] = c->source;
    out["trajectories"] = doc["trajectories"];
    out["conflicts"] = doc["conflicts"];
    out["warnings"] = warnings;
    out["timings"] = {{"sceneS", scene->buildSeconds()},
                      {"evaluateS", evalS},
                      {"totalS", secondsSince(t0)}};
    for (const auto& w : warnings) std::fprintf(stderr, "precis: warning: %s\n", w.c_str());
    return printJson(out);
}

// ---- suggest ---------------------------------------------------------------------------------

Result<planning::RiskWeights> weightsFrom(const Args& a) {
    planning::RiskWeights w;
    auto m = doubleOption(a, "--w-must-avoid", w.mustAvoid);
    auto c = doubleOption(a, "--w-caution", w.caution);
    auto l = doubleOption(a, "--w-length", w.lengthPer100Mm);
    if (!m) return std::unexpected(m.error());
    if (!c) return std::unexpected(c.error());
    if (!l) return std::unexpected(l.error());
    w.mustAvoid = *m;
    w.caution = *c;
    w.lengthPer100Mm = *l;
    return w;
}

int planSuggest(const Args& a) {
    if (auto ok = allowOnly(a, {"--series", "--labels", "--catalog", "--target", "--device",
                                "--region", "--top", "--risk-map", "--w-must-avoid", "--w-caution",
                                "--w-length", "--candidates"});
        !ok) {
        return reportError(ok.error());
    }
    const std::string seriesDir = optionValue(a, "--series");
    if (seriesDir.empty()) {
        return reportError({ErrorCode::InvalidArgument, "--series DIR is required", {}});
    }
    auto target = pointOption(a, "--target");
    if (!target) return reportError(target.error());
    auto devices = deviceCatalog(a);
    if (!devices) return reportError(devices.error());
    const std::string deviceId = optionValue(a, "--device");
    const model::Device* device = devices->find(deviceId);
    if (device == nullptr) {
        return reportError({ErrorCode::InvalidArgument,
                            fmt::format("--device \"{}\" is not in the catalogue (see `precis "
                                        "devices`)",
                                        deviceId),
                            {}});
    }
    auto region = planning::parseSkinRegion(optionValue(a, "--region", "posterior"));
    if (!region) return reportError(region.error());
    auto top = intOption(a, "--top", 5, 1, 100);
    if (!top) return reportError(top.error());
    auto minCandidates = intOption(a, "--candidates", 10000, 1, 10000000);
    if (!minCandidates) return reportError(minCandidates.error());
    auto weights = weightsFrom(a);
    if (!weights) return reportError(weights.error());

    auto c = loadPlanCase(seriesDir, optionValue(a, "--labels"), terminalProgress());
    if (!c) return reportError(c.error());
    printNotes(*c);
    auto scene = buildScene(*c, terminalProgress());
    if (!scene) return reportError(scene.error());
    planning::SearchRequest req;
    req.targetLps = *target;
    req.device = *device;
    req.region = *region;
    req.minCandidates = static_cast<std::size_t>(*minCandidates);
    req.prototype.name = "suggestion";
    req.prototype.procedure = "manual";
    // The user aims at the target: structures the tip rests on or in there are intended contact
    // (a cannula on bone, a needle tip beside a root); crossing them along the shaft is not.
    req.prototype.intendedContact = planning::intendedContactAt(*scene, *target, *device);
    const auto t0 = Clock::now();
    auto search = planning::TrajectorySearch::run(*scene, req, terminalProgress());
    if (!search) return reportError(search.error());
    auto ranked = search->rank(*weights, static_cast<std::size_t>(*top));
    const double searchS = secondsSince(t0);

    json list = json::array();
    for (std::size_t i = 0; i < ranked.size(); ++i) {
        ranked[i].evaluation.name = fmt::format("suggestion {}", i + 1);
        json o = json::parse(exporting::evaluationToJson(ranked[i].evaluation));
        o["rank"] = i + 1;
        list.push_back(o);
    }
    json out;
    out["target"] = vec3(*target);
    out["device"] = deviceId;
    out["region"] = optionValue(a, "--region", "posterior");
    out["intendedContact"] = req.prototype.intendedContact;
    out["weights"] = {{"mustAvoid", weights->mustAvoid},
                      {"caution", weights->caution},
                      {"lengthPer100Mm", weights->lengthPer100Mm},
                      {"lambdaMm", weights->lambdaMm}};
    out["suggestions"] = list;
    const auto& tm = search->timing();
    out["timing"] = {{"candidates", tm.candidates},
                     {"feasible", tm.feasible},
                     {"exactEvaluations", tm.exactEvaluations},
                     {"scoreS", tm.scoreSeconds},
                     {"refineS", tm.refineSeconds},
                     {"rankS", tm.rankSeconds},
                     {"searchS", searchS},
                     {"sceneS", scene->buildSeconds()}};
    if (ranked.empty()) {
        std::fprintf(stderr, "precis: no collision-free path to the target from the region\n");
    }
    if (const std::string mapFile = optionValue(a, "--risk-map"); !mapFile.empty()) {
        const auto map = search->riskMap(*weights);
        json values = json::array();
        for (float v : map) {
            if (std::isnan(v)) {
                values.push_back(nullptr);
            } else {
                values.push_back(v);
            }
        }
        json rm{{"format", "precis-risk-map"},
                {"version", 1},
                {"frame", "LPS"},
                {"note", "value per vertex of the skin surface (positions in LPS mm): the risk "
                         "score of the path from that vertex to the target; null where the "
                         "vertex is outside the region, out of reach or blocked"},
                {"target", vec3(*target)},
                {"device", deviceId}};
        json positions = json::array();
        for (const auto& p : scene->skin().positions) positions.push_back({p.x, p.y, p.z});
        rm["positions"] = positions;
        rm["values"] = values;
        if (auto w = writeFileAtomically(mapFile, rm.dump() + "\n"); !w) return reportError(w.error());
        out["riskMap"] = mapFile;
    }
    return printJson(out);
}

// ---- template --------------------------------------------------------------------------------

int planTemplate(const Args& a) {
    if (auto ok = allowOnly(a, {"--series", "--labels", "--catalog", "--level", "--side",
                                "--device", "--out", "--cone"});
        !ok) {
        return reportError(ok.error());
    }
    if (a.positional.size() != 2) {
        return reportError({ErrorCode::InvalidArgument,
                            "usage: precis plan template NAME --series DIR --out PLAN.json "
                            "(NAME: mbrfa, tfesi, ilesi, scs, drg)",
                            {}});
    }
    const std::string seriesDir = optionValue(a, "--series");
    const std::string out = optionValue(a, "--out");
    if (seriesDir.empty() || out.empty()) {
        return reportError({ErrorCode::InvalidArgument, "--series DIR and --out PLAN.json are required", {}});
    }
    planning::TemplateRequest req;
    req.procedure = a.positional[1];
    req.level = optionValue(a, "--level");
    req.side = optionValue(a, "--side", "left");
    req.deviceId = optionValue(a, "--device");
    auto cone = doubleOption(a, "--cone", req.coneDeg);
    if (!cone) return reportError(cone.error());
    req.coneDeg = *cone;
    auto devices = deviceCatalog(a);
    if (!devices) return reportError(devices.error());
    auto c = loadPlanCase(seriesDir, optionValue(a, "--labels"), terminalProgress());
    if (!c) return reportError(c.error());
    printNotes(*c);
    // Add to an existing plan file (several trajectories per plan, planned with its roles), or
    // start a new one.
    model::Plan plan;
    std::error_code ec;
    if (fs::exists(out, ec)) {
        auto existing = exporting::loadPlan(out);
        if (!existing) return reportError(existing.error());
        plan = std::move(*existing);
    } else {
        plan.name = fmt::format("{} plan", req.procedure);
        plan.series = seriesReference(*c);
    }
    for (const auto& w : applyPlanRoles(*c, plan)) std::fprintf(stderr, "precis: warning: %s\n", w.c_str());
    auto scene = buildScene(*c, terminalProgress());
    if (!scene) return reportError(scene.error());
    auto result = planning::proposeFromTemplate(*scene, c->landmarks, req, *devices, plan.safety);
    if (!result) return reportError(result.error());
    for (const auto& n : result->notes) std::fprintf(stderr, "precis: %s\n", n.c_str());
    planning::addToPlan(plan, *result);
    if (auto saved = exporting::savePlan(plan, out); !saved) return reportError(saved.error());
    json doc;
    doc["plan"] = out;
    doc["template"] = req.procedure;
    doc["target"] = {{"landmark", result->target.name}, {"lps", vec3(result->target.lps)}};
    doc["textbookDirection"] = vec3(result->textbookDirection);
    doc["trajectory"] = json::parse(exporting::evaluationToJson(result->evaluation));
    return printJson(doc);
}

} // namespace

int cmdPlan(const Args& a) {
    const std::string sub = a.positional.empty() ? "" : a.positional[0];
    if (sub == "evaluate") return planEvaluate(a);
    if (sub == "suggest") return planSuggest(a);
    if (sub == "template") return planTemplate(a);
    return reportError({ErrorCode::InvalidArgument,
                        "usage: precis plan evaluate|suggest|template ... (see precis --help)", {}});
}

int cmdDevices(const Args& a) {
    if (auto ok = allowOnly(a, {"--catalog"}); !ok) return reportError(ok.error());
    auto devices = deviceCatalog(a);
    if (!devices) return reportError(devices.error());
    json list = json::array();
    for (const auto& d : devices->devices) {
        json contacts = json::array();
        for (const auto& c : d.contacts) {
            contacts.push_back({{"offsetMm", c.offsetMm}, {"lengthMm", c.lengthMm}});
        }
        json o{{"id", d.id}, {"name", d.name}, {"type", model::toString(d.type)}};
        if (d.gauge) o["gauge"] = *d.gauge;
        o["outerDiameterMm"] = d.outerDiameterMm;
        o["usableLengthMm"] = d.usableLengthMm;
        o["activeTipMm"] = d.activeTipMm;
        o["curved"] = d.curved;
        o["contacts"] = contacts;
        o["source"] = d.source;
        list.push_back(o);
    }
    return printJson(json{{"devices", list}});
}

} // namespace precis::app

// ---- bench plan ------------------------------------------------------------------------------

namespace precis::app {

int cmdBenchPlan(const Args& a) {
    if (auto ok = allowOnly(a, {"--series", "--labels", "--runs"}); !ok) return reportError(ok.error());
    auto runs = intOption(a, "--runs", 3, 1, 100);
    if (!runs) return reportError(runs.error());
    const auto t0 = Clock::now();
    PlanCase c;
    if (const std::string dir = optionValue(a, "--series"); !dir.empty()) {
        auto loaded = loadPlanCase(dir, optionValue(a, "--labels"), terminalProgress());
        if (!loaded) return reportError(loaded.error());
        c = std::move(*loaded);
    } else {
        auto ph = phantom::makeLumbarPhantom({}, terminalProgress());
        if (!ph) return reportError(ph.error());
        c = planCaseFromPhantom(*ph);
    }
    const double loadS = secondsSince(t0);
    auto scene = buildScene(c, terminalProgress());
    if (!scene) return reportError(scene.error());
    const auto& devices = exporting::builtinDeviceCatalog();
    const model::Device* rf = devices.find("rf-18g-10mm");
    if (rf == nullptr) return reportError({ErrorCode::Internal, "catalogue lacks rf-18g-10mm", {}});

    // A target: the first medial-branch landmark, else the centre of the grid.
    glm::dvec3 target = c.geometry.worldBounds().center();
    for (const auto& l : c.landmarks) {
        if (l.kind == "medial_branch_target") {
            target = l.lps;
            break;
        }
    }
    planning::SearchRequest req;
    req.targetLps = target;
    req.device = *rf;
    req.prototype.name = "bench";
    req.prototype.intendedContact = planning::intendedContactAt(*scene, target, *rf);

    struct Row {
        std::string what;
        unsigned threads;
        double seconds;
        double perSecond;
        std::string unit;
    };
    std::vector<Row> rows;
    std::vector<planning::Suggestion> suggestions;
    for (unsigned threads : {1u, 0u}) {
        setWorkerCount(threads);
        const unsigned n = workerCount();
        double best = 1e30, bestRank = 1e30, bestScore = 1e30;
        std::size_t candidates = 0;
        for (long r = 0; r < *runs; ++r) {
            const auto s0 = Clock::now();
            auto search = planning::TrajectorySearch::run(*scene, req);
            if (!search) return reportError(search.error());
            suggestions = search->rank({}, 5);
            best = std::min(best, secondsSince(s0));
            bestScore = std::min(bestScore, search->timing().scoreSeconds);
            candidates = search->timing().candidates;
            planning::RiskWeights w;
            w.caution = 1.0; // a weight change: re-rank only
            const auto r0 = Clock::now();
            (void)search->rank(w, 5);
            bestRank = std::min(bestRank, secondsSince(r0));
        }
        rows.push_back({fmt::format("suggest ({} candidates, top 5)", candidates), n, best,
                        static_cast<double>(candidates) / best, "candidates/s"});
        rows.push_back({"  field scoring of the candidates", n, bestScore,
                        static_cast<double>(candidates) / bestScore, "trajectories/s"});
        rows.push_back({"re-rank after a weight change", n, bestRank, 0, ""});
    }
    setWorkerCount(0);
    // Exact evaluation (BVH) of the suggestions, repeated.
    if (!suggestions.empty()) {
        const int reps = 200;
        const auto e0 = Clock::now();
        for (int i = 0; i < reps; ++i) {
            (void)planning::evaluateTrajectory(*scene, suggestions[static_cast<std::size_t>(i) %
                                                                   suggestions.size()]
                                                           .trajectory,
                                               *rf);
        }
        const double s = secondsSince(e0);
        rows.push_back({"exact evaluation (one trajectory)", 1, s / reps, reps / s, "evaluations/s"});
    }
    std::printf("precis bench plan — %s, grid %dx%dx%d, %zu structures\n", c.source.c_str(),
                c.geometry.dims[0], c.geometry.dims[1], c.geometry.dims[2],
                scene->structures().size());
    std::printf("load %.2f s, safety scene (surfaces, BVHs, fields) %.2f s\n", loadS,
                scene->buildSeconds());
    std::printf("%-40s %8s %12s %16s\n", "step", "threads", "seconds", "rate");
    for (const Row& r : rows) {
        std::printf("%-40s %8u %12.4f %16s\n", r.what.c_str(), r.threads, r.seconds,
                    r.perSecond > 0 ? fmt::format("{:.0f} {}", r.perSecond, r.unit).c_str() : "");
    }
    return 0;
}

} // namespace precis::app
