#include "export/IgtlSender.h"

#include "IgtlTestSupport.h"
#include "SamplePlan.h"
#include "export/PlanFile.h"

#include <gtest/gtest.h>
#include <igtlClientSocket.h>
#include <igtlPointMessage.h>
#include <igtlPolyDataMessage.h>
#include <igtlServerSocket.h>
#include <igtlStringMessage.h>
#include <igtlTrajectoryMessage.h>
#include <igtlTransformMessage.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <future>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace precis;
using precis::test::Received;
using precis::test::receiveAll;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const model::DeviceCatalog& catalog() {
    return exporting::builtinDeviceCatalog();
}

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Checks every message a receiver got against the plan, value by value.
void expectPlanDelivered(const std::vector<Received>& got, const model::Plan& plan,
                         exporting::Frame frame) {
    const auto want = exporting::buildIgtlMessages(plan, catalog(), {.frame = frame});
    ASSERT_TRUE(want);
    ASSERT_EQ(got.size(), want->messages.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        SCOPED_TRACE(got[i].device);
        EXPECT_EQ(got[i].type, want->messages[i].type);
        EXPECT_EQ(got[i].device, want->messages[i].deviceName);
        // Bodies are deterministic (headers differ only in the time stamp and hence nowhere
        // else: the CRC covers the body).
        EXPECT_TRUE(std::equal(got[i].bytes.begin() + 58, got[i].bytes.end(),
                               want->messages[i].bytes.begin() + 58,
                               want->messages[i].bytes.end()));
    }
    auto sign = [&](const glm::dvec3& lps) { return exporting::fromLps(lps, frame); };
    auto near = [](const float* f, const glm::dvec3& v) {
        return std::abs(f[0] - v.x) < 1e-4 && std::abs(f[1] - v.y) < 1e-4 &&
               std::abs(f[2] - v.z) < 1e-4;
    };
    auto traj = test::unpackIgtl<igtl::TrajectoryMessage>(got[0].bytes.data(), got[0].bytes.size());
    ASSERT_TRUE(traj);
    ASSERT_EQ(traj->GetNumberOfTrajectoryElement(), static_cast<int>(plan.trajectories.size()));
    for (int i = 0; i < traj->GetNumberOfTrajectoryElement(); ++i) {
        const model::Trajectory& t = plan.trajectories[static_cast<std::size_t>(i)];
        igtl::TrajectoryElement::Pointer e;
        traj->GetTrajectoryElement(i, e);
        EXPECT_EQ(std::string(e->GetName()), t.name);
        EXPECT_EQ(std::string(e->GetGroupName()), t.procedure);
        EXPECT_EQ(e->GetType(), 3);
        float entry[3], target[3];
        e->GetEntryPosition(entry);
        e->GetTargetPosition(target);
        EXPECT_TRUE(near(entry, sign(t.entryLps)));
        EXPECT_TRUE(near(target, sign(t.targetLps)));
        EXPECT_FLOAT_EQ(e->GetRadius(), static_cast<float>(catalog().find(t.deviceId)->radiusMm()));
        EXPECT_EQ(std::string(e->GetOwner()), plan.series.seriesInstanceUid.substr(0, 19));
    }
    auto points = test::unpackIgtl<igtl::PointMessage>(got[1].bytes.data(), got[1].bytes.size());
    ASSERT_TRUE(points);
    ASSERT_EQ(points->GetNumberOfPointElement(), 2 * static_cast<int>(plan.trajectories.size()));
    for (int i = 0; i < points->GetNumberOfPointElement(); ++i) {
        const model::Trajectory& t = plan.trajectories[static_cast<std::size_t>(i / 2)];
        igtl::PointElement::Pointer p;
        points->GetPointElement(i, p);
        float xyz[3];
        p->GetPosition(xyz);
        EXPECT_EQ(std::string(p->GetName()), t.name + (i % 2 ? " Target" : " Entry"));
        EXPECT_TRUE(near(xyz, sign(i % 2 ? t.targetLps : t.entryLps)));
    }
    auto landmarks = test::unpackIgtl<igtl::PointMessage>(got[2].bytes.data(), got[2].bytes.size());
    ASSERT_TRUE(landmarks);
    ASSERT_EQ(landmarks->GetNumberOfPointElement(), static_cast<int>(plan.landmarks.size()));
    for (int i = 0; i < landmarks->GetNumberOfPointElement(); ++i) {
        igtl::PointElement::Pointer p;
        landmarks->GetPointElement(i, p);
        float xyz[3];
        p->GetPosition(xyz);
        const auto& l = plan.landmarks[static_cast<std::size_t>(i)];
        EXPECT_EQ(std::string(p->GetName()), l.name);
        EXPECT_EQ(std::string(p->GetGroupName()), l.kind);
        EXPECT_TRUE(near(xyz, sign(l.lps)));
    }
    for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
        const auto& pose = got[3 + 2 * i];
        auto tm = test::unpackIgtl<igtl::TransformMessage>(pose.bytes.data(), pose.bytes.size());
        ASSERT_TRUE(tm);
        igtl::Matrix4x4 m;
        tm->GetMatrix(m);
        const float origin[3] = {m[0][3], m[1][3], m[2][3]};
        EXPECT_TRUE(near(origin, sign(plan.trajectories[i].targetLps)));
        const auto& shaft = got[4 + 2 * i];
        auto pd = test::unpackIgtl<igtl::PolyDataMessage>(shaft.bytes.data(), shaft.bytes.size());
        ASSERT_TRUE(pd);
        EXPECT_GT(pd->GetPoints()->GetNumberOfPoints(), 0);
    }
    auto str =
        test::unpackIgtl<igtl::StringMessage>(got.back().bytes.data(), got.back().bytes.size());
    ASSERT_TRUE(str);
    EXPECT_EQ(std::string(str->GetString()), exporting::planToJson(plan));
}

