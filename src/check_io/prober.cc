// AsioProber: the table of running probes, their results, the connect step and TCP_CHECK.
#include "check_io/prober.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <cassert>
#include <cerrno>
#include <utility>

#include "check_io/connector.h"
#include "check_io/probe_run.h"
#include "common/log.h"
#include "common/overloaded.h"
#include "event/event_loop.h"

namespace vigil::check_io {

namespace asio = boost::asio;
using check::ProbeFailed;
using check::ProbeNotRun;
using check::ProbeResult;
using check::ProbeSucceeded;

namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("check");
  return *instance;
}

}  // namespace

// ---- Core ---------------------------------------------------------------------------------------

void AsioProber::Core::complete(check::ProbeId id, const std::string& label, ProbeResult result) {
  std::visit(Overloaded{
                 [&](const ProbeSucceeded&) {
                   ++counters.succeeded;
                   logger().debug("[{}] probe succeeded", label);
                 },
                 [&](const ProbeFailed& failed) {
                   ++counters.failed;
                   logger().debug("[{}] probe failed: {}", label, failed.detail);
                 },
                 [&](const ProbeNotRun& not_run) {
                   // The checker warns about it (with its own label); this is the I/O's view.
                   ++counters.not_run;
                   logger().debug("[{}] probe not run: {}", label, not_run.detail);
                 },
             },
             result);
  if (starting) {
    asio::post(io, [this, alive = std::weak_ptr<bool>(alive), id, result = std::move(result)] {
      if (!alive.expired()) deliver(id, result);
    });
    return;
  }
  deliver(id, std::move(result));
}

void AsioProber::Core::deliver(check::ProbeId id, ProbeResult result) {
  auto found = running.find(id);
  if (found == running.end()) return;  // cancelled
  Entry entry = std::move(found->second);
  running.erase(found);
  entry.done(std::move(result));
}

// ---- ProbeRun -----------------------------------------------------------------------------------

void ProbeRun::finish(ProbeResult result) {
  if (over_) return;
  over_ = true;
  // The Core drops its reference to this probe: keep it until this call returns.
  auto self = shared_from_this();
  close();
  core_.complete(id_, label_, std::move(result));
}

// ---- SocketRun: connect
// ---------------------------------------------------------------------------

void SocketRun::begin() {
  connect_deadline_ = core_.scheduler.now() + timeout();
  auto started = start_connect(connection_);
  if (auto* failed = std::get_if<ProbeFailed>(&started)) return finish(std::move(*failed));
  if (auto* not_run = std::get_if<ProbeNotRun>(&started)) return finish(std::move(*not_run));
  auto& connecting = std::get<Connecting>(started);
  boost::system::error_code error;
  const auto protocol = connection_.connect_ip.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6();
  socket_.assign(protocol, connecting.fd.get(), error);
  if (error) return finish(ProbeNotRun{.detail = "cannot watch the socket: " + error.message()});
  connecting.fd.release();  // the Asio socket owns it now
  arm_step_until(connect_deadline_, Await::kConnect, "connect");
  // Even a connect that completed at once is reported from the loop, not from here.
  wait_connected();
}

void SocketRun::wait_connected() {
  socket_.async_wait(asio::ip::tcp::socket::wait_write,
                     [self = std::static_pointer_cast<SocketRun>(shared_from_this())](
                         const boost::system::error_code& error) { self->on_writable(error); });
}

void SocketRun::on_writable(const boost::system::error_code& error) {
  // connected_: the step timer saw the connect complete first and went on.
  if (over() || connected_) return;
  if (error) return finish(connection_failure(error.value(), "connect: "));
  // keepalived's socket_state: SO_ERROR decides.
  const int pending = pending_socket_error(socket_.native_handle());
  if (pending == EINPROGRESS) return wait_connected();
  if (pending != 0) return finish(connection_failure(pending));
  connected();
}

void SocketRun::connected() {
  connected_ = true;
  on_connected();
}

void SocketRun::arm_step_until(TimePoint deadline, Await await, std::string what) {
  if (timeout() <= Duration::zero()) return;
  step_timer_.arm_at(deadline,
                     [this, await, what = std::move(what)] { on_step_timeout(await, what); });
}

