// The doctor's gatherer on Linux (doctor.h): reads, never changes anything.
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ip_address.h"
#include "common/run_as.h"
#include "control/script_audit.h"
#include "doctor/doctor.h"

namespace vigil::doctor {

namespace {

std::optional<std::string> read_trimmed(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  return s;
}

// "kernel/net/netfilter/ipvs/ip_vs_wrr.ko.zst" -> "ip_vs_wrr" (modules.dep, modules.builtin).
std::string module_name(std::string_view path) {
  if (auto colon = path.find(':'); colon != std::string_view::npos) path = path.substr(0, colon);
  if (auto slash = path.rfind('/'); slash != std::string_view::npos) path = path.substr(slash + 1);
  if (auto dot = path.find(".ko"); dot != std::string_view::npos) path = path.substr(0, dot);
  std::string name(path);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

bool read_module_list(const std::string& path, std::set<std::string>& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.insert(module_name(line));
  }
  return true;
}

// Runs nft with `args` (a listing: no input) and returns its standard output, or why it failed
// with what it wrote on standard error.
Result<std::string> run_nft_listing(std::vector<std::string> args) {
  int out_fds[2];
  if (pipe2(out_fds, O_CLOEXEC) != 0) return errno_error("pipe", errno);
  // Standard error into an anonymous file, read once nft is done (a pipe could fill up while
  // standard output is read).
  const int err_fd = memfd_create("nft-stderr", MFD_CLOEXEC);
  if (err_fd < 0) {
    Error error = errno_error("memfd_create", errno);
    close(out_fds[0]);
    close(out_fds[1]);
    return error;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  args.insert(args.begin(), "nft");
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "nft", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_fds[1]);
  if (spawned != 0) {
    close(out_fds[0]);
    close(err_fd);
    return errno_error("cannot run nft", spawned);
  }
  std::string output;
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(out_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  close(out_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      close(err_fd);
      return errno_error("waitpid nft", errno);
    }
  }
  std::string errors;
  if (lseek(err_fd, 0, SEEK_SET) == 0) {
    ssize_t n = 0;
    while ((n = read(err_fd, buffer, sizeof buffer)) > 0)
      errors.append(buffer, static_cast<size_t>(n));
  }
  close(err_fd);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string command = "nft";
    for (size_t i = 1; i < args.size(); ++i)
      command += " " + args[i];
    while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' '))
      errors.pop_back();
    if (auto newline = errors.find('\n'); newline != std::string::npos) errors.resize(newline);
    return Error{command + " failed" + (errors.empty() ? std::string() : ": " + errors)};
  }
  return output;
}

}  // namespace

LinuxHost::LinuxHost() {
  utsname uts{};
  if (uname(&uts) == 0) modules_dir_ = std::string("/lib/modules/") + uts.release;
  std::ifstream modules("/proc/modules");
  std::string line;
  while (std::getline(modules, line))
    loaded_.insert(line.substr(0, line.find(' ')));
  read_module_list(modules_dir_ + "/modules.builtin", builtin_);
  module_index_ = read_module_list(modules_dir_ + "/modules.dep", loadable_);
}

std::optional<std::string> LinuxHost::unusable() const {
  std::error_code ec;
  if (!std::filesystem::is_directory("/proc/sys/net", ec))
    return "/proc/sys/net cannot be read (is /proc mounted?)";
  if (!std::filesystem::is_directory("/sys/class/net", ec))
    return "/sys/class/net cannot be read (is /sys mounted?)";
  return std::nullopt;
}

std::string sysctl_path(const std::string& name) {
  if (name.empty() || name.find("..") != std::string::npos || name.find('/') != std::string::npos)
    return {};
  // Dots separate levels, except inside an interface's name (a VLAN: eth0.100), as in
  // net.ipv4.conf.eth0.100.rp_filter: the interface is everything between "conf." and the last
  // dot.
  std::string path;
  for (const std::string_view prefix : {"net.ipv4.conf.", "net.ipv6.conf."}) {
    const size_t last = name.rfind('.');
    if (name.starts_with(prefix) && last > prefix.size()) {
      std::string head(prefix);
      std::replace(head.begin(), head.end(), '.', '/');
      path = "/proc/sys/" + head + name.substr(prefix.size(), last - prefix.size()) + "/" +
             name.substr(last + 1);
    }
  }
  if (path.empty()) {
    path = "/proc/sys/" + name;
    std::replace(path.begin() + 10, path.end(), '.', '/');
  }
  return path;
}

