// vigilctl's side of the control API: one blocking request over a UNIX socket, bounded in time
// and size, and where the sockets are.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "api/http.h"
#include "common/result.h"
#include "common/time.h"

namespace vigil::api {

// The directory of vigild's sockets, pid-independent.
inline constexpr const char* kSocketDirectory = "/run/vigil";

// "_INST_NS", "_INST", "_NS" or "": the suffix every file of one vigild carries (the pid file,
// the dumps, the sockets), so that vigilds on one host never share one.
std::string run_suffix(const std::string& net_namespace, const std::string& instance);

// The name under `netns_directory` of the network namespace the process runs in (the one
// `ip netns exec NAME` put it in); empty in the host's namespace or an unnamed one. Names the
// control sockets of a vigild that was not given -s or net_namespace (and so where vigilctl
// doctor, run the same way, finds it).
std::string current_named_namespace(const std::string& netns_directory = "/run/netns");

struct SocketPaths {
  std::string admin;      // 0600 root: reads and changes
  std::string read_only;  // 0660 root:vigil: reads only
};
SocketPaths socket_paths(const std::string& net_namespace, const std::string& instance,
                         const std::string& directory = kSocketDirectory);

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/v1/status";
  std::string body;  // JSON when not empty
  Duration timeout = std::chrono::seconds(10);
  size_t body_limit = 64 * 1024 * 1024;
  // stream_request: once the answer's head is in, the longest wait for more of the stream (a
  // following reader gets a heartbeat every kHeartbeatInterval); zero: as long as it takes.
  Duration stream_idle = Duration::zero();
};

// Connects to `socket_path`, sends the request, reads the whole response. Any failure before a
// response is an error ("cannot connect to PATH: ...", "... timed out"): vigilctl exits 3
// (unreachable) on every one. `timeout` bounds each send and each read.
Result<ParsedResponse> send_request(const std::string& socket_path, const ClientRequest& request);

// The same for an answer read line by line as it comes (GET /v1/events, with ?follow=1 a
// stream): each line of a 200 answer's body goes to `on_line` (without its newline) until vigild
// closes the connection; the result then has status 200 and no body. The answer's head is
// bounded by `timeout`; a stream may wait for its next line as long as it takes, or
// `stream_idle` (then an error: the connection is taken for dead). Any other status is read
// whole and returned as send_request() does.
Result<ParsedResponse> stream_request(const std::string& socket_path, const ClientRequest& request,
                                      const std::function<void(std::string_view line)>& on_line);

}  // namespace vigil::api
