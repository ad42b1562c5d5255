#include "api/server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "event/event_loop.h"
#include "event/fd_watcher.h"

namespace vigil::api {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
  static const auto log = log::get("control");
  return log;
}

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path))
    return Error{path + ": too long for a UNIX socket name (" +
                 std::to_string(sizeof(address.sun_path) - 1) + " bytes at most)"};
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

// Who answers at `path`, if anyone: the pid of a live server, 0 when it did not say.
std::optional<pid_t> live_server(const sockaddr_un& address) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return std::nullopt;
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0)
    return errno == EAGAIN ? std::optional<pid_t>(0) : std::nullopt;  // EAGAIN: backlog full
  ucred peer{};
  socklen_t length = sizeof(peer);
  if (::getsockopt(probe.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) return 0;
  return peer.pid;
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

// ---- one connection -----------------------------------------------------------------------

class ControlSocketServer::Connection : public std::enable_shared_from_this<Connection>,
                                        public ResponseStream::Sink {
 public:
  Connection(ControlSocketServer& server, uint64_t id, UniqueFd fd, PeerCredentials peer)
      : server_(server),
        id_(id),
        fd_(std::move(fd)),
        peer_(peer),
        reader_(server.limits_.http),
        deadline_(server.loop_.scheduler()) {}

  Status start() {
    auto watcher = event::FdWatcher::create(server_.loop_, fd_.get());
    if (!watcher) return watcher.error();
    watcher_ = std::move(*watcher);
    std::weak_ptr<Connection> weak = weak_from_this();
    watcher_->on_readable([weak] {
      if (auto self = weak.lock()) self->on_readable();
    });
    deadline_.arm_after(server_.limits_.read_timeout, [weak] {
      if (auto self = weak.lock()) self->timed_out("no whole request in time");
    });
    return {};
  }

 private:
  void on_readable() {
    std::array<char, 4096> buffer{};
    // Bounded per turn: a fast writer cannot hold the loop.
    for (int round = 0; round < 8 && reader_.progress() == RequestReader::Progress::kNeedMore;
         ++round) {
      const ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n <= 0) {
        reader_.end_of_input();
        break;
      }
      reader_.feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
    }
    switch (reader_.progress()) {
      case RequestReader::Progress::kNeedMore:
        return;
      case RequestReader::Progress::kFailed:
        ++server_.counters_.bad_requests;
        logger()->debug("[control {}] pid {} uid {}: {}", server_.path_, peer_.pid, peer_.uid,
                        reader_.failure().body);
        write(reader_.failure());
        return;
      case RequestReader::Progress::kComplete:
        dispatch();
        return;
    }
  }

  void dispatch() {
    watcher_->on_readable({});
    std::weak_ptr<Connection> weak = weak_from_this();
    deadline_.arm_after(server_.limits_.handler_timeout, [weak] {
      if (auto self = weak.lock()) {
        ++self->server_.counters_.timeouts;
        self->write(error_response(504, "the daemon did not answer in time"));
      }
    });
    server_.handler_(reader_.request(), peer_, [weak](HttpResponse response) {
      if (auto self = weak.lock()) self->write(std::move(response));
    });
  }

  // ---- a streaming response (ResponseStream::Sink) ----
 public:
  bool send(std::string_view bytes) override {
    if (!open()) return false;
    const size_t pending = out_.size() - written_;
    if (pending + bytes.size() > server_.limits_.stream_buffer_bytes) {
      // Bounded memory: this reader is dropped once what is queued is out (or the write
      // deadline passes), whatever comes next.
      ++server_.counters_.streams_dropped;
      logger()->info("[control {}] pid {} uid {}: stream reader {} bytes behind: dropped",
                     server_.path_, peer_.pid, peer_.uid, pending);
      ending_ = true;
      if (!deadline_.armed()) {
        std::weak_ptr<Connection> weak = weak_from_this();
        deadline_.arm_after(server_.limits_.write_timeout, [weak] {
          if (auto self = weak.lock()) self->timed_out("the dropped stream was not read in time");
        });
      }
      return false;
    }
    append(bytes);
    if (pending == 0) flush();  // otherwise the writable callback sends it
    return true;
  }

  void finish(std::string_view last) override {
    if (closed_ || !streaming_ || finished_) return;
    finished_ = true;
    ending_ = true;
    const bool idle = out_.size() == written_;
    append(last);
    if (idle) flush();
  }

  [[nodiscard]] bool open() const override { return streaming_ && !ending_ && !closed_; }

 private:
  void append(std::string_view bytes) {
    if (written_ > 0) {
      out_.erase(0, written_);
      written_ = 0;
    }
    out_.append(bytes);
  }

  void start_stream(const HttpResponse& response) {
    streaming_ = true;
    ++server_.open_streams_;
    ++server_.counters_.streams;
    deadline_.cancel();  // a stream has no end; the write deadline holds while output waits
    response.stream->attach(std::static_pointer_cast<ResponseStream::Sink>(shared_from_this()));
    out_ = serialize(response);
    // The reader says nothing more; what it sends is dropped, and its end closes the stream.
    std::weak_ptr<Connection> weak = weak_from_this();
    watcher_->on_readable([weak] {
      if (auto self = weak.lock()) self->discard_input();
    });
    flush();
  }

  void discard_input() {
    std::array<char, 512> buffer{};
    for (int round = 0; round < 8; ++round) {
      const ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n <= 0) {
        close();
        return;
      }
    }
  }

  void write(HttpResponse response) {
    if (writing_) return;  // answered already (or the deadline answered first)
    writing_ = true;
    watcher_->on_readable({});
    if (response.stream) {
      if (server_.open_streams_ < server_.limits_.max_streams) {
        start_stream(response);
        return;
      }
      ++server_.counters_.refused_busy;
      response.stream->attach({});
      response = error_response(503, "too many streams open; try again later");
    }
    out_ = serialize(response);
    std::weak_ptr<Connection> weak = weak_from_this();
    deadline_.arm_after(server_.limits_.write_timeout, [weak] {
      if (auto self = weak.lock()) self->timed_out("the response was not read in time");
    });
    flush();
  }

  void flush() {
    while (written_ < out_.size()) {
      const ssize_t n =
          ::send(fd_.get(), out_.data() + written_, out_.size() - written_, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        std::weak_ptr<Connection> weak = weak_from_this();
        watcher_->on_writable([weak] {
          if (auto self = weak.lock()) self->flush();
        });
        if (!deadline_.armed()) {  // a stream's output waits: it must go within write_timeout
          deadline_.arm_after(server_.limits_.write_timeout, [weak] {
            if (auto self = weak.lock()) self->timed_out("the stream was not read in time");
          });
        }
        return;
      }
      if (n < 0) {
        logger()->debug("[control {}] pid {}: {}", server_.path_, peer_.pid, std::strerror(errno));
        close();
        return;
      }
      written_ += static_cast<size_t>(n);
    }
    if (streaming_ && !ending_) {  // all out: wait for more
      out_.clear();
      written_ = 0;
      watcher_->on_writable({});
      deadline_.cancel();
      return;
    }
    ++server_.counters_.responses;
    close();
  }

  void timed_out(const char* what) {
    ++server_.counters_.timeouts;
    logger()->debug("[control {}] pid {} uid {}: {}: closed", server_.path_, peer_.pid, peer_.uid,
                    what);
    if (!writing_) {
      write(error_response(408, what));  // best effort: the write deadline still holds
      return;
    }
    close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (streaming_) --server_.open_streams_;
    deadline_.cancel();
    server_.close_connection(id_);  // the caller's `self` keeps us alive until it returns
  }

  ControlSocketServer& server_;
  uint64_t id_;
  UniqueFd fd_;
  PeerCredentials peer_;
  RequestReader reader_;
  Timer deadline_;
  std::unique_ptr<event::FdWatcher> watcher_;
  std::string out_;
  size_t written_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  bool streaming_ = false;
  bool ending_ = false;    // a stream: closes once its output is out
  bool finished_ = false;  // a stream: finish() was called
};

