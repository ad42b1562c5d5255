// bench/checkers: what vigil's health checkers cost on the host. Runs the real checker engine
// (check::CheckEngine) and probe I/O (check_io::AsioProber) on an event::LoopThread named
// "check", wired as daemon::CheckService wires them, with a recording no-op in place of the IPVS
// side, against servers in a forked child process. After a warm-up it measures, over a fixed
// window: the probes completed (ProberCounters), the check thread's CPU
// (/proc/self/task/TID/stat utime+stime, and schedstat's run time in ns), how late the loop ran
// its timers and posts (TimerLateness, a histogram: p50/p99 are bucket upper bounds) and the
// process's growth per checker from the parsed configuration to the window's end: VmRSS, and
// malloc's heap in use and held free (mallinfo2, every arena); and the same VmRSS and heap
// right after the load, before the first probe ("loaded_": the checkers without probes in
// flight, which a loop running behind multiplies).
//
//   vigil-checkers-bench --type tcp|ssl [--resume] --checkers N --delay-loop S
//                        [--addresses 64] [--per-vs 16] [--warmup S] [--window S]
//                        [--server-threads K] [--connect-timeout S]
//
// The configuration is keepalived syntax, built in memory: N real servers, `per-vs` to a virtual
// server, spread round-robin over `addresses` loopback addresses 127.1.0.1.. (port 8080 for
// TCP_CHECK, 8443 for SSL_GET; `SSL { session_resumption }`, a vigil extension, with --resume).
// Servers (the child process, `server-threads` threads, one Asio io_context each, listeners
// spread over them): TCP accepts and closes; TLS (OpenSSL through Asio, a self-signed P-256
// certificate made at start, TLS 1.3 stateless session tickets) reads the request and answers
// "HTTP/1.1 200 OK" with a 2-byte body, then closes (close_notify).
//
// Prints one line (key=value) per run. Exits 1 when a probe failed in the window or a checker
// is down at the end, 2 when it cannot run. Run it through bench/checkers/run, which puts it in
// a network namespace of its own.
#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "check/engine.h"
#include "check_io/prober.h"
#include "common/log.h"
#include "config/parser.h"
#include "event/event_loop.h"
#include "event/scheduler.h"
#include "event/script_runner.h"
#include "proc_self.h"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using vigil::bench::rss_kib;

struct Options {
  bool tls = false;
  bool resume = false;
  int checkers = 1000;
  int delay_loop = 1;
  int addresses = 64;
  int per_vs = 16;
  int warmup = -1;  // default: 2 delay_loops + 2 s (the first probes spread over 1 s + delay_loop)
  int window = -1;  // default: max(20 s, 3 delay_loops)
  int server_threads = 2;
  int connect_timeout = 5;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --type tcp|ssl [--resume] --checkers N --delay-loop S [--addresses A]\n"
               "          [--per-vs M] [--warmup S] [--window S] [--server-threads K]\n"
               "          [--connect-timeout S]\n",
               argv0);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> int {
      if (i + 1 >= argc) usage(argv[0]);
      return std::atoi(argv[++i]);
    };
    if (arg == "--type") {
      if (i + 1 >= argc) usage(argv[0]);
      const std::string type = argv[++i];
      if (type != "tcp" && type != "ssl") usage(argv[0]);
      o.tls = type == "ssl";
    } else if (arg == "--resume") {
      o.resume = true;
    } else if (arg == "--checkers") {
      o.checkers = value();
    } else if (arg == "--delay-loop") {
      o.delay_loop = value();
    } else if (arg == "--addresses") {
      o.addresses = value();
    } else if (arg == "--per-vs") {
      o.per_vs = value();
    } else if (arg == "--warmup") {
      o.warmup = value();
    } else if (arg == "--window") {
      o.window = value();
    } else if (arg == "--server-threads") {
      o.server_threads = value();
    } else if (arg == "--connect-timeout") {
      o.connect_timeout = value();
    } else {
      usage(argv[0]);
    }
  }
  if (o.checkers < 1 || o.delay_loop < 1 || o.addresses < 1 || o.addresses > 250 * 250 ||
      o.per_vs < 1 || o.per_vs > o.addresses || o.server_threads < 1 || o.connect_timeout < 1)
    usage(argv[0]);
  if (o.warmup < 0) o.warmup = 2 * o.delay_loop + 2;
  if (o.window < 0) o.window = std::max(20, 3 * o.delay_loop);
  return o;
}

std::string address(int index) {
  return "127.1." + std::to_string(index / 250) + "." + std::to_string(index % 250 + 1);
}
uint16_t server_port(const Options& o) {
  return o.tls ? 8443 : 8080;
}

// --- servers (the child process) -------------------------------------------------------------

