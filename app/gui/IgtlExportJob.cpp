#include "gui/IgtlExportJob.h"

#include <fmt/core.h>

#include <limits>
#include <utility>

namespace precis::gui {

std::string_view toString(IgtlJobState state) {
    switch (state) {
    case IgtlJobState::Idle:
        return "idle";
    case IgtlJobState::Connecting:
        return "connecting";
    case IgtlJobState::Sending:
        return "sending";
    case IgtlJobState::Serving:
        return "serving";
    case IgtlJobState::Sent:
        return "sent";
    case IgtlJobState::Stopped:
        return "stopped";
    case IgtlJobState::Failed:
        return "error";
    }
    return "?";
}

bool IgtlJobStatus::active() const {
    return state == IgtlJobState::Connecting || state == IgtlJobState::Sending ||
           state == IgtlJobState::Serving;
}

std::string IgtlJobStatus::summary() const {
    const auto frameName = exporting::toString(frame);
    const auto plural = [](std::size_t n, const char* what) {
        return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
    };
    switch (state) {
    case IgtlJobState::Idle:
        return "Idle";
    case IgtlJobState::Connecting:
        if (attempt > 1 || !peerErrors.empty())
            return fmt::format("Connecting to {} (attempt {} of {}; last: {})", endpoint, attempt,
                               attempts, peerErrors.empty() ? "" : peerErrors.back());
        return fmt::format("Connecting to {}...", endpoint);
    case IgtlJobState::Sending:
        return fmt::format("Sending the plan to {} ({:.0f}%, {})", endpoint, fraction * 100.0,
                           frameName);
    case IgtlJobState::Serving: {
        std::string s = port > 0 ? fmt::format("Serving on port {} ({})", port, frameName)
                                 : fmt::format("Opening {}...", endpoint);
        if (!activePeer.empty()) s += fmt::format(": sending to {}", activePeer);
        if (delivered > 0)
            s += fmt::format("; {} got the plan ({} each)", plural(delivered, "peer"),
                             plural(messages, "message"));
        else if (activePeer.empty())
            s += ": waiting for a navigation system to connect";
        return s;
    }
    case IgtlJobState::Sent:
        return fmt::format("Sent {} ({} bytes, {}) to {} in {:.1f} s", plural(messages, "message"),
                           bytesPerDelivery, frameName, endpoint, seconds);
    case IgtlJobState::Stopped:
        if (server)
            return fmt::format("Stopped serving on {}: {} got the plan", endpoint,
                               plural(delivered, "peer"));
        return fmt::format("Stopped: the plan was not sent to {}", endpoint);
    case IgtlJobState::Failed:
        return "Error: " + error;
    }
    return {};
}

IgtlExportJob::IgtlExportJob() = default;

IgtlExportJob::~IgtlExportJob() {
    stop();
    if (worker_.joinable()) worker_.join();
}

Result<void> IgtlExportJob::startable() {
    if (active())
        return fail(ErrorCode::InvalidArgument,
                    "an OpenIGTLink export is still running: stop it first");
    if (worker_.joinable()) worker_.join(); // finished: only the thread's end is left
    cancel_ = std::make_unique<CancelToken>();
    return {};
}

void IgtlExportJob::stop() {
    if (cancel_) cancel_->cancel();
}

IgtlJobStatus IgtlExportJob::status() const {
    std::lock_guard lock(mutex_);
    return status_;
}

exporting::IgtlServeOptions IgtlExportJob::untilStopped(exporting::IgtlServeOptions options) {
    options.peers = std::numeric_limits<int>::max();
    options.waitMs = std::numeric_limits<int>::max(); // ~25 days: stop() ends it
    return options;
}

void IgtlExportJob::onEvent(const exporting::IgtlLinkEvent& e) {
    using Kind = exporting::IgtlLinkEvent::Kind;
    std::lock_guard lock(mutex_);
    auto& s = status_;
    switch (e.kind) {
    case Kind::Connecting:
        s.state = IgtlJobState::Connecting;
        s.attempt = e.attempt;
        s.fraction = 0.0;
        break;
    case Kind::Connected:
        if (!s.server) s.state = IgtlJobState::Sending;
        s.attempt = e.attempt;
        s.activePeer = e.peer;
        s.fraction = 0.0;
        break;
    case Kind::Delivered:
        ++s.delivered;
        if (s.server) s.peers.push_back(e.peer);
        s.activePeer.clear();
        break;
    case Kind::Failed:
        s.peerErrors.push_back(s.server ? fmt::format("{} {}", e.peer, e.error)
                                        : fmt::format("attempt {}: {}", e.attempt, e.error));
        if (!s.server) s.state = IgtlJobState::Connecting; // a retry follows, or the final error
        s.activePeer.clear();
        break;
    }
}

void IgtlExportJob::finish(Result<exporting::IgtlSendReport> r) {
    std::lock_guard lock(mutex_);
    auto& s = status_;
    s.activePeer.clear();
    if (r) {
        s.state = s.server ? IgtlJobState::Stopped : IgtlJobState::Sent;
        s.delivered = r->delivered;
        s.messages = r->messages.size();
        s.bytesPerDelivery = r->bytesPerDelivery;
        s.warnings = r->warnings;
        s.seconds = r->seconds;
        s.fraction = 1.0;
    } else if (r.error().code == ErrorCode::Cancelled) {
        s.state = IgtlJobState::Stopped;
    } else {
        s.state = IgtlJobState::Failed;
        s.error = r.error().message;
    }
}

namespace {

/// Messages and bytes per delivery, known before the first peer (the sender packs the same set).
Result<exporting::IgtlMessageSet> packed(const model::Plan& plan,
                                         const model::DeviceCatalog& catalog,
                                         const exporting::IgtlMessageOptions& options) {
    return exporting::buildIgtlMessages(plan, catalog, options);
}

} // namespace

Result<void> IgtlExportJob::send(const model::Plan& plan, const model::DeviceCatalog& catalog,
                                 const std::string& hostPort,
                                 exporting::IgtlClientOptions options) {
    auto target = exporting::parseHostPort(hostPort);
    if (!target) return std::unexpected(target.error());
    if (auto ok = startable(); !ok) return ok;
    std::string host = std::move(target->first);
    const int port = target->second;
    {
        std::lock_guard lock(mutex_);
        status_ = {};
        status_.state = IgtlJobState::Connecting;
        status_.server = false;
        status_.endpoint = host.find(':') != std::string::npos
                               ? fmt::format("[{}]:{}", host, port)
                               : fmt::format("{}:{}", host, port);
        status_.port = port;
        status_.frame = options.messages.frame;
        status_.attempts = options.attempts;
    }
    worker_ = std::thread([this, plan, catalog, host = std::move(host), port,
                           options = std::move(options), cancel = cancel_.get()]() mutable {
        if (auto set = packed(plan, catalog, options.messages); set) {
            std::lock_guard lock(mutex_);
            status_.messages = set->messages.size();
            for (const auto& m : set->messages)
                status_.bytesPerDelivery += m.bytes.size();
        }
        options.onEvent = [this](const exporting::IgtlLinkEvent& e) { onEvent(e); };
        Progress progress(
            [this](double f, std::string_view) {
                std::lock_guard lock(mutex_);
                status_.fraction = f;
            },
            cancel);
        finish(exporting::sendPlanIgtl(plan, catalog, host, port, options, progress));
    });
    return {};
}

Result<void> IgtlExportJob::serve(const model::Plan& plan, const model::DeviceCatalog& catalog,
                                  int port, exporting::IgtlServeOptions options) {
    if (port < 0 || port > 65535)
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("cannot serve OpenIGTLink on port {}: ports are 1 to 65535", port));
    if (auto ok = startable(); !ok) return ok;
    {
        std::lock_guard lock(mutex_);
        status_ = {};
        status_.state = IgtlJobState::Serving;
        status_.server = true;
        status_.endpoint = fmt::format("port {}", port);
        status_.frame = options.messages.frame;
    }
    worker_ = std::thread([this, plan, catalog, port, options = std::move(options),
                           cancel = cancel_.get()]() mutable {
        if (auto set = packed(plan, catalog, options.messages); set) {
            std::lock_guard lock(mutex_);
            status_.messages = set->messages.size();
            for (const auto& m : set->messages)
                status_.bytesPerDelivery += m.bytes.size();
        }
        options.onEvent = [this](const exporting::IgtlLinkEvent& e) { onEvent(e); };
        options.onListening = [this, user = std::move(options.onListening)](int bound) {
            {
                std::lock_guard lock(mutex_);
                status_.port = bound;
                status_.endpoint = fmt::format("port {}", bound);
            }
            if (user) user(bound);
        };
        Progress progress(
            [this](double f, std::string_view) {
                std::lock_guard lock(mutex_);
                status_.fraction = f;
            },
            cancel);
        finish(exporting::servePlanIgtl(plan, catalog, port, options, progress));
    });
    return {};
}

} // namespace precis::gui
