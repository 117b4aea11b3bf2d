#pragma once
// "Send to navigation" without ImGui: one OpenIGTLink delivery (client: connect to HOST:PORT and
// send the plan, with the sender's retries; server: listen on a port and give the plan to every
// peer that connects until stopped) on a worker thread, and its live status for the UI thread to
// poll each frame. The plan and catalogue are copied when the job starts, so the plan being edited
// is never touched; a peer that fails is an error in the status, never an exception or a hang
// (every wait in exporting::sendPlanIgtl / servePlanIgtl is bounded and cancellable).
#include "core/Error.h"
#include "core/Progress.h"
#include "export/Frame.h"
#include "export/IgtlSender.h"
#include "model/Device.h"
#include "model/Plan.h"

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace precis::gui {

enum class IgtlJobState {
    Idle,       // nothing started yet
    Connecting, // client: connecting (attempt n), or waiting to retry
    Sending,    // client: connected, sending the plan
    Serving,    // server: listening; peers get the plan as they connect
    Sent,       // client: the peer has the whole plan
    Stopped,    // cancelled by stop() (a server ends this way)
    Failed,     // error holds the reason (names host:port or the port)
};

std::string_view toString(IgtlJobState state);

struct IgtlJobStatus {
    IgtlJobState state = IgtlJobState::Idle;
    bool server = false;
    std::string endpoint; // "host:port" (client), "port N" (server; N the bound port once known)
    int port = 0;         // the bound port once serving (useful when asked for port 0)
    exporting::Frame frame = exporting::Frame::Lps;
    int attempt = 0;   // client: current attempt; server: connections accepted
    int attempts = 0;  // client: attempts allowed
    int delivered = 0; // deliveries of the whole plan (client: 0 or 1)
    std::size_t messages = 0;         // per delivery (known once a delivery ends)
    std::size_t bytesPerDelivery = 0; // idem
    double fraction = 0.0;            // of the delivery in progress
    std::string activePeer;           // the peer being sent to, if any
    std::vector<std::string> peers;   // peers that got the plan (server), in order
    std::vector<std::string> peerErrors; // failed attempts / peers, in order, with the peer named
    std::string error;                   // Failed: the user message
    std::vector<std::string> warnings;   // from packing and from peers
    double seconds = 0.0;                // once finished

    /// The worker is running (Connecting, Sending or Serving).
    [[nodiscard]] bool active() const;
    /// One line for the panel: "connecting to host:port (attempt 2 of 3)", "sent 14 messages to
    /// host:port (LPS)", "serving on port 18944: 2 peers got the plan", the error, ...
    [[nodiscard]] std::string summary() const;
};

class IgtlExportJob {
public:
    IgtlExportJob();
    ~IgtlExportJob(); // cancels and joins
    IgtlExportJob(const IgtlExportJob&) = delete;
    IgtlExportJob& operator=(const IgtlExportJob&) = delete;

    /// Connects to `hostPort` ("HOST", "HOST:PORT", "[IPv6]:PORT"; default port 18944) and sends
    /// the plan in `options.messages.frame`. InvalidArgument for a bad address or while a job is
    /// active; everything that happens later (refused, timed out, peer gone) is in status().
    Result<void> send(const model::Plan& plan, const model::DeviceCatalog& catalog,
                      const std::string& hostPort, exporting::IgtlClientOptions options = {});
    /// Listens on `port` (0: any free port, see status().port) and sends the plan to every peer
    /// that connects, until stop(). options.peers / waitMs default to "until stopped".
    Result<void> serve(const model::Plan& plan, const model::DeviceCatalog& catalog, int port,
                       exporting::IgtlServeOptions options = {});
    /// Cancels the work; the status becomes Stopped within the sender's poll slice (~0.1 s).
    void stop();
    [[nodiscard]] IgtlJobStatus status() const;
    [[nodiscard]] bool active() const { return status().active(); }

    /// The defaults a server started from the GUI runs with: until stopped.
    static exporting::IgtlServeOptions untilStopped(exporting::IgtlServeOptions options = {});

private:
    Result<void> startable();
    void onEvent(const exporting::IgtlLinkEvent& event);
    void finish(Result<exporting::IgtlSendReport> result);

    mutable std::mutex mutex_;
    IgtlJobStatus status_;
    std::unique_ptr<CancelToken> cancel_; // one per job: a token cannot be reset
    std::thread worker_;                  // last: started after everything it uses exists
};

} // namespace precis::gui
