#include "export/IgtlSender.h"

#include <fmt/core.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace precis::exporting {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string secondsText(int ms) {
    return fmt::format("{:g} s", ms / 1000.0);
}

/// Owns a socket descriptor.
class Socket {
public:
    Socket() = default;
    explicit Socket(int fd) : fd_(fd) {}
    Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Socket& operator=(Socket&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    ~Socket() { reset(); }
    [[nodiscard]] int fd() const { return fd_; }
    [[nodiscard]] bool valid() const { return fd_ >= 0; }

private:
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    int fd_ = -1;
};

enum class Wait { Ready, Timeout, Cancelled, Failed };

/// Waits up to timeoutMs for `events` on fd, in short slices so a cancel is noticed promptly.
Wait waitFor(int fd, short events, int timeoutMs, const Progress& progress,
             short* revents = nullptr) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;) {
        if (progress.cancelled()) return Wait::Cancelled;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return Wait::Timeout;
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
        if (r < 0) {
            if (errno == EINTR) continue;
            return Wait::Failed;
        }
        if (r > 0) {
            if (revents) *revents = p.revents;
            return Wait::Ready;
        }
    }
}

/// Sleeps up to ms; false when cancelled meanwhile.
bool sleepCancellable(int ms, const Progress& progress) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < deadline) {
        if (progress.cancelled()) return false;
        std::this_thread::sleep_for(
            std::min<Clock::duration>(std::chrono::milliseconds(50), deadline - Clock::now()));
    }
    return !progress.cancelled();
}

void setSendBuffer(int fd, int bytes) {
    if (bytes > 0) ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

/// An attempt's failure: what happened, for the user (without the peer's name, added by callers).
struct Failure {
    ErrorCode code = ErrorCode::IoError;
    std::string what;
    bool retry = true; // worth another connection (false: bad input, cancelled)
};

template <class T> using Attempt = std::expected<T, Failure>;

std::unexpected<Failure> failure(std::string what, bool retry = true,
                                 ErrorCode code = ErrorCode::IoError) {
    return std::unexpected(Failure{code, std::move(what), retry});
}

std::unexpected<Failure> cancelled() {
    return failure("cancelled", false, ErrorCode::Cancelled);
}

std::string connectErrorText(int err, int timeoutMs) {
    switch (err) {
    case ECONNREFUSED:
        return "refused the connection (is the receiver listening on that port?)";
    case ETIMEDOUT:
        return fmt::format("did not accept the connection within {}", secondsText(timeoutMs));
    case EHOSTUNREACH:
    case ENETUNREACH:
        return fmt::format("the host is unreachable ({})", std::strerror(err));
    default:
        return fmt::format("the connection failed ({})", std::strerror(err));
    }
}

Attempt<Socket> connectTo(const std::string& host, int port, const IgtlClientOptions& o,
                          const Progress& progress) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const std::string service = std::to_string(port);
    if (int r = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list); r != 0)
        return failure(fmt::format("the host name cannot be resolved ({})", ::gai_strerror(r)),
                       r == EAI_AGAIN);
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(list, &::freeaddrinfo);

    const auto deadline = Clock::now() + std::chrono::milliseconds(o.connectTimeoutMs);
    int lastErr = ETIMEDOUT;
    for (addrinfo* ai = list; ai; ai = ai->ai_next) {
        Socket s(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol));
        if (!s.valid()) {
            lastErr = errno;
            continue;
        }
        setSendBuffer(s.fd(), o.sendBufferBytes);
        if (::connect(s.fd(), ai->ai_addr, ai->ai_addrlen) == 0) return s;
        if (errno != EINPROGRESS) {
            lastErr = errno;
            continue;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) break;
        switch (waitFor(s.fd(), POLLOUT, static_cast<int>(left), progress)) {
        case Wait::Cancelled:
            return cancelled();
        case Wait::Timeout:
            lastErr = ETIMEDOUT;
            continue;
        case Wait::Failed:
            lastErr = errno;
            continue;
        case Wait::Ready:
            break;
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0) return s;
        lastErr = err;
    }
    return failure(connectErrorText(lastErr, o.connectTimeoutMs));
}