bool ResponseStream::send(std::string_view bytes) {
  auto sink = sink_.lock();
  return sink && sink->send(bytes);
}

void ResponseStream::finish(std::string_view last) {
  if (auto sink = sink_.lock()) sink->finish(last);
}

bool ResponseStream::open() const {
  auto sink = sink_.lock();
  return sink && sink->open();
}

// ---- the listening socket -------------------------------------------------------------------

Result<std::unique_ptr<ControlSocketServer>> ControlSocketServer::listen(event::EventLoop& loop,
                                                                         std::string path,
                                                                         SocketAccess access,
                                                                         RequestHandler handler,
                                                                         ServerLimits limits) {
  auto address = unix_address(path);
  if (!address) return address.error();
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0) {
    if (S_ISDIR(existing.st_mode)) return Error{path + " is a directory: no socket made there"};
    if (S_ISSOCK(existing.st_mode)) {
      if (auto pid = live_server(*address)) {
        return Error{path + ": another vigild answers there" +
                     (*pid > 0 ? " (pid " + std::to_string(*pid) + ")" : std::string()) +
                     "; give this one its own instance or network namespace"};
      }
    }
  }
  // A temporary name that nobody else uses: pid and a process-wide count.
  static std::atomic<unsigned> sequence{0};
  const std::string temporary = directory_of(path) + "/.vigild-" + std::to_string(::getpid()) +
                                "-" + std::to_string(sequence++) + ".sock";
  auto temporary_address = unix_address(temporary);
  if (!temporary_address) return temporary_address.error();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket", errno);
  (void)::unlink(temporary.c_str());
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*temporary_address),
             sizeof(*temporary_address)) != 0)
    return errno_error("cannot bind " + temporary, errno);
  auto fail = [&](const std::string& what) {
    const int err = errno;
    (void)::unlink(temporary.c_str());
    return errno_error(what, err);
  };
  if (::chmod(temporary.c_str(), access.mode) != 0) return fail("chmod " + temporary);
  if (access.group && ::chown(temporary.c_str(), ::geteuid(), *access.group) != 0)
    return fail("chown " + temporary);
  if (::listen(fd.get(), 16) != 0) return fail("listen on " + temporary);
  struct stat bound {};
  if (::stat(temporary.c_str(), &bound) != 0) return fail("stat " + temporary);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return fail("cannot rename to " + path);
  std::unique_ptr<ControlSocketServer> server(new ControlSocketServer(
      loop, std::move(path), std::move(fd), bound.st_ino, std::move(handler), limits));
  if (auto watching = server->watch(); !watching) return watching.error();
  return server;
}

