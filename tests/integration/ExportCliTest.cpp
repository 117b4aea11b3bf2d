// `precis export` as scripts use it: exit codes and messages of the error paths, and every target
// end to end on the lumbar phantom written by `precis phantom` — markups read back, the RT
// Structure Set through dciodvfy, the report through pdfinfo, OpenIGTLink to and from a
// libopenigtlink peer.
#include "core/AtomicFile.h"
#include "export/PlanFile.h"
#include "export/SlicerMarkups.h"
#include "support/PrecisCli.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>
#include <igtlClientSocket.h>
#include <igtlServerSocket.h>
#include <igtlStringMessage.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <future>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using precis::test::CliRun;
using precis::test::runPrecis;
using json = nlohmann::json;
using namespace precis;
using Clock = std::chrono::steady_clock;

namespace {

std::string quote(const fs::path& p) {
    return "'" + p.string() + "'";
}

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// The phantom and a plan on it (two needles to truth landmarks, the landmarks), once per process.
struct Fixture {
    fs::path phantom, plan;
    model::Plan value;
};

/// The phantom is 70 MB: gone when the test process ends (test-output/export-cli/ stays).
struct RemoveAtExit {
    fs::path dir;
    ~RemoveAtExit() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

const Fixture& fixture() {
    static Fixture f = [] {
        Fixture x;
        x.phantom = test::makeTempDir("export-cli-phantom");
        CliRun r = runPrecis("phantom --out " + quote(x.phantom));
        EXPECT_EQ(r.exitCode, 0) << r.err;
        CliRun info = runPrecis("info " + quote(x.phantom));
        EXPECT_EQ(info.exitCode, 0) << info.err;
        const json series = json::parse(info.out)["series"][0];
        const json truth = json::parse(readFile(x.phantom / "truth.json").value_or("{}"));

        model::Plan& p = x.value;
        p.name = "Export CLI test";
        p.series.seriesInstanceUid = series["seriesInstanceUid"];
        p.series.frameOfReferenceUid = series["frameOfReferenceUid"];
        p.series.path = x.phantom.string();
        p.series.patientName = "PHANTOM^LUMBAR";
        int n = 0;
        for (const auto& l : truth["landmarks"]) {
            const glm::dvec3 at(l["lps"][0].get<double>(), l["lps"][1].get<double>(),
                                l["lps"][2].get<double>());
            p.landmarks.push_back({l["name"].get<std::string>(), l["kind"].get<std::string>(),
                                   l.value("level", ""), l.value("side", ""), at});
            if (n < 2 && l["kind"] == "medial_branch_target") {
                model::Trajectory t;
                t.name = l["name"].get<std::string>() + " needle";
                t.procedure = "mbrfa";
                t.deviceId = "rf-18g-10mm";
                t.targetLps = at;
                t.entryLps = at + glm::dvec3(at.x > 0 ? 25.0 : -25.0, 70.0, -10.0);
                p.trajectories.push_back(t);
                ++n;
            }
        }
        EXPECT_EQ(n, 2) << "the phantom's truth has medial branch targets";
        x.plan = x.phantom / "plan.json";
        auto saved = exporting::savePlan(p, x.plan);
        EXPECT_TRUE(saved) << (saved ? "" : saved.error().message);
        return x;
    }();
    static RemoveAtExit cleanup{f.phantom};
    return f;
}

/// A port nobody listens on (bound once, then released).
int closedPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

/// Type and device name of every message until the peer closes; the STRING's text.
struct Received {
    std::vector<std::pair<std::string, std::string>> messages;
    std::string planJson;
};

Received receiveAll(igtl::Socket* socket) {
    Received out;
    for (;;) {
        auto header = igtl::MessageHeader::New();
        header->InitPack();
        if (socket->Receive(header->GetPackPointer(), header->GetPackSize()) !=
            header->GetPackSize())
            break;
        header->Unpack();
        out.messages.emplace_back(header->GetDeviceType(), header->GetDeviceName());
        if (std::string(header->GetDeviceType()) == "STRING") {
            auto s = igtl::StringMessage::New();
            s->SetMessageHeader(header);
            s->AllocatePack();
            socket->Receive(s->GetPackBodyPointer(), s->GetPackBodySize());
            s->Unpack(1);
            out.planJson = s->GetString();
        } else {
            socket->Skip(header->GetBodySizeToRead(), 1);
        }
    }
    return out;
}

} // namespace

TEST(ExportCli, HelpDocumentsExport) {
    CliRun r = runPrecis("--help");
    for (const char* s : {"export PLAN.json", "--igtl HOST", "--igtl-serve PORT", "--frame LPS|RAS",
                          "--slicer", "--dicom OUTDIR", "--report", "--deidentify", "--wait",
                          "--peers", "--attempts", "Precis_LPS_Traj"})
        EXPECT_NE(r.out.find(s), std::string::npos) << "help does not mention " << s;
}

TEST(ExportCli, AMissingPlanFileIsNamed) {
    const auto dir = test::makeTempDir("export-cli-missing");
    CliRun r = runPrecis("export " + quote(dir / "nope.json") + " --slicer " + quote(dir / "x"));
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find((dir / "nope.json").string()), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "x"));
    fs::remove_all(dir);
}