/// Sends every byte, or fails naming how far it got and why.
Attempt<void> sendAll(int fd, const IgtlMessage& m, int timeoutMs, const Progress& progress,
                      std::size_t& sentTotal, std::size_t total) {
    const std::uint8_t* p = m.bytes.data();
    std::size_t done = 0;
    const std::string what = fmt::format("{} message '{}'", m.type, m.deviceName);
    while (done < m.bytes.size()) {
        if (progress.cancelled()) return cancelled();
        const ssize_t n = ::send(fd, p + done, m.bytes.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            sentTotal += static_cast<std::size_t>(n);
            progress.report(static_cast<double>(sentTotal) / static_cast<double>(total),
                            "Sending the plan over OpenIGTLink");
            continue;
        }
        const int err = n < 0 ? errno : EPIPE;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            switch (waitFor(fd, POLLOUT, timeoutMs, progress)) {
            case Wait::Cancelled:
                return cancelled();
            case Wait::Timeout:
                return failure(fmt::format("stopped reading: {} of {} bytes of the {} were not "
                                           "accepted within {}",
                                           m.bytes.size() - done, m.bytes.size(), what,
                                           secondsText(timeoutMs)));
            case Wait::Failed:
                return failure(fmt::format("poll failed: {}", std::strerror(errno)));
            case Wait::Ready:
                continue; // POLLERR/POLLHUP surface as the next send's errno
            }
        }
        if (err == EPIPE || err == ECONNRESET)
            return failure(fmt::format("closed the connection after {} of {} bytes of the {}", done,
                                       m.bytes.size(), what));
        return failure(fmt::format("send failed during the {}: {}", what, std::strerror(err)));
    }
    return {};
}

/// True when `h` (at least kIgtlHeaderBytes) looks like an OpenIGTLink header: version 1 or 2
/// and a type name of printable ASCII padded with NULs.
bool looksLikeIgtlHeader(const std::uint8_t* h) {
    const int version = (h[0] << 8) | h[1];
    if (version != 1 && version != 2) return false;
    bool ended = false;
    int letters = 0;
    for (int i = 2; i < 14; ++i) {
        const std::uint8_t c = h[i];
        if (c == 0)
            ended = true;
        else if (ended || c < 0x20 || c > 0x7E)
            return false;
        else
            ++letters;
    }
    return letters > 0;
}

/// After the last byte: half-close and read until the peer closes or lingerMs pass. A reset means
/// the peer closed without reading everything. What the peer sent is checked and discarded.
Attempt<void> finish(int fd, int lingerMs, const Progress& progress,
                     std::vector<std::string>& warnings) {
    ::shutdown(fd, SHUT_WR);
    std::vector<std::uint8_t> head;
    std::size_t received = 0;
    std::uint8_t buf[4096];
    const auto deadline = Clock::now() + std::chrono::milliseconds(lingerMs);
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) break; // still connected: fine, it has everything we sent
        const Wait w = waitFor(fd, POLLIN, static_cast<int>(left), progress);
        if (w == Wait::Cancelled) return cancelled();
        if (w != Wait::Ready) break;
        const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) break; // orderly close
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            if (errno == ECONNRESET)
                return failure("reset the connection before reading the whole plan");
            return failure(fmt::format("receive failed: {}", std::strerror(errno)));
        }
        received += static_cast<std::size_t>(n);
        for (ssize_t i = 0; i < n && head.size() < kIgtlHeaderBytes; ++i)
            head.push_back(buf[i]);
    }
    if (received > 0 && (head.size() < kIgtlHeaderBytes || !looksLikeIgtlHeader(head.data())))
        warnings.push_back(
            fmt::format("the peer sent {} bytes that are not OpenIGTLink; ignored", received));
    return {};
}

/// One whole plan over one connection.
Attempt<void> deliver(int fd, const IgtlMessageSet& set, const IgtlLinkOptions& o,
                      const Progress& progress, std::vector<std::string>& warnings) {
    std::size_t total = 0, sent = 0;
    for (const auto& m : set.messages)
        total += m.bytes.size();
    for (const auto& m : set.messages)
        if (auto r = sendAll(fd, m, o.sendTimeoutMs, progress, sent, total); !r) return r;
    return finish(fd, o.lingerMs, progress, warnings);
}

Result<void> checkLinkOptions(const IgtlLinkOptions& o) {
    if (o.sendTimeoutMs <= 0 || o.lingerMs < 0 || o.sendBufferBytes < 0)
        return fail(ErrorCode::InvalidArgument, "OpenIGTLink timeouts must be positive");
    return {};
}

void fillReport(IgtlSendReport& report, const IgtlMessageSet& set) {
    report.warnings = set.warnings;
    for (const auto& m : set.messages) {
        report.messages.push_back({m.type, m.deviceName, m.bytes.size()});
        report.bytesPerDelivery += m.bytes.size();
    }
}