Result<std::unique_ptr<ControlSocketServer>> ControlSocketServer::listen_tcp(
    event::EventLoop& loop, const IpAddress& address, uint16_t port, RequestHandler handler,
    ServerLimits limits) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (address.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address.bytes(), 4);
    length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, address.bytes(), 16);
    length = sizeof(sockaddr_in6);
  }
  const std::string name =
      (address.is_v4() ? address.to_string() : "[" + address.to_string() + "]") + ":" +
      std::to_string(port);
  UniqueFd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket", errno);
  const int on = 1;
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (address.is_v6()) (void)::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&storage), length) != 0)
    return errno_error("cannot bind " + name, errno);
  if (::listen(fd.get(), 16) != 0) return errno_error("listen on " + name, errno);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&storage), &length) != 0)
    return errno_error("getsockname " + name, errno);
  const uint16_t bound_port =
      ntohs(storage.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&storage)->sin_port
                                         : reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  // Named with the port it got (port 0 asks for a free one).
  const std::string bound_name = name.substr(0, name.rfind(':') + 1) + std::to_string(bound_port);
  std::unique_ptr<ControlSocketServer> server(new ControlSocketServer(
      loop, bound_name, std::move(fd), /*inode=*/0, std::move(handler), limits));
  server->port_ = bound_port;
  if (auto watching = server->watch(); !watching) return watching.error();
  return server;
}

Status ControlSocketServer::watch() {
  auto watcher = event::FdWatcher::create(loop_, fd_.get());
  if (!watcher) return watcher.error();
  watcher_ = std::move(*watcher);
  watcher_->on_readable([this] { accept_ready(); });
  return {};
}

ControlSocketServer::ControlSocketServer(event::EventLoop& loop, std::string path, UniqueFd fd,
                                         ino_t inode, RequestHandler handler, ServerLimits limits)
    : loop_(loop),
      path_(std::move(path)),
      fd_(std::move(fd)),
      inode_(inode),
      handler_(std::move(handler)),
      limits_(limits) {}

ControlSocketServer::~ControlSocketServer() {
  watcher_.reset();
  connections_.clear();
  struct stat now {};
  if (inode_ != 0 && ::lstat(path_.c_str(), &now) == 0 && S_ISSOCK(now.st_mode) &&
      now.st_ino == inode_)
    (void)::unlink(path_.c_str());
}

void ControlSocketServer::accept_ready() {
  for (int round = 0; round < 32; ++round) {
    UniqueFd client(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client.valid()) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        logger()->warn("[control {}] accept: {}", path_, std::strerror(errno));
      return;
    }
    ++counters_.accepted;
    if (connections_.size() >= limits_.max_connections) {
      ++counters_.refused_busy;
      const std::string busy =
          serialize(error_response(503, "too many control connections; try again"));
      (void)::send(client.get(), busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      continue;
    }
    // TCP callers have no credentials: nobody's.
    ucred peer{.pid = 0, .uid = static_cast<uid_t>(-1), .gid = static_cast<gid_t>(-1)};
    socklen_t length = sizeof(peer);
    if (inode_ != 0 && ::getsockopt(client.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0)
      continue;
    const uint64_t id = next_id_++;
    auto connection = std::make_shared<Connection>(*this, id, std::move(client),
                                                   PeerCredentials{peer.uid, peer.gid, peer.pid});
    connections_.emplace(id, connection);
    if (auto started = connection->start(); !started) {
      logger()->warn("[control {}] {}", path_, started.error().message);
      connections_.erase(id);
    }
  }
}

void ControlSocketServer::close_connection(uint64_t id) {
  connections_.erase(id);
}

}  // namespace vigil::api
