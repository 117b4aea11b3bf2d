// precis pacs echo|find|get: DICOM query/retrieve against a PACS (dicom/PacsClient.h).
#include "Commands.h"

#include "dicom/PacsClient.h"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace precis::app {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kPacsUsage =
    "usage: precis pacs echo|find|get --host H --port P --aet CALLED [--our-aet A] [--timeout S]\n"
    "  find [--patient-id ID] [--patient-name NAME] [--date FROM-TO] [--modality M]\n"
    "       [--level study|series] [--study UID]\n"
    "  get  --study UID [--series UID] --out DIR [--move --store-port N]";

std::string option(const Args& a, const char* name, std::string fallback = {}) {
    auto it = a.options.find(name);
    return it == a.options.end() ? fallback : it->second;
}

Result<dicom::PacsConfig> pacsConfig(const Args& a) {
    if (!a.options.contains("--port") || !a.options.contains("--aet"))
        return fail(ErrorCode::InvalidArgument,
                    std::string("--port and --aet are required\n") + kPacsUsage);
    dicom::PacsConfig c;
    c.host = option(a, "--host", c.host);
    auto port = intOption(a, "--port", 104, 1, 65535);
    if (!port) return std::unexpected(port.error());
    c.port = static_cast<int>(*port);
    c.calledAeTitle = option(a, "--aet");
    c.callingAeTitle = option(a, "--our-aet", c.callingAeTitle);
    auto timeout = intOption(a, "--timeout", 0, 1, 3600);
    if (!timeout) return std::unexpected(timeout.error());
    if (*timeout > 0)
        c.connectTimeoutS = c.acseTimeoutS = c.dimseTimeoutS = static_cast<int>(*timeout);
    auto store = intOption(a, "--store-port", 0, 1, 65535);
    if (!store) return std::unexpected(store.error());
    c.storePort = static_cast<int>(*store);
    return c;
}

json seriesJson(const dicom::PacsSeries& s) {
    return {{"seriesInstanceUid", s.seriesInstanceUid},
            {"seriesNumber", s.seriesNumber},
            {"modality", s.modality},
            {"description", s.description},
            {"numberOfInstances", s.numberOfInstances}};
}

int pacsFind(const Args& a, const dicom::PacsClient& client) {
    std::string level = option(a, "--level", "series");
    if (level != "study" && level != "series")
        return reportError({ErrorCode::InvalidArgument,
                            "--level must be study or series (got '" + level + "')",
                            {}});
    dicom::PacsQuery q;
    q.patientId = option(a, "--patient-id");
    q.patientName = option(a, "--patient-name");
    q.dateRange = option(a, "--date");
    q.modality = option(a, "--modality");
    q.studyInstanceUid = option(a, "--study");
    auto studies = client.findStudies(q, terminalProgress());
    if (!studies) return reportError(studies.error());
    json out;
    out["peer"] = {{"host", client.config().host},
                   {"port", client.config().port},
                   {"aet", client.config().calledAeTitle}};
    out["studies"] = json::array();
    for (const auto& st : *studies) {
        json j = {{"patientName", st.patientName},
                  {"patientId", st.patientId},
                  {"studyInstanceUid", st.studyInstanceUid},
                  {"studyDate", st.studyDate},
                  {"studyDescription", st.studyDescription},
                  {"accessionNumber", st.accessionNumber},
                  {"modalitiesInStudy", st.modalitiesInStudy},
                  {"numberOfSeries", st.numberOfSeries},
                  {"numberOfInstances", st.numberOfInstances}};
        if (level == "series") {
            dicom::PacsQuery sq;
            sq.modality = q.modality;
            auto series = client.findSeries(st.studyInstanceUid, sq, terminalProgress());
            if (!series) return reportError(series.error());
            j["series"] = json::array();
            for (const auto& s : *series)
                j["series"].push_back(seriesJson(s));
        }
        out["studies"].push_back(std::move(j));
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
}

int pacsGet(const Args& a, const dicom::PacsClient& client) {
    std::string study = option(a, "--study"), series = option(a, "--series"),
                out = option(a, "--out");
    if (study.empty() || out.empty())
        return reportError({ErrorCode::InvalidArgument,
                            std::string("get needs --study UID and --out DIR\n") + kPacsUsage,
                            {}});
    const bool move = hasFlag(a, "--move");
    if (move && client.config().storePort == 0)
        return reportError({ErrorCode::InvalidArgument,
                            "--move needs --store-port N: the port our storage SCP listens on "
                            "(the PACS must know our AE title with this host and port)",
                            {}});
    auto t0 = std::chrono::steady_clock::now();
    auto r = move ? client.moveSeries(study, series, out, terminalProgress())
                  : client.getSeries(study, series, out, terminalProgress());
    if (!r) return reportError(r.error());
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("retrieved %zu files of %s from %s by %s into %s in %.1f s\n", r->files.size(),
                series.empty() ? ("study " + study).c_str() : ("series " + series).c_str(),
                client.peerName().c_str(), move ? "C-MOVE" : "C-GET", out.c_str(), s);
    for (const auto& f : r->files)
        std::printf("%s\n", f.c_str());
    return 0;
}

} // namespace

int cmdPacs(const Args& a) {
    if (auto ok = allowOnly(a, {"--host", "--port", "--aet", "--our-aet", "--timeout",
                                "--patient-id", "--patient-name", "--date", "--modality", "--level",
                                "--study", "--series", "--out", "--move", "--store-port"});
        !ok)
        return reportError(ok.error());
    if (a.positional.size() != 1) return reportError({ErrorCode::InvalidArgument, kPacsUsage, {}});
    const std::string& sub = a.positional[0];
    if (sub != "echo" && sub != "find" && sub != "get")
        return reportError(
            {ErrorCode::InvalidArgument, "unknown pacs command '" + sub + "'\n" + kPacsUsage, {}});
    auto config = pacsConfig(a);
    if (!config) return reportError(config.error());
    dicom::PacsClient client(*config);
    if (sub == "echo") {
        auto t0 = std::chrono::steady_clock::now();
        if (auto r = client.echo(); !r) return reportError(r.error());
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count();
        std::printf("%s answered C-ECHO in %.0f ms\n", client.peerName().c_str(), ms);
        return 0;
    }
    if (sub == "find") return pacsFind(a, client);
    return pacsGet(a, client);
}

} // namespace precis::app