std::string peerAddress(const sockaddr_storage& a) {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (a.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
        ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        return fmt::format("{}:{}", host, port);
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    std::string h = host;
    if (h.starts_with("::ffff:")) return fmt::format("{}:{}", h.substr(7), port); // IPv4 peer
    return fmt::format("[{}]:{}", h, port);
}

/// Listening socket on all interfaces: IPv6 accepting IPv4 too, or IPv4 where IPv6 is off.
Result<Socket> listenOn(int port) {
    const int one = 1, zero = 0;
    Socket s(::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    int err = 0;
    if (s.valid()) {
        ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        ::setsockopt(s.fd(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_addr = in6addr_any;
        a.sin6_port = htons(static_cast<std::uint16_t>(port));
        if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::listen(s.fd(), 4) == 0)
            return s;
        err = errno;
    }
    if (err != EADDRINUSE && err != EACCES) {
        s = Socket(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (s.valid()) {
            ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_ANY);
            a.sin_port = htons(static_cast<std::uint16_t>(port));
            if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                ::listen(s.fd(), 4) == 0)
                return s;
        }
        err = errno;
    }
    if (err == EADDRINUSE)
        return fail(ErrorCode::IoError,
                    fmt::format("cannot serve OpenIGTLink on port {}: it is already in use", port));
    if (err == EACCES)
        return fail(ErrorCode::IoError,
                    fmt::format("cannot serve OpenIGTLink on port {}: permission denied (ports "
                                "below 1024 need privileges)",
                                port));
    return fail(ErrorCode::IoError,
                fmt::format("cannot serve OpenIGTLink on port {}: {}", port, std::strerror(err)));
}

int boundPort(int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
    return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
}

void emit(const IgtlLinkOptions& o, IgtlLinkEvent::Kind kind, const std::string& peer, int attempt,
          const std::string& error = {}) {
    if (o.onEvent) o.onEvent(IgtlLinkEvent{kind, peer, attempt, error});
}

std::string joinLines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines)
        out += (out.empty() ? "" : "; ") + l;
    return out;
}

} // namespace

Result<std::pair<std::string, int>> parseHostPort(const std::string& text) {
    std::string host = text, portText;
    if (text.starts_with("[")) {
        const auto close = text.find(']');
        if (close == std::string::npos)
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("'{}' is not HOST:PORT (unclosed '[')", text));
        host = text.substr(1, close - 1);
        const std::string rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':')
                return fail(ErrorCode::InvalidArgument, fmt::format("'{}' is not HOST:PORT", text));
            portText = rest.substr(1);
        }
    } else if (const auto colon = text.rfind(':'); colon != std::string::npos) {
        if (text.find(':') != colon)
            return fail(
                ErrorCode::InvalidArgument,
                fmt::format("'{}' is not HOST:PORT (write an IPv6 address as [ADDR]:PORT)", text));
        host = text.substr(0, colon);
        portText = text.substr(colon + 1);
        if (portText.empty())
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("'{}' has no port after ':'", text));
    }
    if (host.empty())
        return fail(ErrorCode::InvalidArgument, fmt::format("'{}' has no host name", text));
    int port = kIgtlDefaultPort;
    if (!portText.empty()) {
        char* end = nullptr;
        const long v = std::strtol(portText.c_str(), &end, 10);
        if (!end || *end != '\0' || v < 1 || v > 65535)
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("'{}': the port must be a number from 1 to 65535", text));
        port = static_cast<int>(v);
    }
    return std::pair{host, port};
}

Result<IgtlSendReport> sendPlanIgtl(const model::Plan& plan, const model::DeviceCatalog& catalog,
                                    const std::string& host, int port,
                                    const IgtlClientOptions& options, const Progress& progress) {
    const auto t0 = Clock::now();
    const std::string peer = host.find(':') != std::string::npos
                                 ? fmt::format("[{}]:{}", host, port)
                                 : fmt::format("{}:{}", host, port);
    if (host.empty() || port < 1 || port > 65535)
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("cannot send to OpenIGTLink peer '{}': needs a host and a port "
                                "from 1 to 65535",
                                peer));
    if (options.attempts < 1 || options.connectTimeoutMs <= 0 || options.backoffMs < 0)
        return fail(ErrorCode::InvalidArgument,
                    "OpenIGTLink: attempts must be at least 1 and timeouts positive");
    if (auto ok = checkLinkOptions(options); !ok) return std::unexpected(ok.error());
    auto set = buildIgtlMessages(plan, catalog, options.messages);
    if (!set) return std::unexpected(set.error());

    IgtlSendReport report;
    report.peer = peer;
    report.frame = options.messages.frame;
    fillReport(report, *set);
    int backoff = options.backoffMs;
    std::vector<std::string> waits;
    for (int attempt = 1; attempt <= options.attempts; ++attempt) {
        if (attempt > 1) {
            waits.push_back(secondsText(backoff));
            if (!sleepCancellable(backoff, progress))
                return fail(ErrorCode::Cancelled, "cancelled");
            backoff *= 2;
        }
        report.attempts = attempt;
        emit(options, IgtlLinkEvent::Kind::Connecting, peer, attempt);
        Attempt<void> result;
        if (auto s = connectTo(host, port, options, progress); !s) {
            result = std::unexpected(s.error());
        } else {
            emit(options, IgtlLinkEvent::Kind::Connected, peer, attempt);
            result = deliver(s->fd(), *set, options, progress, report.warnings);
        }
        if (result) {
            emit(options, IgtlLinkEvent::Kind::Delivered, peer, attempt);
            report.delivered = 1;
            report.seconds = secondsSince(t0);
            return report;
        }
        if (result.error().code == ErrorCode::Cancelled)
            return fail(ErrorCode::Cancelled, "cancelled");
        emit(options, IgtlLinkEvent::Kind::Failed, peer, attempt, result.error().what);
        report.attemptErrors.push_back(fmt::format("attempt {}: {}", attempt, result.error().what));
        if (!result.error().retry) break;
    }
    std::string retried = waits.empty() ? "" : fmt::format(", retried after {}", [&] {
        std::string w;
        for (std::size_t i = 0; i < waits.size(); ++i)
            w += (i == 0 ? "" : i + 1 == waits.size() ? " and " : ", ") + waits[i];
        return w;
    }());
    const std::string last =
        report.attemptErrors.back().substr(report.attemptErrors.back().find(": ") + 2);
    return fail(ErrorCode::IoError,
                fmt::format("could not send the plan to OpenIGTLink peer {}: {} ({} attempt{}{})",
                            peer, last, report.attempts, report.attempts == 1 ? "" : "s", retried),
                joinLines(report.attemptErrors));
}

