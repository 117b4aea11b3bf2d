#include "gui/IgtlExportJob.h"

#include "export/PlanFile.h"
#include "unit/export/IgtlTestSupport.h"
#include "unit/export/SamplePlan.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <igtlClientSocket.h>
#include <igtlServerSocket.h>
#include <igtlTrajectoryMessage.h>

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <functional>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace precis;
using precis::test::Received;
using precis::test::receiveAll;
using namespace std::chrono_literals;
using gui::IgtlExportJob;
using gui::IgtlJobState;
using gui::IgtlJobStatus;
using Clock = std::chrono::steady_clock;

namespace {

const model::DeviceCatalog& catalog() {
    return exporting::builtinDeviceCatalog();
}

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Polls the job as the UI thread does each frame until `done` holds or `limitS` pass; every
/// state seen on the way is appended to `seen` (once per change).
IgtlJobStatus pollUntil(const IgtlExportJob& job, const std::function<bool(const IgtlJobStatus&)>& done,
                        double limitS, std::vector<IgtlJobState>* seen = nullptr) {
    const auto t0 = Clock::now();
    for (;;) {
        IgtlJobStatus s = job.status();
        if (seen && (seen->empty() || seen->back() != s.state)) seen->push_back(s.state);
        if (done(s) || secondsSince(t0) > limitS) return s;
        std::this_thread::sleep_for(5ms);
    }
}

/// The received messages are the plan's, in `frame` (types, names, the TRAJ coordinates).
void expectPlan(const std::vector<Received>& got, const model::Plan& plan, exporting::Frame frame) {
    const auto want = exporting::buildIgtlMessages(plan, catalog(), {.frame = frame});
    ASSERT_TRUE(want);
    ASSERT_EQ(got.size(), want->messages.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].type, want->messages[i].type);
        EXPECT_EQ(got[i].device, want->messages[i].deviceName);
    }
    auto traj = test::unpackIgtl<igtl::TrajectoryMessage>(got[0].bytes.data(), got[0].bytes.size());
    ASSERT_TRUE(traj);
    ASSERT_EQ(traj->GetNumberOfTrajectoryElement(), static_cast<int>(plan.trajectories.size()));
    igtl::TrajectoryElement::Pointer e;
    traj->GetTrajectoryElement(0, e);
    float entry[3];
    e->GetEntryPosition(entry);
    const glm::dvec3 expected = exporting::fromLps(plan.trajectories[0].entryLps, frame);
    EXPECT_NEAR(entry[0], expected.x, 1e-4);
    EXPECT_NEAR(entry[1], expected.y, 1e-4);
    EXPECT_NEAR(entry[2], expected.z, 1e-4);
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

exporting::IgtlClientOptions fastClient() {
    exporting::IgtlClientOptions o;
    o.connectTimeoutMs = 2000;
    o.sendTimeoutMs = 1000;
    o.attempts = 2;
    o.backoffMs = 100;
    o.lingerMs = 500;
    return o;
}

} // namespace

TEST(IgtlExportJob, StartsIdle) {
    IgtlExportJob job;
    EXPECT_EQ(job.status().state, IgtlJobState::Idle);
    EXPECT_FALSE(job.active());
    EXPECT_EQ(job.status().summary(), "Idle");
    job.stop(); // nothing to stop: harmless
}

