// The control API's listening side: HTTP/1.1 on a UNIX stream socket, served on an event loop
// (vigild's main loop) with FdWatcher and the loop's Scheduler, never blocking it. One request per
// connection; every connection bounded in size (HttpLimits), time (read, handler and write
// deadlines) and number (extra ones get 503 and are closed). Who is calling comes from
// SO_PEERCRED and is handed to the handler with the request.
//
// A handler may answer with a stream (HttpResponse::stream: GET /v1/events?follow=1): the
// connection stays open and the handler sends more of the body as it comes. Streams are bounded
// too: at most max_streams at once (503 beyond; each also counts as a connection), and a reader
// that falls stream_buffer_bytes behind, or leaves output unread for write_timeout, is dropped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"
#include "common/ip_address.h"
#include "common/result.h"
#include "common/time.h"
#include "common/unique_fd.h"

namespace vigil::event {
class EventLoop;
class FdWatcher;
}  // namespace vigil::event

namespace vigil::api {

struct PeerCredentials {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
};

// The socket file's permission bits and group (root owns it). An unset group keeps root's.
struct SocketAccess {
  mode_t mode = 0600;
  std::optional<gid_t> group;
};

struct ServerLimits {
  HttpLimits http;
  size_t max_connections = 16;
  Duration read_timeout = std::chrono::seconds(5);      // accept to a whole request
  Duration handler_timeout = std::chrono::seconds(30);  // the handler's answer (then 504)
  Duration write_timeout = std::chrono::seconds(5);     // the response out
  size_t max_streams = 8;                               // streaming responses open at once
  size_t stream_buffer_bytes = 256 * 1024;              // a stream's unsent output, at most
};

struct ServerCounters {
  uint64_t accepted = 0;
  uint64_t refused_busy = 0;     // over max_connections: 503
  uint64_t bad_requests = 0;     // malformed, oversize or cut short
  uint64_t timeouts = 0;         // read, handler or write deadline passed
  uint64_t responses = 0;        // responses written in full
  uint64_t streams = 0;          // streaming responses started
  uint64_t streams_dropped = 0;  // readers that fell stream_buffer_bytes behind
};

// The open end of a streaming response, kept by the handler; loop thread only. Before the
// handler responds with it, nothing is sent; after, the server writes what the handler sends.
class ResponseStream {
 public:
  // The server's side of it (server.cc).
  struct Sink {
    virtual ~Sink() = default;
    virtual bool send(std::string_view bytes) = 0;
    virtual void finish(std::string_view last) = 0;
    [[nodiscard]] virtual bool open() const = 0;
  };

  // Queues `bytes`. False when they were not taken: the stream is closed (the reader left, the
  // server refused or closed the stream), or the reader is stream_buffer_bytes behind and is
  // being dropped (finish() may still say why).
  bool send(std::string_view bytes);
  // Ends the response after `last` (a short line, taken even past the buffer bound) is out.
  void finish(std::string_view last = {});
  // Sends are still taken.
  [[nodiscard]] bool open() const;

  // server.cc, when the response goes out (or is refused: null).
  void attach(std::weak_ptr<Sink> sink) { sink_ = std::move(sink); }

 private:
  std::weak_ptr<Sink> sink_;
};

// Answers one request; call it once, on the loop thread. Calls after the first, or after the
// connection is gone (timed out, peer closed), are ignored.
using Responder = std::function<void(HttpResponse)>;
using RequestHandler =
    std::function<void(const HttpRequest&, const PeerCredentials&, Responder respond)>;

class ControlSocketServer {
 public:
  // Creates the socket at `path`: bound under a temporary name in the same directory, given its
  // mode and group, then renamed into place, so nobody connects before the permissions hold.
  // Refused when a server answers at `path` already (another live vigild); a stale socket, or
  // whatever else non-directory is at the path, is replaced. The directory must exist.
  static Result<std::unique_ptr<ControlSocketServer>> listen(event::EventLoop& loop,
                                                             std::string path, SocketAccess access,
                                                             RequestHandler handler,
                                                             ServerLimits limits = {});
  // The same server on a TCP address (the metrics listener): no socket file, and no peer
  // credentials (the handler sees uid and gid -1, pid 0). Port 0 picks a free one (port()).
  static Result<std::unique_ptr<ControlSocketServer>> listen_tcp(event::EventLoop& loop,
                                                                 const IpAddress& address,
                                                                 uint16_t port,
                                                                 RequestHandler handler,
                                                                 ServerLimits limits = {});
  ControlSocketServer(const ControlSocketServer&) = delete;
  ControlSocketServer& operator=(const ControlSocketServer&) = delete;
  // Closes every connection and removes the socket file if it is still ours.
  ~ControlSocketServer();

  // The socket file, or "ADDRESS:PORT" for TCP.
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] uint16_t port() const { return port_; }  // TCP only
  [[nodiscard]] const ServerCounters& counters() const { return counters_; }
  [[nodiscard]] size_t open_connections() const { return connections_.size(); }
  [[nodiscard]] size_t open_streams() const { return open_streams_; }

  class Connection;  // server.cc

 private:
  ControlSocketServer(event::EventLoop& loop, std::string path, UniqueFd fd, ino_t inode,
                      RequestHandler handler, ServerLimits limits);
  // Accepts on the listening socket from the loop.
  Status watch();
  void accept_ready();
  void close_connection(uint64_t id);

  event::EventLoop& loop_;
  std::string path_;
  UniqueFd fd_;
  ino_t inode_;  // 0: TCP (no file to remove)
  uint16_t port_ = 0;
  RequestHandler handler_;
  ServerLimits limits_;
  std::unique_ptr<event::FdWatcher> watcher_;
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
  uint64_t next_id_ = 1;
  ServerCounters counters_;
  size_t open_streams_ = 0;
};

}  // namespace vigil::api