struct TlsConnection : std::enable_shared_from_this<TlsConnection> {
  TlsConnection(tcp::socket socket, asio::ssl::context& context)
      : stream(std::move(socket), context) {}
  void start() {
    auto self = shared_from_this();
    stream.async_handshake(asio::ssl::stream_base::server, [self](boost::system::error_code e) {
      if (e) return;
      asio::async_read_until(
          self->stream, self->request, "\r\n\r\n", [self](boost::system::error_code e, size_t) {
            if (e) return;
            static constexpr std::string_view kResponse =
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
            asio::async_write(self->stream, asio::buffer(kResponse.data(), kResponse.size()),
                              [self](boost::system::error_code e, size_t) {
                                if (e) return;
                                // Sends close_notify; completes when the client closes.
                                self->stream.async_shutdown([self](boost::system::error_code) {});
                              });
          });
    });
  }
  asio::ssl::stream<tcp::socket> stream;
  asio::streambuf request;
};

struct Listener {
  Listener(asio::io_context& io, const tcp::endpoint& at, asio::ssl::context* tls)
      : acceptor(io), tls(tls) {
    acceptor.open(at.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(at);
    acceptor.listen(4096);
  }
  void accept() {
    acceptor.async_accept([this](boost::system::error_code e, tcp::socket socket) {
      if (!e && tls) std::make_shared<TlsConnection>(std::move(socket), *tls)->start();
      // TCP: the socket closes here, right after the accept.
      if (e != asio::error::operation_aborted) accept();
    });
  }
  tcp::acceptor acceptor;
  asio::ssl::context* tls;
};

// A self-signed P-256 certificate for the TLS servers (the client does not verify it, as
// keepalived's SSL_GET does not).
void use_self_signed(SSL_CTX* ctx) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("vigil-checkers-bench"), -1, -1,
                             0);
  X509_set_issuer_name(x, name);
  if (key == nullptr || X509_sign(x, key, EVP_sha256()) <= 0 ||
      SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    std::fprintf(stderr, "server: cannot make the certificate\n");
    std::_Exit(2);
  }
  X509_free(x);
  EVP_PKEY_free(key);
}

// The child: listeners on every address, spread over server_threads io_contexts. Writes one
// byte to `ready` once every listener listens; runs until killed.
[[noreturn]] void run_servers(const Options& o, int ready) {
  std::unique_ptr<asio::ssl::context> tls;
  if (o.tls) {
    tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    use_self_signed(tls->native_handle());
    // Stateless TLS 1.3 tickets resume without a server-side cache (and its lock).
    SSL_CTX_set_session_cache_mode(tls->native_handle(), SSL_SESS_CACHE_OFF);
  }
  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (int i = 0; i < o.server_threads; ++i)
    ios.push_back(std::make_unique<asio::io_context>(1));
  std::vector<std::unique_ptr<Listener>> listeners;
  try {
    for (int i = 0; i < o.addresses; ++i) {
      tcp::endpoint at(asio::ip::make_address(address(i)), server_port(o));
      listeners.push_back(std::make_unique<Listener>(*ios[i % ios.size()], at, tls.get()));
      listeners.back()->accept();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "server: %s\n", e.what());
    std::_Exit(2);
  }
  std::vector<std::thread> threads;
  for (auto& io : ios)
    threads.emplace_back([&io] {
      auto guard = asio::make_work_guard(*io);
      io->run();
    });
  const char byte = 1;
  if (write(ready, &byte, 1) != 1) std::_Exit(2);
  for (auto& thread : threads)
    thread.join();
  std::_Exit(0);
}

// --- the configuration -----------------------------------------------------------------------

std::string make_config(const Options& o) {
  std::ostringstream out;
  out << "global_defs {\n  router_id checkers-bench\n}\n";
  if (o.tls && o.resume) out << "SSL {\n  session_resumption\n}\n";
  const int services = (o.checkers + o.per_vs - 1) / o.per_vs;
  int real = 0;
  for (int vs = 0; vs < services; ++vs) {
    out << "virtual_server 10." << (vs >> 16 & 255) << '.' << (vs >> 8 & 255) << '.' << (vs & 255)
        << " 80 {\n  delay_loop " << o.delay_loop
        << "\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n";
    for (int j = 0; j < o.per_vs && real < o.checkers; ++j, ++real) {
      // Distinct addresses within a virtual server (per_vs <= addresses).
      out << "  real_server " << address((vs * o.per_vs + j) % o.addresses) << ' ' << server_port(o)
          << " {\n";
      if (o.tls)
        out << "    SSL_GET {\n      url {\n        path /\n        status_code 200\n      }\n"
               "      connect_timeout "
            << o.connect_timeout << "\n    }\n";
      else
        out << "    TCP_CHECK {\n      connect_timeout " << o.connect_timeout << "\n    }\n";
      out << "  }\n";
    }
    out << "}\n";
  }
  return out.str();
}