TEST(IgtlExportJob, ClientGoesFromConnectingToSentAndTheReceiverGetsThePlan) {
    for (exporting::Frame frame : {exporting::Frame::Lps, exporting::Frame::Ras}) {
        SCOPED_TRACE(std::string(exporting::toString(frame)));
        auto server = igtl::ServerSocket::New();
        ASSERT_EQ(server->CreateServer(0), 0);
        const int port = server->GetServerPort();
        std::vector<Received> got;
        std::thread rx([&] {
            // Accept a little later, so the job is seen connecting first.
            std::this_thread::sleep_for(100ms);
            auto s = server->WaitForConnection(10000);
            if (!s) return;
            got = receiveAll(s);
            s->CloseSocket();
        });
        model::Plan plan = test::samplePlan();
        const std::string before = exporting::planToJson(plan);
        IgtlExportJob job;
        auto o = fastClient();
        o.messages.frame = frame;
        ASSERT_TRUE(job.send(plan, catalog(), "127.0.0.1:" + std::to_string(port), o));
        // Connecting is set before send() returns, but loopback connects at once: by the time
        // the UI looks the job may be sending already (the late receiver below sees it connect).
        const IgtlJobStatus first = job.status();
        EXPECT_TRUE(first.state == IgtlJobState::Connecting || first.active() ||
                    first.state == IgtlJobState::Sent)
            << first.summary();
        EXPECT_EQ(first.endpoint, "127.0.0.1:" + std::to_string(port));
        // The plan under edit may change meanwhile: the job has its own copy.
        plan.trajectories.clear();
        std::vector<IgtlJobState> seen;
        const IgtlJobStatus st =
            pollUntil(job, [](const IgtlJobStatus& s) { return !s.active(); }, 10.0, &seen);
        rx.join();
        server->CloseSocket();
        ASSERT_EQ(st.state, IgtlJobState::Sent) << st.summary();
        ASSERT_FALSE(seen.empty());
        EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "connecting, sending, sent";
        EXPECT_EQ(seen.back(), IgtlJobState::Sent);
        EXPECT_EQ(st.delivered, 1);
        EXPECT_EQ(st.messages, got.size());
        EXPECT_GT(st.bytesPerDelivery, 0u);
        EXPECT_TRUE(st.peerErrors.empty());
        EXPECT_EQ(st.frame, frame);
        const std::string line = st.summary();
        EXPECT_NE(line.find(fmt::format("Sent {} messages", got.size())), std::string::npos)
            << line;
        EXPECT_NE(line.find(std::string(exporting::toString(frame))), std::string::npos) << line;
        EXPECT_NE(line.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << line;
        const model::Plan original = test::samplePlan();
        EXPECT_EQ(exporting::planToJson(original), before);
        expectPlan(got, original, frame);
    }
}

TEST(IgtlExportJob, AReceiverThatStartsLateIsReachedByTheRetryWhileTheStatusSaysConnecting) {
    const int port = closedPort();
    IgtlExportJob job;
    auto o = fastClient();
    o.attempts = 3;
    o.backoffMs = 600;
    ASSERT_TRUE(job.send(test::samplePlan(), catalog(), "127.0.0.1:" + std::to_string(port), o));
    // The first attempt is refused; the job waits to retry, connecting.
    IgtlJobStatus st =
        pollUntil(job, [](const IgtlJobStatus& s) { return !s.peerErrors.empty(); }, 5.0);
    ASSERT_EQ(st.peerErrors.size(), 1u);
    EXPECT_EQ(st.state, IgtlJobState::Connecting);
    EXPECT_NE(st.summary().find("Connecting to 127.0.0.1:" + std::to_string(port)),
              std::string::npos)
        << st.summary();
    EXPECT_NE(st.summary().find("refused"), std::string::npos) << st.summary();

    auto server = igtl::ServerSocket::New();
    ASSERT_EQ(server->CreateServer(port), 0);
    std::vector<Received> got;
    std::thread rx([&] {
        auto s = server->WaitForConnection(10000);
        if (!s) return;
        got = receiveAll(s);
        s->CloseSocket();
    });
    std::vector<IgtlJobState> seen;
    st = pollUntil(job, [](const IgtlJobStatus& s) { return !s.active(); }, 10.0, &seen);
    rx.join();
    server->CloseSocket();
    ASSERT_EQ(st.state, IgtlJobState::Sent) << st.summary();
    EXPECT_EQ(seen.front(), IgtlJobState::Connecting);
    EXPECT_EQ(st.attempt, 2);
    EXPECT_EQ(st.messages, got.size());
    expectPlan(got, test::samplePlan(), exporting::Frame::Lps);
}

TEST(IgtlExportJob, ARefusedPortIsAnErrorNamingItWithinTheTimeout) {
    const int port = closedPort();
    IgtlExportJob job;
    const auto t0 = Clock::now();
    ASSERT_TRUE(job.send(test::samplePlan(), catalog(), "127.0.0.1:" + std::to_string(port),
                         fastClient()));
    const IgtlJobStatus st =
        pollUntil(job, [](const IgtlJobStatus& s) { return !s.active(); }, 10.0);
    EXPECT_LT(secondsSince(t0), 3.0) << "connect timeout 2 s, two attempts, refused at once";
    ASSERT_EQ(st.state, IgtlJobState::Failed);
    EXPECT_NE(st.error.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << st.error;
    EXPECT_NE(st.error.find("refused"), std::string::npos) << st.error;
    EXPECT_EQ(st.peerErrors.size(), 2u) << "each attempt is listed";
    EXPECT_EQ(st.attempt, 2);
    EXPECT_EQ(st.summary(), "Error: " + st.error);
}

TEST(IgtlExportJob, ServeGivesThePlanToEveryPeerUntilStopped) {
    const model::Plan plan = test::samplePlan();
    IgtlExportJob job;
    auto o = IgtlExportJob::untilStopped();
    o.messages.frame = exporting::Frame::Ras;
    o.lingerMs = 2000;
    ASSERT_TRUE(job.serve(plan, catalog(), 0, o));
    EXPECT_EQ(job.status().state, IgtlJobState::Serving);
    IgtlJobStatus st = pollUntil(job, [](const IgtlJobStatus& s) { return s.port > 0; }, 5.0);
    ASSERT_GT(st.port, 0);
    EXPECT_NE(st.summary().find(fmt::format("Serving on port {}", st.port)), std::string::npos)
        << st.summary();
    for (int peer = 0; peer < 2; ++peer) { // a reconnect gets the whole plan again
        auto client = igtl::ClientSocket::New();
        ASSERT_EQ(client->ConnectToServer("127.0.0.1", st.port), 0);
        const auto got = receiveAll(client);
        client->CloseSocket();
        expectPlan(got, plan, exporting::Frame::Ras);
    }
    st = pollUntil(job, [](const IgtlJobStatus& s) { return s.delivered == 2; }, 5.0);
    EXPECT_EQ(st.delivered, 2);
    EXPECT_EQ(st.peers.size(), 2u);
    EXPECT_EQ(st.state, IgtlJobState::Serving) << "still serving after the peers";
    EXPECT_NE(st.summary().find("2 peers got the plan"), std::string::npos) << st.summary();

    EXPECT_FALSE(job.send(plan, catalog(), "127.0.0.1:1", fastClient()))
        << "one job at a time";
    const auto t0 = Clock::now();
    job.stop();
    st = pollUntil(job, [](const IgtlJobStatus& s) { return !s.active(); }, 5.0);
    EXPECT_LT(secondsSince(t0), 1.0) << "stop is noticed within the sender's poll slice";
    EXPECT_EQ(st.state, IgtlJobState::Stopped);
    EXPECT_EQ(st.delivered, 2);
    EXPECT_NE(st.summary().find("2 peers got the plan"), std::string::npos) << st.summary();

    // The port is free again and a new job may start.
    ASSERT_TRUE(job.serve(plan, catalog(), 0, IgtlExportJob::untilStopped()));
    job.stop();
    st = pollUntil(job, [](const IgtlJobStatus& s) { return !s.active(); }, 5.0);
    EXPECT_EQ(st.state, IgtlJobState::Stopped);
}

TEST(IgtlExportJob, APeerThatDropsOutIsShownAndServingGoesOn) {
    IgtlExportJob job;
    auto o = IgtlExportJob::untilStopped();
    o.sendTimeoutMs = 1000;
    o.sendBufferBytes = 4096;
    ASSERT_TRUE(job.serve(test::samplePlan(), catalog(), 0, o));
    IgtlJobStatus st = pollUntil(job, [](const IgtlJobStatus& s) { return s.port > 0; }, 5.0);
    ASSERT_GT(st.port, 0);
    {
        // Reads part of the first header, then closes with the rest unread (a reset).
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(st.port));
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        std::uint8_t buf[30];
        EXPECT_GT(::recv(fd, buf, sizeof buf, 0), 0);
        ::close(fd);
    }
    st = pollUntil(job, [](const IgtlJobStatus& s) { return !s.peerErrors.empty(); }, 5.0);
    ASSERT_EQ(st.peerErrors.size(), 1u) << st.summary();
    EXPECT_NE(st.peerErrors[0].find("127.0.0.1"), std::string::npos) << st.peerErrors[0];
    EXPECT_EQ(st.state, IgtlJobState::Serving) << "a failed peer does not stop the server";
    EXPECT_EQ(st.delivered, 0);
    job.stop();
    st = pollUntil(job, [](const IgtlJobStatus& s) { return !s.active(); }, 5.0);
    EXPECT_EQ(st.state, IgtlJobState::Stopped);
}

TEST(IgtlExportJob, ABadAddressIsRefusedBeforeStarting) {
    IgtlExportJob job;
    auto r = job.send(test::samplePlan(), catalog(), "127.0.0.1:70000", fastClient());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_FALSE(r.error().message.empty());
    EXPECT_EQ(job.status().state, IgtlJobState::Idle);
    EXPECT_FALSE(job.serve(test::samplePlan(), catalog(), -1));
}

TEST(IgtlExportJob, DestroyingARunningJobStopsIt) {
    const auto t0 = Clock::now();
    {
        IgtlExportJob job;
        ASSERT_TRUE(job.serve(test::samplePlan(), catalog(), 0, IgtlExportJob::untilStopped()));
    }
    EXPECT_LT(secondsSince(t0), 2.0);
}
