// PACS query/retrieve against a real Orthanc that the tests start, seed and stop themselves
// (DESIGN.md "Real components in tests"), plus dead and silent peers that must fail fast.
#include "dicom/PacsClient.h"

#include "core/AtomicFile.h"
#include "dicom/SeriesReader.h"
#include "dicom/SeriesWriter.h"
#include "phantom/LumbarPhantom.h"
#include "support/Orthanc.h"
#include "support/PrecisCli.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

namespace fs = std::filesystem;
using precis::test::CliRun;
using precis::test::runPrecis;
using precis::ErrorCode;
using precis::dicom::PacsClient;
using precis::dicom::PacsConfig;
using precis::dicom::PacsQuery;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

using precis::test::freePort;
using precis::test::Orthanc;

/// The small phantom written as DICOM, with what a retrieve must reproduce.
struct Seed {
    fs::path dir;
    precis::model::SeriesIdentity identity;
    precis::dicom::LoadedSeries reference; // the written folder read back
    precis::model::Volume original;        // the phantom in memory
};

std::unique_ptr<Orthanc> gOrthanc;
std::optional<Seed> gSeed;
std::string gSetupError;

void expectSameVolume(const precis::model::Volume& a, const precis::model::Volume& b,
                      double tolMm) {
    const auto& ga = a.geometry;
    const auto& gb = b.geometry;
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(ga.dims[i], gb.dims[i]) << "axis " << i;
    for (int i = 0; i < 3; ++i) {
        EXPECT_NEAR(ga.spacingMm[i], gb.spacingMm[i], tolMm) << "axis " << i;
        EXPECT_NEAR(ga.originMm[i], gb.originMm[i], tolMm) << "axis " << i;
        for (int j = 0; j < 3; ++j)
            EXPECT_NEAR(ga.direction[i][j], gb.direction[i][j], 1e-9);
    }
    ASSERT_EQ(a.voxels.size(), b.voxels.size());
    EXPECT_TRUE(a.voxels == b.voxels) << "voxel values differ";
}

class Pacs : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!Orthanc::available()) return;
        const auto t0 = Clock::now();
        gOrthanc = Orthanc::start(gSetupError);
        if (!gOrthanc) return;
        const double orthancS = secondsSince(t0);
        precis::phantom::PhantomOptions opts;
        opts.columns = 96;
        opts.rows = 96;
        opts.slices = 16;
        opts.pixelMm = 3.0;
        opts.sliceMm = 3.0;
        const auto t1 = Clock::now();
        auto ph = precis::phantom::makeLumbarPhantom(opts);
        if (!ph) {
            gSetupError = "phantom: " + ph.error().message;
            return;
        }
        Seed s;
        s.dir = precis::test::makeTempDir("pacs-seed");
        precis::dicom::SeriesWriteOptions w;
        w.studyDescription = "Precis PACS test";
        w.seriesDescription = "phantom 96x96x16";
        auto id = precis::dicom::writeCtSeries(ph->ct, w, s.dir);
        if (!id) {
            gSetupError = "write: " + id.error().message;
            return;
        }
        s.identity = *id;
        s.original = std::move(ph->ct);
        auto ref = precis::dicom::loadLargestSeries(s.dir);
        if (!ref) {
            gSetupError = "read back: " + ref.error().message;
            return;
        }
        s.reference = std::move(*ref);
        const double phantomS = secondsSince(t1);
        const auto t2 = Clock::now();
        if (!gOrthanc->store(s.dir, gSetupError)) return;
        std::fprintf(stderr,
                     "pacs setup: Orthanc answered in %.2f s, phantom %.2f s, seeding %.2f s\n",
                     orthancS, phantomS, secondsSince(t2));
        gSeed = std::move(s);
    }
    static void TearDownTestSuite() {
        gOrthanc.reset();
        if (gSeed) {
            std::error_code ec;
            fs::remove_all(gSeed->dir, ec);
        }
        gSeed.reset();
    }
    void SetUp() override {
        if (!Orthanc::available()) {
            if (precis::test::inCi())
                FAIL() << "Orthanc or storescu missing in CI (scripts/setup.sh)";
            GTEST_SKIP() << "Orthanc (" << Orthanc::kExecutable << ") or storescu not installed: "
                         << "run scripts/setup.sh";
        }
        ASSERT_TRUE(gOrthanc && gSeed) << gSetupError;
    }
    [[nodiscard]] static PacsClient client() { return PacsClient(gOrthanc->config()); }
    [[nodiscard]] static const Seed& seed() { return *gSeed; }
};