void SocketRun::on_step_timeout(Await await, const std::string& what) {
  if (over()) return;
  const int fd = socket_.native_handle();
  short events = 0;
  if (fd >= 0) {
    const short awaited = await == Await::kReadable ? POLLIN : POLLOUT;
    pollfd watched{.fd = fd, .events = awaited, .revents = 0};
    if (::poll(&watched, 1, 0) == 1) events = watched.revents;
  }
  if (await == Await::kConnect) {
    if (events != 0) {
      // Writable (or in error): the connect ended in time; SO_ERROR says how, as in
      // on_writable, whose handler is still queued behind this timer.
      const int pending = pending_socket_error(fd);
      if (pending == 0) {
        logger().debug("[{}] connect completed before its timeout; its event was late", label());
        return connected();
      }
      if (pending != EINPROGRESS) return finish(connection_failure(pending));
    }
  } else if (events != 0) {
    // The awaited bytes (or EOF, or an error) are there: the step's handler is behind in the
    // loop's queue. It gets another connect_timeout to run (and re-arms for the next step).
    logger().debug("[{}] {}: the socket is ready at its timeout; its event is late", label(), what);
    return arm_step(await, what);
  }
  finish(timeout_failure(what, timeout()));
}

void SocketRun::close() {
  step_timer_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
}

// ---- TCP_CHECK ----------------------------------------------------------------------------------

namespace {

// keepalived's tcp_check_thread: connected means up; the socket is closed at once.
class TcpRun final : public SocketRun {
 public:
  TcpRun(AsioProber::Core& core, check::ProbeId id, const check::TcpProbe& probe)
      : SocketRun(
            core, id,
            "TCP " + endpoint_text(probe.connection.connect_ip, probe.connection.connect_port),
            probe.connection) {}

 private:
  void on_connected() override { finish(ProbeSucceeded{}); }
};

}  // namespace

std::shared_ptr<ProbeRun> make_tcp_run(AsioProber::Core& core, check::ProbeId id,
                                       const check::TcpProbe& probe) {
  return std::make_shared<TcpRun>(core, id, probe);
}

// ---- AsioProber ---------------------------------------------------------------------------------

AsioProber::AsioProber(event::EventLoop& loop, Scheduler& scheduler, event::ScriptRunner& scripts)
    : core_(std::make_unique<Core>(loop.io_context(), scheduler, scripts)) {}

AsioProber::~AsioProber() {
  for (auto& [id, entry] : core_->running)
    entry.run->abort();
  core_->running.clear();
}

check::ProbeId AsioProber::start(const check::ProbeRequest& request, check::ProbeDone done) {
  assert(done);
  Core& core = *core_;
  const check::ProbeId id = ++core.last_id;
  auto run =
      std::visit(Overloaded{
                     [&](const check::TcpProbe& probe) { return make_tcp_run(core, id, probe); },
                     [&](const check::HttpProbe& probe) { return make_http_run(core, id, probe); },
                     [&](const check::MiscProbe& probe) { return make_misc_run(core, id, probe); },
                     [&](const check::DnsProbe& probe) { return make_dns_run(core, id, probe); },
                     [&](const check::UdpProbe& probe) { return make_udp_run(core, id, probe); },
                     [&](const check::SmtpProbe& probe) { return make_smtp_run(core, id, probe); },
                     [&](const check::PingProbe& probe) { return make_ping_run(core, id, probe); },
                 },
                 request);
  ++core.counters.started;
  core.running.emplace(id, Core::Entry{run, std::move(done)});
  core.starting = true;
  run->begin();
  core.starting = false;
  return id;
}

void AsioProber::cancel(check::ProbeId id) {
  auto found = core_->running.find(id);
  if (found == core_->running.end()) return;
  auto run = std::move(found->second.run);
  core_->running.erase(found);
  ++core_->counters.cancelled;
  run->abort();
}

const ProberCounters& AsioProber::counters() const {
  return core_->counters;
}

size_t AsioProber::running() const {
  return core_->running.size();
}

size_t AsioProber::tls_contexts() const {
  return core_->tls.size();
}

}  // namespace vigil::check_io
