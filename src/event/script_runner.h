// Running external programs (notify scripts, vrrp_script checks, MISC_CHECK) without a shell and
// without ever blocking the loop that asked. ScriptRunner is the role other components hold;
// ProcessScriptRunner implements it: a spawner thread at normal priority does
// clone(CLONE_VM|CLONE_VFORK) + execve, the loop watches each child through a pidfd.
// tests/fakes/fake_script_runner.h is the fake.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/run_as.h"
#include "common/time.h"

namespace vigil::event {

class EventLoop;

// The PATH a script sees, and where a bare argv[0] ("sh") is looked up.
inline constexpr const char* kScriptPath = kScriptSearchPath;
// How much of a script's stdout+stderr is kept when output is captured.
inline constexpr size_t kCaptureLimit = 4096;

using vigil::resolve_run_as;
using vigil::RunAs;

struct ScriptRequest {
  std::string name;               // names the script in log lines, e.g. "VI_1 notify_master"
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in kScriptPath
  std::optional<RunAs> run_as;    // none: the daemon's own credentials
  Duration timeout = 5s;  // then SIGTERM to its process group, SIGKILL after the grace; 0: none
  bool capture_output = false;  // stdout+stderr: the first kCaptureLimit bytes; else /dev/null
  std::vector<std::string> extra_env;  // "NAME=value", added to PATH=kScriptPath
};

struct ScriptResult {
  enum class Outcome : uint8_t {
    kExited,       // exit_code holds the status
    kSignaled,     // killed by `signal`: not after a timeout (terminate_running() sends SIGTERM)
    kTimedOut,     // ran past the timeout; `signal` is the one that ended it (0 if it exited)
    kExecFailed,   // execve (or a credential change before it) failed with `error`
    kSpawnFailed,  // could not create the process (pipe, clone): `error`
  };
  Outcome outcome = Outcome::kSpawnFailed;
  int exit_code = -1;
  int signal = 0;
  int error = 0;
  std::string output;  // when captured
  bool output_truncated = false;
  Duration runtime{0};

  [[nodiscard]] bool succeeded() const { return outcome == Outcome::kExited && exit_code == 0; }
};

// "exited 0", "killed by SIGKILL", "timed out after 100ms (SIGTERM)", "exec failed: No such ..."
std::string describe(const ScriptResult& result, Duration timeout = Duration{0});

using ScriptCallback = std::function<void(const ScriptResult&)>;

// Names one started script for ScriptRunner::cancel(); 0: none.
using ScriptId = uint64_t;

class ScriptRunner {
 public:
  virtual ~ScriptRunner() = default;
  // Starts `request` (or queues it); `done` runs later on the loop thread, never inline, exactly
  // once unless the runner is destroyed first.
  virtual void run(ScriptRequest request, ScriptCallback done) = 0;
  // As run(), and returns the script's id for cancel(); 0 from a runner that cannot cancel one
  // script (this default).
  virtual ScriptId start(ScriptRequest request, ScriptCallback done) {
    run(std::move(request), std::move(done));
    return 0;
  }
  // Ends one script as its timeout would (SIGTERM to its process group, SIGKILL if it is still
  // there after the grace; it is still reaped), or drops it if it waits for a slot. Its callback
  // never runs. Unknown and finished ids are ignored.
  virtual void cancel(ScriptId /*id*/) {}
  // Asks every script already started to end: SIGTERM to its process group, SIGKILL if it is
  // still there after the grace. Each callback runs when its script has gone. Requests waiting
  // for a slot are not affected.
  virtual void terminate_running() = 0;
  // Nothing running and nothing waiting.
  [[nodiscard]] virtual bool idle() const = 0;
};

class FdWatcher;
class SignalHandler;

class ProcessScriptRunner final : public ScriptRunner {
 public:
  enum class ChildWatch : uint8_t {
    kAuto,     // pidfd, or SIGCHLD where pidfd_open fails (kernels before 5.3)
    kPidfd,    // pidfd only: a child whose pidfd cannot be opened fails with kSpawnFailed
    kSigchld,  // SIGCHLD + waitpid(pid, WNOHANG) for every child
  };
  struct Options {
    size_t max_concurrent = 0;  // 0: no limit; more requests wait, first in first out
    Duration kill_grace = 1s;   // between SIGTERM and SIGKILL after a timeout
    ChildWatch child_watch = ChildWatch::kAuto;
  };

  explicit ProcessScriptRunner(EventLoop& loop);
  ProcessScriptRunner(EventLoop& loop, Options options);
  ProcessScriptRunner(const ProcessScriptRunner&) = delete;
  ProcessScriptRunner& operator=(const ProcessScriptRunner&) = delete;
  // SIGKILLs the process groups still running and reaps them; their callbacks do not run.
  ~ProcessScriptRunner() override;

  void run(ScriptRequest request, ScriptCallback done) override;
  ScriptId start(ScriptRequest request, ScriptCallback done) override;
  void cancel(ScriptId id) override;
  void terminate_running() override;
  [[nodiscard]] bool idle() const override { return children_.empty() && queue_.empty(); }

  // Started (or being started) and not yet finished; waiting for a free slot.
  [[nodiscard]] size_t running() const { return children_.size(); }
  [[nodiscard]] size_t queued() const { return queue_.size(); }

  struct Counters {
    uint64_t started = 0;
    uint64_t exited_zero = 0;
    uint64_t exited_nonzero = 0;
    uint64_t signaled = 0;
    uint64_t timed_out = 0;
    uint64_t exec_failed = 0;
    uint64_t spawn_failed = 0;
    uint64_t pidfd_fallbacks = 0;  // children watched through SIGCHLD in kAuto
  };
  [[nodiscard]] const Counters& counters() const { return counters_; }

 private:
  struct SpawnJob {
    uint64_t id;
    std::vector<std::string> argv;
    std::vector<std::string> extra_env;
    std::optional<RunAs> run_as;
    bool capture_output;
  };
  // What the spawner thread reports back to the loop for one child (through a pipe).
  struct Spawned {
    SpawnJob* job = nullptr;  // handed back so that the loop thread frees what it allocated
    uint64_t id = 0;
    pid_t pid = -1;
    int pidfd = -1;
    int output_fd = -1;
    int error = 0;
    bool exec_failed = false;
    TimePoint started{};
  };
  struct Child;
  struct Pending {
    ScriptRequest request;
    ScriptCallback done;  // empty once cancelled
    ScriptId id = 0;
  };
  class Spawner;

  void start_queued();
  void finish_early(const Pending& pending, ScriptResult result);
  void on_spawner_results();
  void on_spawned(const Spawned& spawned);
  void on_output(Child& child);
  void drain_output(Child& child);
  void on_exit_ready(uint64_t id);
  Status watch_sigchld();
  void reap_sigchld_children();
  void kill_group(const Child& child, int signal_number);
  void terminate(Child& child);  // SIGTERM now, SIGKILL after the grace
  void on_timeout(uint64_t id);
  void complete(uint64_t id, int wait_status);
  void count(const ScriptResult& result);

  EventLoop& loop_;
  Options options_;
  std::map<uint64_t, std::unique_ptr<Child>> children_;
  std::deque<Pending> queue_;
  uint64_t last_id_ = 0;
  std::shared_ptr<bool> alive_;
  std::unique_ptr<SignalHandler> sigchld_;
  std::unique_ptr<Spawner> spawner_;
  std::unique_ptr<FdWatcher> spawner_results_;
  Counters counters_;
};

}  // namespace vigil::event