TEST_F(Pacs, FindsTheStudyAndItsSeriesByEachKey) {
    const auto& id = seed().identity;
    auto echo = client().echo();
    EXPECT_TRUE(echo) << echo.error().message;
    auto all = client().findStudies({});
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 1u);
    const auto& st = all->front();
    EXPECT_EQ(st.studyInstanceUid, id.studyInstanceUid);
    EXPECT_EQ(st.patientId, id.patientId);
    EXPECT_EQ(st.patientName, id.patientName);
    EXPECT_EQ(st.studyDescription, "Precis PACS test");
    EXPECT_EQ(st.modalitiesInStudy, "CT");
    EXPECT_EQ(st.numberOfSeries, 1);
    EXPECT_EQ(st.numberOfInstances, 16);
    ASSERT_EQ(st.studyDate.size(), 8u);

    auto count = [&](const PacsQuery& q) -> int {
        auto r = client().findStudies(q);
        EXPECT_TRUE(r) << r.error().message;
        return r ? static_cast<int>(r->size()) : -1;
    };
    PacsQuery q;
    q.patientId = id.patientId;
    EXPECT_EQ(count(q), 1);
    q.patientId = "SOMEONE-ELSE";
    EXPECT_EQ(count(q), 0);
    q = {};
    q.patientName = id.patientName.substr(0, 3) + "*";
    EXPECT_EQ(count(q), 1);
    q.patientName = "NOBODY*";
    EXPECT_EQ(count(q), 0);
    q = {};
    q.dateRange = st.studyDate + "-" + st.studyDate;
    EXPECT_EQ(count(q), 1);
    q.dateRange = "19000101-19000102";
    EXPECT_EQ(count(q), 0);
    q.dateRange = st.studyDate + "-";
    EXPECT_EQ(count(q), 1);
    q = {};
    q.modality = "CT";
    EXPECT_EQ(count(q), 1);
    q.modality = "MR";
    EXPECT_EQ(count(q), 0);
    q = {};
    q.studyInstanceUid = id.studyInstanceUid;
    EXPECT_EQ(count(q), 1);

    auto series = client().findSeries(id.studyInstanceUid);
    ASSERT_TRUE(series) << series.error().message;
    ASSERT_EQ(series->size(), 1u);
    const auto& s = series->front();
    EXPECT_EQ(s.seriesInstanceUid, id.seriesInstanceUid);
    EXPECT_EQ(s.modality, "CT");
    EXPECT_EQ(s.description, id.seriesDescription);
    EXPECT_EQ(s.numberOfInstances, 16);
    PacsQuery mr;
    mr.modality = "MR";
    auto none = client().findSeries(id.studyInstanceUid, mr);
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_TRUE(none->empty());
}

TEST_F(Pacs, GetRetrievesTheIdenticalVolume) {
    const auto& id = seed().identity;
    auto dest = precis::test::makeTempDir("pacs-get");
    std::atomic<int> reports{0};
    precis::Progress progress([&](double, std::string_view) { ++reports; });
    auto r = client().getSeries(id.studyInstanceUid, id.seriesInstanceUid, dest, progress);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->files.size(), 16u);
    EXPECT_EQ(r->failed, 0);
    EXPECT_GT(reports.load(), 0);
    auto loaded = precis::dicom::loadLargestSeries(dest);
    ASSERT_TRUE(loaded) << loaded.error().message;
    expectSameVolume(loaded->volume, seed().reference.volume, 0.0);
    expectSameVolume(loaded->volume, seed().original, 1e-6);
    EXPECT_EQ(loaded->volume.identity.seriesInstanceUid, id.seriesInstanceUid);
    fs::remove_all(dest);
}

TEST_F(Pacs, MoveRetrievesTheIdenticalVolume) {
    const auto& id = seed().identity;
    auto dest = precis::test::makeTempDir("pacs-move");
    auto t0 = Clock::now();
    auto r = client().moveSeries(id.studyInstanceUid, id.seriesInstanceUid, dest);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_LT(secondsSince(t0), 10.0);
    EXPECT_EQ(r->files.size(), 16u);
    auto loaded = precis::dicom::loadLargestSeries(dest);
    ASSERT_TRUE(loaded) << loaded.error().message;
    expectSameVolume(loaded->volume, seed().reference.volume, 0.0);
    expectSameVolume(loaded->volume, seed().original, 1e-6);
    // The storage SCP has released its port: a second move on it works.
    auto again = client().moveSeries(id.studyInstanceUid, "", dest);
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(again->files.size(), 16u);
    fs::remove_all(dest);
}

