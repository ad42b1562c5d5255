// PING_CHECK through AsioProber in a network namespace each test makes for itself: a forked child
// unshares its network namespace (root needed: CTest label netns, run by scripts/test as root),
// brings lo up and probes only addresses inside that namespace. A fresh namespace has
// net.ipv4.ping_group_range "1 0", so the unprivileged ICMP datagram socket is refused and the
// probe must pass through the raw-socket fallback (ping_probe.cc), counted in
// ProberCounters::raw_icmp_probes. The child's exit status carries its verdict and a pipe its
// failure messages. Timeouts run on a FakeScheduler (virtual time); the only real-time bound is
// the parent's wait for the child, far above what it needs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include "check_io/probe_fixture.h"

namespace vigil::check_io {
namespace {

using check::PingProbe;
using check::Reason;

// The failures a child collects; each line goes to the parent.
struct Failures {
  std::string text;
  void add(const std::string& line) { text += line + "\n"; }
  [[nodiscard]] bool any() const { return !text.empty(); }
};

// What a child runs in: its own loop, virtual time and prober, made after the fork.
struct Harness {
  event::EventLoop loop;
  testing::FakeScheduler time;
  event::ProcessScriptRunner scripts{loop};
  AsioProber prober{loop, time, scripts};

  std::optional<check::ProbeResult> probe(const check::ProbeRequest& request) {
    std::optional<check::ProbeResult> result;
    prober.start(request, [&](check::ProbeResult r) { result = std::move(r); });
    loop.run_until([&] { return result.has_value(); }, kBound);
    return result;
  }
  // A TCP probe's whole round trip on loopback: the loop has handled whatever the sockets of a
  // probe still running could have seen.
  bool round_trip() {
    TcpServer canary(loop.io_context(), "127.0.0.1");
    return succeeded(probe(check::TcpProbe{to("127.0.0.1", canary.port())}));
  }
};

bool set_lo_up() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (!fd.valid() || ::ioctl(fd.get(), SIOCGIFFLAGS, &request) != 0) return false;
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  return ::ioctl(fd.get(), SIOCSIFFLAGS, &request) == 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool write_file(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

// Runs `body` in a forked child inside a new network namespace with lo up; returns the child's
// failures (empty when it passed).
std::string in_new_netns(const std::function<void(Failures&)>& body) {
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) return "pipe2 failed";
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  const pid_t child = ::fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    read_end.reset();
    Failures failures;
    if (::unshare(CLONE_NEWNET) != 0) {
      failures.add(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
    } else if (!set_lo_up()) {
      failures.add(std::string("lo up: ") + std::strerror(errno));
    } else {
      body(failures);
    }
    const std::string& text = failures.text;
    for (size_t at = 0; at < text.size();) {
      const ssize_t n = ::write(write_end.get(), text.data() + at, text.size() - at);
      if (n <= 0) break;
      at += static_cast<size_t>(n);
    }
    ::_exit(failures.any() ? 1 : 0);
  }
  write_end.reset();
  // Read the child's report until it closes the pipe, within a bound far above its need.
  std::string report;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool closed = false;
  for (int round = 0; round < 100'000 && !closed; ++round) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd entry{read_end.get(), POLLIN, 0};
    if (::poll(&entry, 1, static_cast<int>(left.count())) <= 0) continue;
    std::array<char, 4096> chunk{};
    const ssize_t n = ::read(read_end.get(), chunk.data(), chunk.size());
    if (n <= 0) {
      closed = true;
    } else {
      report.append(chunk.data(), static_cast<size_t>(n));
    }
  }
  if (!closed) ::kill(child, SIGKILL);  // our own child, by its PID
  int status = 0;
  if (::waitpid(child, &status, 0) != child) return report + "waitpid failed";
  if (!closed) return report + "the child did not finish in time";
  if (!WIFEXITED(status))
    return report + "the child died of signal " + std::to_string(WTERMSIG(status));
  if (WEXITSTATUS(status) != 0 && report.empty())
    return "the child exited with " + std::to_string(WEXITSTATUS(status));
  return report;
}

class PingProbeNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace and raw ICMP sockets)";
  }
};

// Expects `result` to be a failure with `reason` (and `detail`, when given).
void expect_failure(Failures& failures, const std::string& what,
                    const std::optional<check::ProbeResult>& result, Reason reason,
                    const std::string& detail = {}) {
  const auto* failure = failed(result);
  if (failure == nullptr) return failures.add(what + ": " + describe(result));
  if (failure->reason != reason || (!detail.empty() && failure->detail != detail))
    failures.add(what + ": " + describe(result));
}