// --- instruments -----------------------------------------------------------------------------

struct ThreadCpu {
  double user_s = 0;
  double system_s = 0;
  double run_ns = 0;  // schedstat: time on a CPU, in ns
};

ThreadCpu thread_cpu(pid_t tid) {
  ThreadCpu cpu;
  const std::string task = "/proc/self/task/" + std::to_string(tid);
  std::ifstream stat(task + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::vector<std::string> f;
  for (std::string field; fields >> field;)
    f.push_back(field);
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (f.size() > 12) {
    cpu.user_s = std::stod(f[11]) / tick;
    cpu.system_s = std::stod(f[12]) / tick;
  }
  std::ifstream schedstat(task + "/schedstat");
  schedstat >> cpu.run_ns;
  return cpu;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + "," + b + "," + c;
}

struct Snapshot {
  vigil::check_io::ProberCounters counters;
  vigil::event::TimerLateness lateness;
  ThreadCpu cpu;
  std::chrono::steady_clock::time_point at;
};

// The heap in use and held free by malloc, over every arena (mallinfo2 sums them).
struct Heap {
  double in_use = 0;  // bytes handed out (uordblks + hblkhd)
  double free = 0;    // bytes malloc holds but has not handed out (fordblks)
};
Heap heap() {
  const struct mallinfo2 m = mallinfo2();
  return {static_cast<double>(m.uordblks + m.hblkhd), static_cast<double>(m.fordblks)};
}

std::string micros(vigil::Duration d) {
  if (d == vigil::Duration::max()) return "overflow";
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us >= 1000 ? std::to_string(us / 1000) + "ms" : std::to_string(us) + "us";
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  // Sockets: the probes in flight here, the connections being served in the child.
  rlimit files{.rlim_cur = 1 << 18, .rlim_max = 1 << 18};
  if (setrlimit(RLIMIT_NOFILE, &files) != 0) {
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  // The servers first, before this process has threads.
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return 2;
  const pid_t server = fork();
  if (server < 0) return 2;
  if (server == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(pipe_fds[0]);
    run_servers(o, pipe_fds[1]);
  }
  close(pipe_fds[1]);
  char byte = 0;
  if (read(pipe_fds[0], &byte, 1) != 1) {
    std::fprintf(stderr, "the servers did not start\n");
    waitpid(server, nullptr, 0);
    return 2;
  }
  auto end_servers = [server] {
    kill(server, SIGKILL);
    waitpid(server, nullptr, 0);
  };

  vigil::log::setup({.console = true, .level = spdlog::level::warn});
  const long rss_start = rss_kib();
  auto parsed = vigil::config::parse_text("checkers-bench.conf", make_config(o));
  if (!parsed->ok()) {
    std::fprintf(stderr, "%s", parsed->diagnostics.format(parsed->files).c_str());
    end_servers();
    return 2;
  }
  // The configuration is shared with the engine, never copied, as vigild shares its own
  // (daemon::CheckService loads a shared_ptr<const Config>), and stays alive to the end, so the
  // engine's memory is not counted into pages the model freed.
  const auto config = std::make_shared<const vigil::config::Config>(std::move(parsed->config));
  const long rss_before = rss_kib();
  const Heap heap_before = heap();

  // As daemon::CheckService::Thread builds the check thread.
  vigil::event::LoopThread loop_thread("check");
  vigil::event::EventLoop& loop = loop_thread.loop();
  vigil::event::ProcessScriptRunner scripts(loop);
  vigil::check_io::AsioProber prober(loop, loop.scheduler(), scripts);
  uint64_t batches = 0;
  auto random = std::make_shared<std::mt19937_64>(std::random_device{}());
  vigil::check::CheckEngine engine(
      loop.scheduler(), prober,
      [random](vigil::Duration max) {
        std::uniform_int_distribution<vigil::Duration::rep> pick(0, max.count());
        return vigil::Duration{pick(*random)};
      },
      vigil::check::EngineSinks{
          .health = [&batches](vigil::check::HealthBatch) { ++batches; },
          .notify = [](const vigil::check::VirtualServerSpec&, vigil::check::NotifyActions) {},
      });
  (void)loop_thread.start();

  // Runs `f` on the check thread and waits for its result.
  auto on_loop = [&loop](auto f) {
    std::promise<decltype(f())> done;
    loop.post([&] { done.set_value(f()); });
    return done.get_future().get();
  };
  const pid_t tid = on_loop([] { return gettid(); });
  const auto load_start = std::chrono::steady_clock::now();
  const bool loaded = on_loop([&] { return engine.load(config).ok(); });
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  // Right after the load, before the first probe (1 s + warmup later): the checkers alone, no
  // probe in flight.
  const long rss_loaded = rss_kib();
  const Heap heap_loaded = heap();
  if (!loaded || engine.checker_count() != static_cast<size_t>(o.checkers)) {
    std::fprintf(stderr, "the engine did not load %d checkers\n", o.checkers);
    loop_thread.stop();
    end_servers();
    return 2;
  }

  auto snapshot = [&] {
    Snapshot s = on_loop(
        [&] { return Snapshot{.counters = prober.counters(), .lateness = loop.timer_lateness()}; });
    s.cpu = thread_cpu(tid);
    s.at = std::chrono::steady_clock::now();
    return s;
  };
  std::this_thread::sleep_for(std::chrono::seconds(o.warmup));
  const Snapshot a = snapshot();
  std::this_thread::sleep_for(std::chrono::seconds(o.window));
  const Snapshot b = snapshot();
  const long rss_after = rss_kib();
  const Heap heap_after = heap();
  const auto [up, checkers] = on_loop([&] {
    size_t n = 0;
    const auto status = engine.status();
    for (const auto& c : status)
      n += c.up ? 1 : 0;
    return std::pair{n, status.size()};
  });

  on_loop([&] {
    engine.stop();
    return true;
  });
  loop_thread.stop();
  end_servers();

  const double seconds = std::chrono::duration<double>(b.at - a.at).count();
  const uint64_t succeeded = b.counters.succeeded - a.counters.succeeded;
  const uint64_t failed = b.counters.failed - a.counters.failed;
  const uint64_t checks = succeeded + failed;
  const double user = b.cpu.user_s - a.cpu.user_s;
  const double system = b.cpu.system_s - a.cpu.system_s;
  const double cpu = user + system;
  const double run_s = (b.cpu.run_ns - a.cpu.run_ns) / 1e9;
  vigil::event::TimerLateness slip;
  slip.count = b.lateness.count - a.lateness.count;
  slip.total = b.lateness.total - a.lateness.total;
  slip.max = b.lateness.max;  // the whole run's: the histogram keeps no per-window maximum
  for (size_t i = 0; i < slip.buckets.size(); ++i)
    slip.buckets[i] = b.lateness.buckets[i] - a.lateness.buckets[i];

  std::string type = o.tls ? (o.resume ? "ssl+resume" : "ssl") : "tcp";
  std::printf(
      "%s checkers=%d delay_loop=%ds addresses=%d window=%.1fs checks=%llu failed=%llu "
      "rate=%.0f/s thread_cpu=%.2fs user=%.2fs sys=%.2fs schedstat_cpu=%.3fs cpu_share=%.0f%% "
      "checks_per_cpu_s=%.0f schedstat_checks_per_cpu_s=%.0f slip_p50<=%s slip_p99<=%s "
      "slip_mean=%s slip_max_run=%s slip_samples=%llu",
      type.c_str(), o.checkers, o.delay_loop, o.addresses, seconds,
      static_cast<unsigned long long>(checks), static_cast<unsigned long long>(failed),
      checks / seconds, cpu, user, system, run_s, 100.0 * run_s / seconds,
      cpu > 0 ? checks / cpu : 0.0, run_s > 0 ? checks / run_s : 0.0,
      micros(slip.quantile_bound(0.5)).c_str(), micros(slip.quantile_bound(0.99)).c_str(),
      micros(slip.count ? slip.total / static_cast<int64_t>(slip.count) : vigil::Duration{0})
          .c_str(),
      micros(slip.max).c_str(), static_cast<unsigned long long>(slip.count));
  if (o.tls)
    std::printf(
        " tls_handshakes=%llu resumed=%llu",
        static_cast<unsigned long long>(b.counters.tls_handshakes - a.counters.tls_handshakes),
        static_cast<unsigned long long>(b.counters.tls_resumed - a.counters.tls_resumed));
  std::printf(
      " loaded_rss_per_checker=%.0fB loaded_heap_per_checker=%.0fB rss_per_checker=%.0fB "
      "heap_per_checker=%.0fB heap_free_per_checker=%.0fB config_rss_per_checker=%.0fB "
      "load_s=%.2f up=%zu/%zu batches=%llu loadavg=%s\n",
      1024.0 * static_cast<double>(rss_loaded - rss_before) / o.checkers,
      (heap_loaded.in_use - heap_before.in_use) / o.checkers,
      1024.0 * static_cast<double>(rss_after - rss_before) / o.checkers,
      (heap_after.in_use - heap_before.in_use) / o.checkers,
      (heap_after.free - heap_before.free) / o.checkers,
      1024.0 * static_cast<double>(rss_before - rss_start) / o.checkers, load_s, up, checkers,
      static_cast<unsigned long long>(batches), load_average().c_str());
  return failed == 0 && up == checkers ? 0 : 1;
}