TEST_F(Pacs, FailuresNameThePeerAndTheProblem) {
    auto dest = precis::test::makeTempDir("pacs-none");
    auto g = client().getSeries("1.2.3.4.5.6.7", "", dest);
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, ErrorCode::NotFound) << g.error().message;
    EXPECT_NE(g.error().message.find("1.2.3.4.5.6.7"), std::string::npos);
    auto m = client().moveSeries("1.2.3.4.5.6.7", "", dest);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, ErrorCode::NotFound) << m.error().message;

    // A wrong called AE title is rejected by the PACS, quickly and by name.
    PacsConfig c = gOrthanc->config();
    c.calledAeTitle = "NOT-ORTHANC";
    auto t0 = Clock::now();
    auto r = PacsClient(c).findStudies({});
    ASSERT_FALSE(r);
    EXPECT_LT(secondsSince(t0), 3.0);
    EXPECT_EQ(r.error().code, ErrorCode::IoError);
    EXPECT_NE(r.error().message.find("rejected"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("NOT-ORTHANC"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(std::to_string(c.port)), std::string::npos);

    // Cancelling from the progress callback aborts the association and says so.
    const auto& id = seed().identity;
    precis::CancelToken token;
    precis::Progress progress(
        [&](double, std::string_view stage) {
            if (stage.starts_with("received")) token.cancel();
        },
        &token);
    auto cancelled = client().getSeries(id.studyInstanceUid, id.seriesInstanceUid, dest, progress);
    ASSERT_FALSE(cancelled);
    EXPECT_EQ(cancelled.error().code, ErrorCode::Cancelled);
    // The PACS is still fine afterwards.
    EXPECT_TRUE(client().echo());
    fs::remove_all(dest);
}


TEST_F(Pacs, CliFindsGetsAndMovesThenInfoReadsIt) {
    const auto& id = seed().identity;
    const std::string peer = "--port " + std::to_string(gOrthanc->dicomPort()) + " --aet ORTHANC";
    CliRun f = runPrecis("pacs find " + peer + " --patient-id " + id.patientId + " --modality CT");
    ASSERT_EQ(f.exitCode, 0) << f.err;
    auto j = nlohmann::json::parse(f.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << f.out;
    ASSERT_EQ(j["studies"].size(), 1u);
    EXPECT_EQ(j["studies"][0]["studyInstanceUid"], id.studyInstanceUid);
    ASSERT_EQ(j["studies"][0]["series"].size(), 1u);
    EXPECT_EQ(j["studies"][0]["series"][0]["seriesInstanceUid"], id.seriesInstanceUid);
    EXPECT_EQ(j["studies"][0]["series"][0]["numberOfInstances"], 16);

    for (const char* how : {"", " --move --store-port "}) {
        auto dest = precis::test::makeTempDir("pacs-cli-get");
        std::string extra = *how ? how + std::to_string(gOrthanc->storePort()) : "";
        CliRun g = runPrecis("pacs get " + peer + " --study " + id.studyInstanceUid + " --series " +
                             id.seriesInstanceUid + " --out '" + dest.string() + "'" + extra);
        ASSERT_EQ(g.exitCode, 0) << g.err;
        EXPECT_NE(g.out.find("retrieved 16 files"), std::string::npos) << g.out;
        CliRun info = runPrecis("info '" + dest.string() + "'");
        ASSERT_EQ(info.exitCode, 0) << info.err;
        auto ij = nlohmann::json::parse(info.out, nullptr, false);
        ASSERT_FALSE(ij.is_discarded());
        EXPECT_EQ(ij["series"][0]["seriesInstanceUid"], id.seriesInstanceUid);
        EXPECT_EQ(ij["series"][0]["dims"], nlohmann::json::array({96, 96, 16}));
        fs::remove_all(dest);
    }

    CliRun bad =
        runPrecis("pacs find --port " + std::to_string(gOrthanc->dicomPort()) + " --aet WRONG");
    EXPECT_EQ(bad.exitCode, 1);
    EXPECT_NE(bad.err.find("rejected the association"), std::string::npos) << bad.err;
    CliRun usage = runPrecis("pacs get " + peer + " --study 1.2.3 --out /tmp/x --move");
    EXPECT_EQ(usage.exitCode, 2);
    EXPECT_NE(usage.err.find("--store-port"), std::string::npos) << usage.err;
}

// --- peers that are not there or never answer (no Orthanc needed) ------------------------------

PacsConfig deadPeer(int port) {
    PacsConfig c;
    c.host = "127.0.0.1";
    c.port = port;
    c.calledAeTitle = "NOBODY";
    c.connectTimeoutS = 2;
    c.acseTimeoutS = 2;
    c.dimseTimeoutS = 2;
    c.storePort = freePort();
    return c;
}

TEST(PacsPeer, NothingListeningFailsFast) {
    PacsConfig c = deadPeer(freePort());
    auto t0 = Clock::now();
    auto r = PacsClient(c).findStudies({});
    ASSERT_FALSE(r);
    EXPECT_LT(secondsSince(t0), 2.0);
    EXPECT_EQ(r.error().code, ErrorCode::IoError);
    EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(c.port)), std::string::npos);
    EXPECT_NE(r.error().message.find("NOBODY"), std::string::npos);
    EXPECT_NE(r.error().message.find("refused"), std::string::npos) << r.error().message;
    auto e = PacsClient(c).echo();
    ASSERT_FALSE(e);
    auto dest = precis::test::makeTempDir("pacs-dead");
    auto m = PacsClient(c).moveSeries("1.2.3", "", dest);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, ErrorCode::IoError) << m.error().message;
    fs::remove_all(dest);
}