TEST(ExportCli, UsageErrorsExitWithTwo) {
    const std::string plan = quote(fixture().plan);
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"export " + plan, "nothing to export"},
        {"export " + plan + " --igtl nav:99999", "1 to 65535"},
        {"export " + plan + " --igtl :18944", "no host"},
        {"export " + plan + " --igtl host:", "no port"},
        {"export " + plan + " --igtl a:b:c", "not HOST:PORT"},
        {"export " + plan + " --igtl-serve 0", "--igtl-serve"},
        {"export " + plan + " --igtl 127.0.0.1 --frame XYZ", "LPS or RAS"},
        {"export " + plan + " --slicer x.mrk.json --frame RAS", "--frame only applies"},
        {"export " + plan + " --slicer x.mrk.json --deidentify", "--deidentify only applies"},
        {"export " + plan + " --igtl 127.0.0.1 --wait 3", "--wait only applies"},
        {"export " + plan + " --igtl 127.0.0.1 --attempts 0", "--attempts"},
        {"export " + plan + " --slicer x.mrk.json --bogus", "unknown option --bogus"},
        {"export --slicer x.mrk.json", "usage"},
    };
    for (const auto& [args, what] : cases) {
        CliRun r = runPrecis(args);
        EXPECT_EQ(r.exitCode, 2) << args << "\n" << r.err;
        EXPECT_NE(r.err.find(what), std::string::npos) << args << "\n" << r.err;
    }
}

