#include "api/client.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "common/unique_fd.h"

namespace vigil::api {

std::string run_suffix(const std::string& net_namespace, const std::string& instance) {
  return (instance.empty() ? "" : "_" + instance) +
         (net_namespace.empty() ? "" : "_" + net_namespace);
}

SocketPaths socket_paths(const std::string& net_namespace, const std::string& instance,
                         const std::string& directory) {
  const std::string base = directory + "/vigild" + run_suffix(net_namespace, instance);
  return SocketPaths{.admin = base + ".sock", .read_only = base + ".ro.sock"};
}

namespace {

// Connects to `socket_path` and sends `request`; each send and read bounded by its timeout.
Result<UniqueFd> connect_and_send(const std::string& socket_path, const ClientRequest& request) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path))
    return Error{socket_path + ": too long for a UNIX socket name"};
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket", errno);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(request.timeout);
  timeval limit{.tv_sec = static_cast<time_t>(micros.count() / 1'000'000),
                .tv_usec = static_cast<suseconds_t>(micros.count() % 1'000'000)};
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int err = errno;
    std::string hint;
    if (err == ENOENT || err == ECONNREFUSED)
      hint = " (is vigild running? -s / --instance pick one)";
    if (err == EACCES) hint = " (the admin socket is root's; the read-only one is group vigil's)";
    return Error{"cannot connect to " + socket_path + ": " + std::strerror(err) + hint};
  }
  std::string wire = request.method + " " + request.target +
                     " HTTP/1.1\r\nHost: vigild\r\nUser-Agent: vigilctl\r\nConnection: close\r\n";
  if (!request.body.empty() || request.method == "POST") {
    wire +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(request.body.size()) +
        "\r\n";
  }
  wire += "\r\n" + request.body;
  for (size_t sent = 0; sent < wire.size();) {
    const ssize_t n = ::send(fd.get(), wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    // The server may answer (and close) before reading it all (503 when busy): read that.
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;
    if (n < 0) {
      return Error{"cannot send to " + socket_path + ": " +
                   (errno == EAGAIN ? std::string("timed out") : std::strerror(errno))};
    }
    sent += static_cast<size_t>(n);
  }
  return fd;
}

void set_receive_timeout(int fd, Duration timeout) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout);
  timeval limit{.tv_sec = static_cast<time_t>(micros.count() / 1'000'000),
                .tv_usec = static_cast<suseconds_t>(micros.count() % 1'000'000)};
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
}

}  // namespace

Result<ParsedResponse> send_request(const std::string& socket_path, const ClientRequest& request) {
  auto connected = connect_and_send(socket_path, request);
  if (!connected) return connected.error();
  UniqueFd fd = std::move(*connected);
  std::string answer;
  std::array<char, 16384> buffer{};
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    // A server that answered without reading everything (503 when busy) resets the connection
    // after its answer: what came before the reset is the answer.
    if (n < 0 && errno == ECONNRESET && !answer.empty()) break;
    if (n < 0) {
      return Error{"no answer from " + socket_path + ": " +
                   (errno == EAGAIN ? std::string("timed out") : std::strerror(errno))};
    }
    if (n == 0) break;
    answer.append(buffer.data(), static_cast<size_t>(n));
    if (answer.size() > request.body_limit + 64 * 1024)
      return Error{"the answer from " + socket_path + " is too large"};
  }
  if (answer.empty()) return Error{socket_path + " closed the connection without an answer"};
  return parse_response(answer, request.body_limit);
}

Result<ParsedResponse> stream_request(const std::string& socket_path, const ClientRequest& request,
                                      const std::function<void(std::string_view line)>& on_line) {
  auto connected = connect_and_send(socket_path, request);
  if (!connected) return connected.error();
  UniqueFd fd = std::move(*connected);
  constexpr size_t kHeadLimit = 16 * 1024;
  constexpr size_t kLineLimit = 1024 * 1024;
  std::string bytes;
  std::array<char, 16384> buffer{};
  std::optional<int> status;  // once the head is in
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ECONNRESET && !bytes.empty()) break;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && status == 200) {
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(request.stream_idle).count();
      return Error{
          "nothing from " + socket_path + " for " +
          (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms") +
          ": the connection is taken for dead"};
    }
    if (n < 0) {
      return Error{"no answer from " + socket_path + ": " +
                   (errno == EAGAIN ? std::string("timed out") : std::strerror(errno))};
    }
    if (n == 0) break;
    bytes.append(buffer.data(), static_cast<size_t>(n));
    if (!status) {
      const size_t end = bytes.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (bytes.size() > kHeadLimit)
          return Error{"the answer from " + socket_path + " is not HTTP"};
        continue;
      }
      // "HTTP/1.1 200 OK"
      if (bytes.rfind("HTTP/1.", 0) != 0 || bytes.size() < 12)
        return Error{"the answer from " + socket_path + " is not HTTP"};
      status = std::atoi(bytes.c_str() + 9);
      if (*status != 200) continue;  // an error: read it whole
      // The head is in: a stream may wait for events as long as it takes (or stream_idle).
      set_receive_timeout(fd.get(), request.stream_idle);
      bytes.erase(0, end + 4);
    }
    if (*status != 200) {
      if (bytes.size() > request.body_limit + kHeadLimit)
        return Error{"the answer from " + socket_path + " is too large"};
      continue;
    }
    size_t from = 0;
    for (size_t newline; (newline = bytes.find('\n', from)) != std::string::npos;
         from = newline + 1)
      on_line(std::string_view(bytes).substr(from, newline - from));
    bytes.erase(0, from);
    if (bytes.size() > kLineLimit) return Error{"a line from " + socket_path + " is too long"};
  }
  if (!status) {
    if (bytes.empty()) return Error{socket_path + " closed the connection without an answer"};
    return Error{"the answer from " + socket_path + " ended early"};
  }
  if (*status != 200) return parse_response(bytes, request.body_limit);
  if (!bytes.empty()) on_line(bytes);  // a last line without its newline
  return ParsedResponse{.status = 200};
}

std::string current_named_namespace(const std::string& netns_directory) {
  struct stat ours {};
  if (::stat("/proc/self/ns/net", &ours) != 0) return "";
  struct stat init {};
  // The host's own namespace has no name, whatever /run/netns holds.
  if (::stat("/proc/1/ns/net", &init) == 0 && init.st_dev == ours.st_dev &&
      init.st_ino == ours.st_ino)
    return "";
  std::error_code ec;
  std::string found;
  for (const auto& entry : std::filesystem::directory_iterator(netns_directory, ec)) {
    struct stat named {};
    if (::stat(entry.path().c_str(), &named) != 0) continue;
    if (named.st_dev == ours.st_dev && named.st_ino == ours.st_ino) {
      const std::string name = entry.path().filename().string();
      if (found.empty() || name < found) found = name;  // several names: the same one each time
    }
  }
  return found;
}

}  // namespace vigil::api