/// Accepts TCP connections and never says a word.
class SilentServer {
public:
    SilentServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(a);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 && ::listen(fd_, 8) == 0 &&
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0)
            port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] {
            while (!stop_) {
                int c = ::accept(fd_, nullptr, nullptr);
                if (c >= 0) clients_.push_back(c);
            }
        });
    }
    ~SilentServer() {
        stop_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
        for (int c : clients_)
            ::close(c);
    }
    [[nodiscard]] int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = -1;
    std::atomic<bool> stop_{false};
    std::vector<int> clients_;
    std::thread thread_;
};

TEST(PacsPeer, SilentPeerTimesOutInsteadOfHanging) {
    SilentServer server;
    ASSERT_GT(server.port(), 0);
    PacsConfig c = deadPeer(server.port());
    c.acseTimeoutS = c.dimseTimeoutS = 1;
    auto t0 = Clock::now();
    auto r = PacsClient(c).findStudies({});
    const double s = secondsSince(t0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::IoError);
    EXPECT_NE(r.error().message.find("did not answer within 1 s"), std::string::npos)
        << r.error().message;
    EXPECT_GE(s, 0.9);
    EXPECT_LT(s, 4.0);
    auto dest = precis::test::makeTempDir("pacs-silent");
    t0 = Clock::now();
    auto g = PacsClient(c).getSeries("1.2.3", "4.5.6", dest);
    ASSERT_FALSE(g);
    EXPECT_LT(secondsSince(t0), 4.0);
    fs::remove_all(dest);
}

TEST(PacsPeer, BadConfigurationAndQueriesAreRejectedBeforeConnecting) {
    PacsConfig c = deadPeer(104);
    c.calledAeTitle = "MUCH-TOO-LONG-AE-TITLE";
    auto r = PacsClient(c).echo();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    c = deadPeer(0);
    EXPECT_EQ(PacsClient(c).echo().error().code, ErrorCode::InvalidArgument);
    c = deadPeer(104);
    c.dimseTimeoutS = 0; // unbounded waits are not allowed
    EXPECT_EQ(PacsClient(c).echo().error().code, ErrorCode::InvalidArgument);
    for (const char* bad : {"2024-01-01", "20240101-20230101", "2024013", "-", "20241301"})
        EXPECT_FALSE(precis::dicom::validateDateRange(bad)) << bad;
    for (const char* good : {"20240101", "20240101-20240131", "20240101-", "-20240131"})
        EXPECT_TRUE(precis::dicom::validateDateRange(good)) << good;
    PacsQuery q;
    q.dateRange = "yesterday";
    auto f = PacsClient(deadPeer(104)).findStudies(q);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, ErrorCode::InvalidArgument);
    auto g = PacsClient(deadPeer(104)).getSeries("../../etc", "", "/tmp/never");
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code, ErrorCode::InvalidArgument);
}

} // namespace
