// The thin shell under the lab: short commands (ip, nft, sysctl) with a bound on their time,
// processes started in a network namespace in a session of their own (so the lab can end them
// and what they fork by process group, never by name), sockets opened in a namespace, and the
// interrupt flag that every wait of the lab polls.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigil::lab {

// Every namespace the lab creates starts with this; `vigil-lab clean` removes exactly those.
inline constexpr const char* kNamespacePrefix = "vlab-";

struct LabError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Thrown by the lab's waits once SIGINT or SIGTERM arrived.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

// Set by the SIGINT/SIGTERM handler that install_interrupt_handlers() installs.
std::atomic<bool>& interrupt_flag();
void install_interrupt_handlers();
// Throws Interrupted when the flag is set.
void check_interrupt();
// Sleeps up to `seconds` in slices of at most 10 ms, checking the flag.
void sleep_for(double seconds);

struct CommandResult {
  int status = -1;  // exit status; -1 when it did not exit normally (killed, timed out)
  std::string out;
  std::string err;
};
// Runs argv[0] (searched in PATH) with a bound on its time (killed when it overruns).
CommandResult run_command(const std::vector<std::string>& argv, double timeout_s = 10.0);
// The same; throws LabError naming the command and its stderr when it fails.
void must_run(const std::vector<std::string>& argv, double timeout_s = 10.0);

// Starts `argv` inside network namespace `ns` (through `ip netns exec`, which execs it: the pid
// returned is the program's) in a new session, stdout and stderr to `log`, in directory `cwd`.
pid_t spawn_in_namespace(const std::string& ns, const std::vector<std::string>& argv,
                         const std::string& log, const std::string& cwd);
// Waits up to `timeout_s` for `pid` to exit; returns its wait status, or -1 if it did not exit.
int wait_exit(pid_t pid, double timeout_s);
// Non-blocking: true (and the status) if `pid` has exited and was reaped now.
bool reaped(pid_t pid, int& status);

// A socket (socket(2) arguments) opened in network namespace `ns` (/run/netns/NAME): the calling
// thread enters it for the call and returns. -1 with errno set on failure.
int socket_in_namespace(const std::string& ns, int domain, int type, int protocol);

// The names under /run/netns that start with kNamespacePrefix.
std::vector<std::string> lab_namespaces();
// Ends every process in the lab's namespaces (by PID, from `ip netns pids`), deletes the
// namespaces and the lab's work directories (those holding its marker file). Returns what it did,
// one line per item.
std::vector<std::string> clean_leftovers();

// The marker file in a lab work directory (/tmp/vlab-XXXXXX).
inline constexpr const char* kWorkMarker = ".vigil-lab";

}  // namespace vigil::lab