Result<IgtlSendReport> servePlanIgtl(const model::Plan& plan, const model::DeviceCatalog& catalog,
                                     int port, const IgtlServeOptions& options,
                                     const Progress& progress) {
    const auto t0 = Clock::now();
    if (port < 0 || port > 65535)
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("cannot serve OpenIGTLink on port {}: ports are 1 to 65535", port));
    if (options.peers < 1 || options.waitMs <= 0)
        return fail(ErrorCode::InvalidArgument,
                    "OpenIGTLink serve: at least one peer and a positive wait are needed");
    if (auto ok = checkLinkOptions(options); !ok) return std::unexpected(ok.error());
    auto set = buildIgtlMessages(plan, catalog, options.messages);
    if (!set) return std::unexpected(set.error());
    auto listener = listenOn(port);
    if (!listener) return std::unexpected(listener.error());
    const int bound = boundPort(listener->fd());
    if (options.onListening) options.onListening(bound);

    IgtlSendReport report;
    report.peer = fmt::format("port {}", bound);
    report.frame = options.messages.frame;
    fillReport(report, *set);
    std::vector<std::string> peers;
    while (report.delivered < options.peers) {
        switch (waitFor(listener->fd(), POLLIN, options.waitMs, progress)) {
        case Wait::Cancelled:
            return fail(ErrorCode::Cancelled, "cancelled");
        case Wait::Failed:
            return fail(ErrorCode::IoError, fmt::format("OpenIGTLink server on port {}: {}", bound,
                                                        std::strerror(errno)));
        case Wait::Timeout: {
            std::string msg = fmt::format("no OpenIGTLink peer connected to port {} within {}",
                                          bound, secondsText(options.waitMs));
            if (report.delivered > 0)
                msg += fmt::format(" (after {} of {} peers got the plan)", report.delivered,
                                   options.peers);
            if (!report.attemptErrors.empty())
                msg += "; failed peers: " + joinLines(report.attemptErrors);
            return fail(ErrorCode::IoError, msg);
        }
        case Wait::Ready:
            break;
        }
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        Socket peer(::accept4(listener->fd(), reinterpret_cast<sockaddr*>(&addr), &len,
                              SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!peer.valid()) {
            // A peer that gave up between poll and accept is no error; anything else (out of
            // descriptors, ...) would make the poll above fire forever.
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED ||
                errno == EINTR || errno == EPROTO)
                continue;
            return fail(ErrorCode::IoError,
                        fmt::format("OpenIGTLink server on port {} cannot accept a connection: {}",
                                    bound, std::strerror(errno)));
        }
        setSendBuffer(peer.fd(), options.sendBufferBytes);
        const std::string who = peerAddress(addr);
        ++report.attempts;
        emit(options, IgtlLinkEvent::Kind::Connected, who, report.attempts);
        auto r = deliver(peer.fd(), *set, options, progress, report.warnings);
        if (!r) {
            if (r.error().code == ErrorCode::Cancelled)
                return fail(ErrorCode::Cancelled, "cancelled");
            emit(options, IgtlLinkEvent::Kind::Failed, who, report.attempts, r.error().what);
            report.attemptErrors.push_back(fmt::format("{} {}", who, r.error().what));
            continue;
        }
        emit(options, IgtlLinkEvent::Kind::Delivered, who, report.attempts);
        ++report.delivered;
        peers.push_back(who);
    }
    report.peer = fmt::format("port {} (peers {})", bound, joinLines(peers));
    report.seconds = secondsSince(t0);
    return report;
}

} // namespace precis::exporting
