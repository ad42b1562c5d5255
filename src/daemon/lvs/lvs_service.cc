#include "daemon/lvs/lvs_service.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "common/log.h"
#include "datapath/ipvs_netlink.h"
#include "lvs/fullnat.h"

extern char** environ;

namespace vigil::daemon {

DatapathFactory ipvs_netlink_factory() {
  return []() -> Result<std::unique_ptr<datapath::Datapath>> {
    auto opened = datapath::IpvsNetlinkDatapath::open();
    if (!opened) return opened.error();
    return std::unique_ptr<datapath::Datapath>(std::move(*opened));
  };
}

namespace {

// Runs nft with `args`, feeding it `input` on stdin (if any) and returning its stdout. With
// `quiet`, its stderr goes to /dev/null (an expected failure, like listing a missing table).
Result<std::string> run_nft(std::vector<std::string> args, const std::string& input, bool quiet) {
  int in_fds[2];
  int out_fds[2];
  if (pipe2(in_fds, O_CLOEXEC) != 0) return errno_error("pipe", errno);
  if (pipe2(out_fds, O_CLOEXEC) != 0) {
    Error error = errno_error("pipe", errno);
    close(in_fds[0]);
    close(in_fds[1]);
    return error;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_fds[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_fds[1], STDOUT_FILENO);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  args.insert(args.begin(), "nft");
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "nft", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_fds[0]);
  close(out_fds[1]);
  if (spawned != 0) {
    close(in_fds[1]);
    close(out_fds[0]);
    return errno_error("cannot run nft", spawned);
  }
  // The input is a few kilobytes at most (less than a pipe holds) and nft reads all of it
  // before it prints anything: writing it all first, then reading, cannot deadlock.
  size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = write(in_fds[1], input.data() + written, input.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // nft exited early: its status says why
    written += static_cast<size_t>(n);
  }
  close(in_fds[1]);
  std::string output;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(out_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  close(out_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errno_error("waitpid nft", errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string command = "nft";
    for (size_t i = 1; i < args.size(); ++i)
      command += " " + args[i];
    return Error{command + " failed (status " + std::to_string(status) + ")"};
  }
  return output;
}

}  // namespace

Status apply_fullnat_with_nft(const std::vector<lvs::FullNatService>& services) {
  if (!services.empty()) {
    // IPVS keeps conntrack entries only with this, and nftables NATs only what conntrack knows.
    std::ofstream sysctl("/proc/sys/net/ipv4/vs/conntrack");
    sysctl << "1\n";
    sysctl.flush();
    if (!sysctl) return Error{"cannot set net.ipv4.vs.conntrack=1"};
  }
  auto result = run_nft({"-f", "-"}, lvs::fullnat_ruleset(services), false);
  if (!result) return result.error();
  return {};
}

Result<std::string> read_fullnat_with_nft() {
  return run_nft({"list", "table", lvs::kFullNatFamily, lvs::kFullNatTable}, "", true);
}

bool needs_ipvs(const config::Config& config) {
  const auto& g = config.global;
  // lvs_sync_daemon is LvsSyncService's (lvs_sync_service.h): IPVS missing is not fatal there.
  return !config.lvs.virtual_servers.empty() || g.lvs_flush || g.lvs_timeouts.has_value();
}

LvsService::LvsService(Scheduler& scheduler, DatapathFactory factory,
                       lvs::LvsControllerOptions options)
    : scheduler_(scheduler), factory_(std::move(factory)), options_(options) {}

Status LvsService::start(const SharedConfig& config) {
  if (!needs_ipvs(*config)) {
    log::get("ipvs")->info("[ipvs] no virtual servers configured: IPVS is not used");
    return {};
  }
  return open_and_start(config);
}

Status LvsService::open_and_start(const SharedConfig& config) {
  auto datapath = factory_();
  if (!datapath) return datapath.error();
  datapath_ = std::move(*datapath);
  controller_ = std::make_unique<lvs::LvsController>(*datapath_, scheduler_, options_);
  auto status = controller_->start(config);
  if (!status) {
    controller_.reset();
    datapath_.reset();
  }
  return status;
}

void LvsService::reload(const SharedConfig& config) {
  if (controller_) {
    controller_->update(config);
    return;
  }
  if (!needs_ipvs(*config)) return;
  // The reload adds the first virtual servers: IPVS is needed from now on.
  if (auto status = open_and_start(config); !status) {
    log::get("ipvs")->error("[ipvs] cannot program the new virtual servers: {}",
                            status.error().message);
  }
}

void LvsService::stop() {
  if (controller_) controller_->stop();
}

void LvsService::apply_health(const check::HealthBatch& batch) {
  if (controller_) controller_->apply_health(batch);
}

}  // namespace vigil::daemon
