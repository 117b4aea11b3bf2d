#pragma once
// Delivering a plan over OpenIGTLink (the messages of export/IgtlMessages.h) to a navigation
// system, as a client (Precis connects to HOST:PORT) or as a server (the navigation system
// connects to Precis). Every wait is bounded: the connect, each send (a peer that stops reading
// fails after sendTimeoutMs without progress), the accept; SIGPIPE is never raised. A peer that
// closes mid-message, stalls or is not there gives an error naming host:port and what happened;
// the client retries with backoff and re-sends the whole plan on each new connection. The plan is
// never modified. Anything the peer sends is read and discarded (Precis only sends); bytes that
// are not OpenIGTLink are reported as a warning.
//
// Failure modes: InvalidArgument (bad host, port or options; what buildIgtlMessages rejects),
// NotFound (a device not in the catalogue), IoError (cannot resolve, refused, timed out, closed,
// port in use; the message names the peer or port and the attempts made), Cancelled.
#include "core/Error.h"
#include "core/Progress.h"
#include "export/IgtlMessages.h"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace precis::exporting {

/// What happens on a connection, as it happens (for a live status line). Failed events of a
/// client are followed by another attempt unless it was the last; a server's failed peer does not
/// stop it serving.
struct IgtlLinkEvent {
    enum class Kind { Connecting, Connected, Delivered, Failed };
    Kind kind = Kind::Connecting;
    std::string peer;  // "host:port" (client: the target; server: the peer's address)
    int attempt = 0;   // client: the attempt (1-based); server: connections accepted so far
    std::string error; // Failed: what happened, without the peer's name
};

/// How one connection is used; shared by client and server.
struct IgtlLinkOptions {
    IgtlMessageOptions messages;
    int sendTimeoutMs = 5000; // the peer must accept some bytes within this, or the send fails
    /// After the last message Precis half-closes and waits this long for the peer to close, so
    /// a receiver that is still reading is not cut off by a reset. Staying connected is fine.
    int lingerMs = 1000;
    int sendBufferBytes = 0; // SO_SNDBUF; 0 = the system's (tests shrink it to stall sooner)
    /// Called on the sending thread at each step of each connection; must not block. Optional.
    std::function<void(const IgtlLinkEvent&)> onEvent;
};

struct IgtlClientOptions : IgtlLinkOptions {
    int connectTimeoutMs = 5000;
    int attempts = 3;    // connections tried before giving up (1 = no retry)
    int backoffMs = 500; // wait before the second attempt, doubled before each further one
};

struct IgtlServeOptions : IgtlLinkOptions {
    int waitMs = 60000; // for each peer to connect
    int peers = 1;      // serve this many peers (each gets the whole plan), then stop
    /// Called once listening, with the port bound (useful with port 0 = any free port).
    std::function<void(int port)> onListening;
};

struct IgtlSentMessage {
    std::string type;
    std::string deviceName;
    std::size_t bytes = 0;
};

struct IgtlSendReport {
    std::string peer; // "host:port" (client) or "port N" and the peers' addresses (server)
    Frame frame = Frame::Lps;
    int attempts = 0;                       // connections tried (client) / accepted (server)
    int delivered = 0;                      // peers that received the whole plan
    std::vector<std::string> attemptErrors; // failed attempts before success, in order
    std::vector<IgtlSentMessage> messages;  // one plan's messages, in sending order
    std::size_t bytesPerDelivery = 0;
    std::vector<std::string> warnings; // from packing and from the peer
    double seconds = 0.0;
};

/// Connects to host:port (IPv4 or IPv6; port 1-65535) and sends the plan.
Result<IgtlSendReport> sendPlanIgtl(const model::Plan& plan, const model::DeviceCatalog& catalog,
                                    const std::string& host, int port,
                                    const IgtlClientOptions& options = {},
                                    const Progress& progress = {});

/// Listens on `port` (all interfaces; 0 = any free port, see onListening) and sends the plan to
/// each of options.peers peers as it connects. Fails when a peer does not come within waitMs
/// (naming the port and the failed peers, if any).
Result<IgtlSendReport> servePlanIgtl(const model::Plan& plan, const model::DeviceCatalog& catalog,
                                     int port, const IgtlServeOptions& options = {},
                                     const Progress& progress = {});

/// "HOST", "HOST:PORT" or "[IPv6]:PORT" → host and port (kIgtlDefaultPort when absent).
/// InvalidArgument naming the text when the port is not 1-65535 or the host is empty.
Result<std::pair<std::string, int>> parseHostPort(const std::string& text);

} // namespace precis::exporting