TEST_F(PingProbeNetnsTest, LoopbackPassesThroughTheRawSocketFallback) {
  const std::string report = in_new_netns([](Failures& failures) {
    const std::string range = read_file("/proc/sys/net/ipv4/ping_group_range");
    if (range != "1\t0\n") failures.add("ping_group_range in a new namespace is \"" + range + "\"");
    Harness h;
    for (const char* target : {"127.0.0.1", "::1"}) {
      auto result = h.probe(PingProbe{to(target, 0)});
      if (!succeeded(result)) failures.add(std::string(target) + ": " + describe(result));
    }
    if (h.prober.counters().raw_icmp_probes != 2)
      failures.add("raw_icmp_probes " + std::to_string(h.prober.counters().raw_icmp_probes));
    if (h.prober.counters().succeeded != 2)
      failures.add("succeeded " + std::to_string(h.prober.counters().succeeded));
    if (h.prober.running() != 0) failures.add("probes still running");
    // Another probe to the same target gets a new sequence number and passes too.
    if (!succeeded(h.probe(PingProbe{to("127.0.0.1", 0)}))) failures.add("second probe failed");
  });
  EXPECT_EQ(report, "");
}

TEST_F(PingProbeNetnsTest, NoRouteFails) {
  const std::string report = in_new_netns([](Failures& failures) {
    Harness h;
    // Only lo is up: nothing routes to documentation addresses.
    for (const char* target : {"192.0.2.1", "2001:db8::1"}) {
      expect_failure(failures, target, h.probe(PingProbe{to(target, 0)}), Reason::kUnreachable);
    }
    if (h.prober.counters().failed != 2)
      failures.add("failed " + std::to_string(h.prober.counters().failed));
  });
  EXPECT_EQ(report, "");
}

TEST_F(PingProbeNetnsTest, UnreachableRouteFails) {
  const std::string report = in_new_netns([](Failures& failures) {
    if (std::system("ip route add unreachable 198.51.100.0/24 && "
                    "ip -6 route add unreachable 2001:db8:5::/64") != 0)
      return failures.add("ip route add unreachable failed");
    Harness h;
    for (const char* target : {"198.51.100.1", "2001:db8:5::1"}) {
      expect_failure(failures, target, h.probe(PingProbe{to(target, 0)}), Reason::kUnreachable);
    }
  });
  EXPECT_EQ(report, "");
}