std::optional<std::string> LinuxHost::sysctl(const std::string& name) const {
  const std::string path = sysctl_path(name);
  if (path.empty()) return std::nullopt;
  return read_trimmed(path);
}

std::optional<InterfaceState> LinuxHost::interface(const std::string& name) const {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    return std::nullopt;
  const std::string dir = "/sys/class/net/" + name;
  auto flags = read_trimmed(dir + "/flags");
  if (!flags) return std::nullopt;
  InterfaceState state;
  char* end = nullptr;
  state.admin_up = (std::strtoul(flags->c_str(), &end, 0) & IFF_UP) != 0;
  state.operstate = read_trimmed(dir + "/operstate").value_or("unknown");
  state.carrier = state.operstate == "up" || state.operstate == "unknown";
  return state;
}

ModuleState LinuxHost::module(const std::string& name) const {
  if (loaded_.count(name)) return ModuleState::kLoaded;
  std::error_code ec;
  if (builtin_.count(name) || (name == "ip_vs" && std::filesystem::exists("/proc/net/ip_vs", ec)))
    return ModuleState::kBuiltin;
  if (loadable_.count(name)) return ModuleState::kLoadable;
  return ModuleState::kMissing;
}

ScriptState LinuxHost::script(const ScriptRef& script, const config::GlobalDefs& global) const {
  ScriptState out;
  // Who it runs as, as script_audit.cc decides: its own user, else script_user, else
  // keepalived_script where it exists, else root.
  std::optional<config::RunAs> user = script.run_as ? script.run_as : global.script_user;
  if (!user) {
    if (resolve_run_as(control::kDefaultScriptUser))
      user = config::RunAs{.user = control::kDefaultScriptUser};
  }
  script_security::Identity identity;
  out.user = "root";
  if (user) {
    auto resolved = resolve_run_as(user->user, user->group);
    if (!resolved) {
      out.verdict = script_security::Verdict::kNotExecutable;
      out.user = user->user;
      out.reason = resolved.error().message;
      return out;
    }
    identity = {resolved->uid, resolved->gid};
    out.user = user->user;
  }
  static const script_security::LinuxFileInspector files;
  auto assessment =
      script_security::assess(script.program, identity, /*enforce=*/true, files, kScriptSearchPath);
  out.verdict = assessment.verdict;
  out.reason = assessment.reason;
  return out;
}

std::set<std::string> LinuxHost::local_addresses() const {
  std::set<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr) continue;
    if (a->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      out.insert(IpAddress::from_bytes(AddressFamily::kIpv4,
                                       reinterpret_cast<const uint8_t*>(&in->sin_addr))
                     .to_string());
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      out.insert(IpAddress::from_bytes(AddressFamily::kIpv6,
                                       reinterpret_cast<const uint8_t*>(&in6->sin6_addr))
                     .to_string());
    }
  }
  freeifaddrs(list);
  return out;
}

FirewallRuleset LinuxHost::firewall() const {
  FirewallRuleset out;
  auto json = run_nft_listing({"-j", "list", "ruleset"});
  if (!json) {
    out.error = json.error().message;
    return out;
  }
  out.json = std::move(*json);
  // Only for the rules' text: the judgement stands without it.
  if (auto listing = run_nft_listing({"-a", "list", "ruleset"})) out.listing = std::move(*listing);
  return out;
}

IpvsConnTable LinuxHost::ipvs_conn_table() const {
  IpvsConnTable out;
  if (auto bits = read_trimmed("/sys/module/ip_vs/parameters/conn_tab_bits")) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(bits->c_str(), &end, 10);
    if (end != bits->c_str() && *end == '\0' && value < 64) out.bits = static_cast<unsigned>(value);
  }
  std::ifstream table("/proc/net/ip_vs_conn");
  if (!table) return out;
  std::string line;
  uint64_t lines = 0;
  // The first line is the header; past the cap the count says "at least".
  while (lines <= kConnCountCap && std::getline(table, line)) {
    if (lines > 0) count_ipvs_conn_line(line, out);
    ++lines;
  }
  out.connections = lines == 0 ? 0 : lines - 1;
  return out;
}

std::optional<uint64_t> LinuxHost::open_file_limit() const {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
  return static_cast<uint64_t>(limit.rlim_cur);
}

}  // namespace vigil::doctor