TEST(ExportCli, WritesSlicerMarkupsDicomAndAReport) {
    const Fixture& f = fixture();
    const auto out = test::outputDir("export-cli");
    fs::remove_all(out / "dicom");
    const fs::path markups = out / "plan.mrk.json", pdf = out / "report.pdf";
    CliRun r = runPrecis("export " + quote(f.plan) + " --slicer " + quote(markups) + " --dicom " +
                         quote(out / "dicom") + " --report " + quote(pdf) + " --deidentify");
    ASSERT_EQ(r.exitCode, 0) << r.err << r.out;
    EXPECT_NE(r.out.find("wrote 3D Slicer markups"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("wrote DICOM RT Structure Set"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("240 images"), std::string::npos) << r.out;
    // Evaluated on the phantom's truth (the plan names its series), de-identified.
    EXPECT_NE(r.out.find("de-identified"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("not evaluated"), std::string::npos) << r.out;

    auto back = exporting::importSlicerMarkups(markups);
    ASSERT_TRUE(back) << back.error().message;
    ASSERT_EQ(back->trajectories.size(), f.value.trajectories.size());
    for (std::size_t i = 0; i < back->trajectories.size(); ++i) {
        EXPECT_EQ(back->trajectories[i].entryLps, f.value.trajectories[i].entryLps);
        EXPECT_EQ(back->trajectories[i].targetLps, f.value.trajectories[i].targetLps);
    }

    fs::path rs;
    for (const auto& e : fs::directory_iterator(out / "dicom"))
        rs = e.path();
    ASSERT_TRUE(rs.filename().string().starts_with("RS_")) << rs;
    if (std::system("command -v dciodvfy >/dev/null 2>&1") == 0) {
        const std::string report = test::runShell("dciodvfy " + quote(rs) + " 2>&1");
        EXPECT_EQ(report.find("\nError"), std::string::npos) << report;
        EXPECT_FALSE(report.starts_with("Error")) << report;
    } else if (test::inCi()) {
        FAIL() << "dciodvfy missing (scripts/setup.sh installs dicom3tools)";
    }
    if (std::system("command -v pdfinfo >/dev/null 2>&1") == 0) {
        EXPECT_EQ(std::system(("pdfinfo " + quote(pdf) + " >/dev/null 2>&1").c_str()), 0);
    } else if (test::inCi()) {
        FAIL() << "pdfinfo missing (scripts/setup.sh installs poppler-utils)";
    }

    // A plan without a series folder needs --series for DICOM.
    model::Plan noPath = f.value;
    noPath.series.path.clear();
    const fs::path plan2 = out / "plan-no-path.json";
    ASSERT_TRUE(exporting::savePlan(noPath, plan2));
    r = runPrecis("export " + quote(plan2) + " --dicom " + quote(out / "dicom2"));
    EXPECT_EQ(r.exitCode, 2) << r.err;
    EXPECT_NE(r.err.find("--series"), std::string::npos) << r.err;
    r = runPrecis("export " + quote(plan2) + " --dicom " + quote(out / "dicom2") + " --series " +
                  quote(f.phantom));
    EXPECT_EQ(r.exitCode, 0) << r.err;
    fs::remove_all(out / "dicom2");
}

TEST(ExportCli, SendsThePlanToANavigationSystemInRas) {
    const Fixture& f = fixture();
    auto server = igtl::ServerSocket::New();
    ASSERT_EQ(server->CreateServer(0), 0);
    const int port = server->GetServerPort();
    Received got;
    std::thread rx([&] {
        auto s = server->WaitForConnection(20000);
        if (!s) return;
        got = receiveAll(s);
        s->CloseSocket();
    });
    CliRun r = runPrecis("export " + quote(f.plan) + " --igtl 127.0.0.1:" + std::to_string(port) +
                         " --frame RAS");
    rx.join();
    server->CloseSocket();
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("frame RAS"), std::string::npos) << r.out;
    // TRAJ, POINT entries/targets, POINT landmarks, 2 x (TRANSFORM, POLYDATA), STRING.
    ASSERT_EQ(got.messages.size(), 8u);
    EXPECT_EQ(got.messages[0], std::make_pair(std::string("TRAJ"), std::string("Precis_RAS_Traj")));
    EXPECT_EQ(got.messages.back().second, "Precis_LPS_Plan");
    auto plan = exporting::planFromJson(got.planJson, "STRING");
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_EQ(exporting::planToJson(*plan), exporting::planToJson(f.value));
}

TEST(ExportCli, AnAbsentPeerFailsAfterTheAttempts) {
    const int port = closedPort();
    const fs::path plan = fixture().plan; // built before the clock starts
    const auto t0 = Clock::now();
    CliRun r = runPrecis("export " + quote(plan) +
                         " --igtl 127.0.0.1:" + std::to_string(port) + " --attempts 2 --timeout 1");
    EXPECT_LT(secondsSince(t0), 10.0);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("2 attempts"), std::string::npos) << r.err;
}

TEST(ExportCli, ServesThePlanToAPeerThatConnects) {
    const int port = closedPort();
    auto run = std::async(std::launch::async, [&] {
        return runPrecis("export " + quote(fixture().plan) + " --igtl-serve " +
                         std::to_string(port) + " --wait 20");
    });
    auto client = igtl::ClientSocket::New();
    const auto t0 = Clock::now();
    while (client->ConnectToServer("127.0.0.1", port) != 0 && secondsSince(t0) < 20)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const Received got = receiveAll(client);
    client->CloseSocket();
    CliRun r = run.get();
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.err.find("port " + std::to_string(port)), std::string::npos) << r.err;
    ASSERT_EQ(got.messages.size(), 8u);
    EXPECT_EQ(got.messages[0].second, "Precis_LPS_Traj");
}

TEST(ExportCli, ServingGivesUpWhenNoPeerComes) {
    const int port = closedPort();
    const fs::path plan = fixture().plan; // built before the clock starts
    const auto t0 = Clock::now();
    CliRun r = runPrecis("export " + quote(plan) + " --igtl-serve " +
                         std::to_string(port) + " --wait 1");
    EXPECT_LT(secondsSince(t0), 10.0);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("no OpenIGTLink peer connected to port " + std::to_string(port)),
              std::string::npos)
        << r.err;
}