// A second namespace, made by a forked grandchild that holds it until the child (its parent) is
// gone: the grandchild blocks reading a pipe whose write end only the child has.
class PeerNamespace {
 public:
  PeerNamespace() {
    std::array<int, 2> hold{};
    std::array<int, 2> ready{};
    if (::pipe2(hold.data(), O_CLOEXEC) != 0 || ::pipe2(ready.data(), O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(hold[1]);
      ::close(ready[0]);
      const char ok = ::unshare(CLONE_NEWNET) == 0 && set_lo_up() ? '1' : '0';
      (void)::write(ready[1], &ok, 1);
      char byte = 0;
      while (::read(hold[0], &byte, 1) > 0) {
      }
      ::_exit(0);
    }
    ::close(hold[0]);
    ::close(ready[1]);
    hold_.reset(hold[1]);
    char ok = 0;
    ok_ = pid_ > 0 && ::read(ready[0], &ok, 1) == 1 && ok == '1';
    ::close(ready[0]);
  }
  PeerNamespace(const PeerNamespace&) = delete;
  PeerNamespace& operator=(const PeerNamespace&) = delete;
  ~PeerNamespace() {
    hold_.reset();  // the grandchild reads EOF and exits
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::string pid() const { return std::to_string(pid_); }
  // Runs `command` through sh inside the namespace.
  [[nodiscard]] bool run(const std::string& command) const {
    return std::system(("nsenter -t " + pid() + " -n sh -ec '" + command + "'").c_str()) == 0;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd hold_;
  bool ok_ = false;
};

// This namespace reaches documentation networks through a router in a second namespace the
// test made, which has no route to them and answers with ICMP errors from its own address: the
// probe fails without waiting for its timeout (no virtual time passes). `datagram`: with
// ping_group_range widened in this namespace, through the unprivileged datagram socket.
void router_errors_fail_at_once(Failures& failures, bool datagram) {
  if (datagram && !write_file("/proc/sys/net/ipv4/ping_group_range", "0 0"))
    return failures.add("cannot set ping_group_range");
  PeerNamespace router;
  if (!router.ok()) return failures.add("cannot make the router's namespace");
  if (std::system(("ip link add vigil0 type veth peer name vigil1 netns " + router.pid() +
                   " && ip link set vigil0 up && ip addr add 10.9.0.1/24 dev vigil0 && "
                   "ip -6 addr add 2001:db8:9::1/64 dev vigil0 nodad && "
                   "ip route add default via 10.9.0.254 && "
                   "ip -6 route add default via 2001:db8:9::fe")
                      .c_str()) != 0 ||
      !router.run("ip link set vigil1 up && ip addr add 10.9.0.254/24 dev vigil1 && "
                  "ip -6 addr add 2001:db8:9::fe/64 dev vigil1 nodad && "
                  "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && "
                  "ip route add unreachable 192.0.2.0/24 && "
                  "ip -6 route add unreachable 2001:db8:2::/64"))
    return failures.add("cannot build the topology");
  Harness h;
  expect_failure(failures, "192.0.2.1", h.probe(PingProbe{to("192.0.2.1", 0, 5s)}),
                 Reason::kUnreachable,
                 "destination unreachable (host unreachable) from 10.9.0.254");
  expect_failure(failures, "2001:db8:2::1", h.probe(PingProbe{to("2001:db8:2::1", 0, 5s)}),
                 Reason::kUnreachable, "destination unreachable (no route) from 2001:db8:9::fe");
  // The router itself answers.
  if (!succeeded(h.probe(PingProbe{to("10.9.0.254", 0, 5s)}))) failures.add("10.9.0.254 failed");
  if (!succeeded(h.probe(PingProbe{to("2001:db8:9::fe", 0, 5s)})))
    failures.add("2001:db8:9::fe failed");
  const uint64_t raw = h.prober.counters().raw_icmp_probes;
  if (raw != (datagram ? 0U : 4U)) failures.add("raw_icmp_probes " + std::to_string(raw));
}

TEST_F(PingProbeNetnsTest, IcmpUnreachableFromARouterFailsAtOnceRawSocket) {
  EXPECT_EQ(in_new_netns([](Failures& failures) { router_errors_fail_at_once(failures, false); }),
            "");
}

TEST_F(PingProbeNetnsTest, IcmpUnreachableFromARouterFailsAtOnceDatagramSocket) {
  EXPECT_EQ(in_new_netns([](Failures& failures) { router_errors_fail_at_once(failures, true); }),
            "");
}

TEST_F(PingProbeNetnsTest, LoopbackPassesThroughTheDatagramSocket) {
  const std::string report = in_new_netns([](Failures& failures) {
    if (!write_file("/proc/sys/net/ipv4/ping_group_range", "0 0"))
      return failures.add("cannot set ping_group_range");
    Harness h;
    for (const char* target : {"127.0.0.1", "::1"}) {
      auto result = h.probe(PingProbe{to(target, 0)});
      if (!succeeded(result)) failures.add(std::string(target) + ": " + describe(result));
    }
    if (h.prober.counters().raw_icmp_probes != 0)
      failures.add("raw_icmp_probes " + std::to_string(h.prober.counters().raw_icmp_probes));
  });
  EXPECT_EQ(report, "");
}

TEST_F(PingProbeNetnsTest, IgnoredEchoFailsAtConnectTimeout) {
  const std::string report = in_new_netns([](Failures& failures) {
    if (!write_file("/proc/sys/net/ipv4/icmp_echo_ignore_all", "1"))
      return failures.add("cannot set icmp_echo_ignore_all");
    const bool v6 = write_file("/proc/sys/net/ipv6/icmp/echo_ignore_all", "1");
    Harness h;
    for (const char* target : {"127.0.0.1", "::1"}) {
      if (std::string(target) == "::1" && !v6) continue;
      std::optional<check::ProbeResult> result;
      h.prober.start(PingProbe{to(target, 0, 2s)},
                     [&](check::ProbeResult r) { result = std::move(r); });
      if (!h.round_trip()) failures.add("the canary probe failed");
      if (result) failures.add(std::string(target) + " before its timeout: " + describe(result));
      h.time.advance(2s - 1us);
      if (result) failures.add(std::string(target) + " 1us early: " + describe(result));
      h.time.advance(1us);
      expect_failure(failures, target, result, Reason::kTimeout, "echo reply timed out after 2s");
    }
    if (h.prober.running() != 0) failures.add("probes still running");
  });
  EXPECT_EQ(report, "");
}

}  // namespace
}  // namespace vigil::check_io