/// A plan whose messages are far larger than two small socket buffers (for stalls).
model::Plan samplePlan() {
    return test::samplePlan();
}
exporting::IgtlClientOptions fastClient() {
    exporting::IgtlClientOptions o;
    o.connectTimeoutMs = 2000;
    o.sendTimeoutMs = 400;
    o.attempts = 2;
    o.backoffMs = 100;
    o.lingerMs = 500;
    return o;
}

/// A misbehaving peer written with plain sockets: listens on 127.0.0.1 (any free port) and runs
/// `behave` on every connection until stopped.
class RawPeer {
public:
    explicit RawPeer(std::function<void(int fd, const std::atomic<bool>& stop)> behave,
                     int receiveBuffer = 0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (receiveBuffer > 0)
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(fd_, 8), 0);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this, behave = std::move(behave)] {
            std::vector<std::thread> peers;
            while (!stop_) {
                pollfd p{fd_, POLLIN, 0};
                if (::poll(&p, 1, 50) <= 0) continue;
                const int c = ::accept(fd_, nullptr, nullptr);
                if (c < 0) continue;
                ++accepted_;
                peers.emplace_back([c, &behave, this] {
                    behave(c, stop_);
                    ::close(c);
                });
            }
            for (auto& t : peers)
                t.join();
        });
    }
    ~RawPeer() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] int accepted() const { return accepted_; }

private:
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::thread thread_;
};

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

} // namespace

TEST(IgtlSender, ClientDeliversEveryMessageToALibopenigtlinkReceiver) {
    for (exporting::Frame frame : {exporting::Frame::Lps, exporting::Frame::Ras}) {
        SCOPED_TRACE(std::string(exporting::toString(frame)));
        auto server = igtl::ServerSocket::New();
        ASSERT_EQ(server->CreateServer(0), 0);
        const int port = server->GetServerPort();
        std::vector<Received> got;
        std::thread rx([&] {
            auto s = server->WaitForConnection(10000);
            if (!s) return;
            got = receiveAll(s);
            s->CloseSocket();
        });
        const model::Plan plan = samplePlan();
        const std::string before = exporting::planToJson(plan);
        auto opts = fastClient();
        opts.messages.frame = frame;
        auto r = exporting::sendPlanIgtl(plan, catalog(), "127.0.0.1", port, opts);
        rx.join();
        server->CloseSocket();
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r->delivered, 1);
        EXPECT_EQ(r->attempts, 1);
        EXPECT_EQ(r->peer, "127.0.0.1:" + std::to_string(port));
        EXPECT_EQ(r->messages.size(), got.size());
        EXPECT_TRUE(r->warnings.empty());
        expectPlanDelivered(got, plan, frame);
        EXPECT_EQ(exporting::planToJson(plan), before) << "the plan is never modified";
    }
}

TEST(IgtlSender, ServerSendsThePlanToEachPeerThatConnects) {
    const model::Plan plan = samplePlan();
    std::promise<int> listening;
    exporting::IgtlServeOptions o;
    o.waitMs = 10000;
    o.peers = 2;
    o.lingerMs = 2000;
    o.onListening = [&](int port) { listening.set_value(port); };
    auto served = std::async(std::launch::async,
                             [&] { return exporting::servePlanIgtl(plan, catalog(), 0, o); });
    const int port = listening.get_future().get();
    for (int peer = 0; peer < 2; ++peer) { // a reconnect gets the whole plan again
        auto client = igtl::ClientSocket::New();
        ASSERT_EQ(client->ConnectToServer("127.0.0.1", port), 0);
        const auto got = receiveAll(client);
        client->CloseSocket();
        expectPlanDelivered(got, plan, exporting::Frame::Lps);
    }
    auto r = served.get();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->delivered, 2);
    EXPECT_NE(r->peer.find("127.0.0.1"), std::string::npos) << r->peer;
}

TEST(IgtlSender, ServerGivesUpWhenNoPeerComes) {
    exporting::IgtlServeOptions o;
    o.waitMs = 300;
    int bound = 0;
    o.onListening = [&](int port) { bound = port; };
    const auto t0 = Clock::now();
    auto r = exporting::servePlanIgtl(samplePlan(), catalog(), 0, o);
    EXPECT_LT(secondsSince(t0), 3.0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::IoError);
    EXPECT_NE(r.error().message.find("port " + std::to_string(bound)), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("0.3 s"), std::string::npos) << r.error().message;
}

TEST(IgtlSender, APortInUseIsAClearError) {
    RawPeer holder([](int, const std::atomic<bool>&) {});
    exporting::IgtlServeOptions o;
    o.waitMs = 300;
    auto r = exporting::servePlanIgtl(samplePlan(), catalog(), holder.port(), o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("in use"), std::string::npos) << r.error().message;
}

TEST(IgtlSender, RefusedConnectionsAreRetriedWithBackoffThenReported) {
    const int port = closedPort();
    auto o = fastClient();
    o.attempts = 3;
    o.backoffMs = 50;
    const auto t0 = Clock::now();
    auto r = exporting::sendPlanIgtl(samplePlan(), catalog(), "127.0.0.1", port, o);
    const double s = secondsSince(t0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::IoError);
    const std::string& m = r.error().message;
    EXPECT_NE(m.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << m;
    EXPECT_NE(m.find("refused"), std::string::npos) << m;
    EXPECT_NE(m.find("3 attempts"), std::string::npos) << m;
    EXPECT_NE(m.find("retried after 0.05 s and 0.1 s"), std::string::npos) << m;
    EXPECT_GE(s, 0.14) << "the backoff was waited";
    EXPECT_LT(s, 3.0);
}

TEST(IgtlSender, APeerThatClosesMidMessageIsAnErrorNotAHang) {
    // Reads part of the first header, then closes with the rest unread (the kernel resets).
    RawPeer peer([](int fd, const std::atomic<bool>&) {
        std::uint8_t buf[30];
        std::size_t got = 0;
        while (got < sizeof buf) {
            const ssize_t n = ::recv(fd, buf + got, sizeof buf - got, 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
    });
    for (int sides : {16, 2048}) { // a plan that fits the socket buffers, and one that does not
        SCOPED_TRACE(sides);
        auto o = fastClient();
        o.messages.shaftSides = sides;
        const auto t0 = Clock::now();
        auto r = exporting::sendPlanIgtl(samplePlan(), catalog(), "127.0.0.1", peer.port(), o);
        EXPECT_LT(secondsSince(t0), 5.0);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, ErrorCode::IoError);
        const std::string& m = r.error().message;
        EXPECT_NE(m.find("127.0.0.1:" + std::to_string(peer.port())), std::string::npos) << m;
        EXPECT_TRUE(m.find("closed the connection") != std::string::npos ||
                    m.find("reset the connection") != std::string::npos)
            << m;
        EXPECT_NE(m.find("2 attempts"), std::string::npos) << m;
    }
}

TEST(IgtlSender, APeerThatNeverReadsIsAnErrorAfterTheSendTimeout) {
    RawPeer peer(
        [](int, const std::atomic<bool>& stop) {
            while (!stop)
                std::this_thread::sleep_for(10ms); // connected, never reading
        },
        4096);
    auto o = fastClient();
    o.messages.shaftSides = 2048; // ~1 MB of POLYDATA: far beyond both socket buffers
    o.sendBufferBytes = 4096;
    const auto t0 = Clock::now();
    auto r = exporting::sendPlanIgtl(samplePlan(), catalog(), "127.0.0.1", peer.port(), o);
    EXPECT_LT(secondsSince(t0), 5.0);
    ASSERT_FALSE(r);
    const std::string& m = r.error().message;
    EXPECT_NE(m.find("stopped reading"), std::string::npos) << m;
    EXPECT_NE(m.find("0.4 s"), std::string::npos) << m;
    EXPECT_NE(m.find("127.0.0.1:" + std::to_string(peer.port())), std::string::npos) << m;
    EXPECT_EQ(peer.accepted(), 2) << "retried once";
}

TEST(IgtlSender, AStalledSendCanBeCancelled) {
    RawPeer peer(
        [](int, const std::atomic<bool>& stop) {
            while (!stop)
                std::this_thread::sleep_for(10ms);
        },
        4096);
    auto o = fastClient();
    o.messages.shaftSides = 2048;
    o.sendBufferBytes = 4096;
    o.sendTimeoutMs = 60000;
    CancelToken cancel;
    Progress progress([](double, std::string_view) {}, &cancel);
    std::thread canceller([&] {
        std::this_thread::sleep_for(200ms);
        cancel.cancel();
    });
    const auto t0 = Clock::now();
    auto r =
        exporting::sendPlanIgtl(samplePlan(), catalog(), "127.0.0.1", peer.port(), o, progress);
    canceller.join();
    EXPECT_LT(secondsSince(t0), 3.0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::Cancelled);
}

TEST(IgtlSender, GarbageFromThePeerIsReportedAndIgnored) {
    RawPeer peer([](int fd, const std::atomic<bool>&) {
        const std::string junk(100, '#');
        (void)::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
        std::uint8_t buf[4096];
        while (::recv(fd, buf, sizeof buf, 0) > 0) {
        } // read everything, then close
    });
    auto r =
        exporting::sendPlanIgtl(samplePlan(), catalog(), "127.0.0.1", peer.port(), fastClient());
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_NE(r->warnings[0].find("not OpenIGTLink"), std::string::npos) << r->warnings[0];
}

TEST(IgtlSender, BadArgumentsFailBeforeConnecting) {
    auto r = exporting::sendPlanIgtl(samplePlan(), catalog(), "127.0.0.1", 0, fastClient());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    r = exporting::sendPlanIgtl(samplePlan(), catalog(), "no-such-host.invalid", 18944,
                                fastClient());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no-such-host.invalid:18944"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("resolved"), std::string::npos) << r.error().message;
}

TEST(IgtlSender, ParsesHostAndPort) {
    using exporting::parseHostPort;
    using HostPort = std::pair<std::string, int>;
    EXPECT_EQ(parseHostPort("nav.local:18945").value(), HostPort("nav.local", 18945));
    EXPECT_EQ(parseHostPort("10.0.0.7").value(), HostPort("10.0.0.7", 18944));
    EXPECT_EQ(parseHostPort("[::1]:19000").value(), HostPort("::1", 19000));
    EXPECT_EQ(parseHostPort("[fe80::1]").value(), HostPort("fe80::1", 18944));
    for (const char* bad :
         {"", ":18944", "host:", "host:0", "host:65536", "host:12ab", "a:b:c", "[::1", "[::1]x"}) {
        auto r = parseHostPort(bad);
        EXPECT_FALSE(r) << bad;
        if (!r) {
            EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument) << bad;
        }
    }
}

TEST(IgtlSender, ReportsEachStepOfEachConnectionAsItHappens) {
    using Kind = exporting::IgtlLinkEvent::Kind;
    std::vector<exporting::IgtlLinkEvent> events;
    auto o = fastClient();
    o.attempts = 2;
    o.backoffMs = 10;
    o.onEvent = [&](const exporting::IgtlLinkEvent& e) { events.push_back(e); };
    const int refused = closedPort();
    ASSERT_FALSE(exporting::sendPlanIgtl(samplePlan(), catalog(), "127.0.0.1", refused, o));
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0].kind, Kind::Connecting);
    EXPECT_EQ(events[0].attempt, 1);
    EXPECT_EQ(events[0].peer, "127.0.0.1:" + std::to_string(refused));
    EXPECT_EQ(events[1].kind, Kind::Failed);
    EXPECT_NE(events[1].error.find("refused"), std::string::npos) << events[1].error;
    EXPECT_EQ(events[2].kind, Kind::Connecting);
    EXPECT_EQ(events[2].attempt, 2);
    EXPECT_EQ(events[3].kind, Kind::Failed);

    events.clear();
    auto server = igtl::ServerSocket::New();
    ASSERT_EQ(server->CreateServer(0), 0);
    std::thread rx([&] {
        auto s = server->WaitForConnection(10000);
        if (!s) return;
        receiveAll(s);
        s->CloseSocket();
    });
    auto r = exporting::sendPlanIgtl(samplePlan(), catalog(), "127.0.0.1",
                                     server->GetServerPort(), o);
    rx.join();
    server->CloseSocket();
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].kind, Kind::Connecting);
    EXPECT_EQ(events[1].kind, Kind::Connected);
    EXPECT_EQ(events[2].kind, Kind::Delivered);
}
