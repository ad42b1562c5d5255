// The health-checker state machine: keepalived 2.2.7's per-checker semantics
// (shared/reference/checkers.md §0, §1.2, §1.3, §1.4) as a pure machine. handle(event, now)
// returns what the caller must do: start a probe at a time (and on which target), report the
// checker up or down, change the checker's dynamic weight. It never reads a clock, opens a socket
// or owns a timer; randomness (the start-up warmup, the opt-in per-interval jitter) comes from an
// injected source.
//
// Every checker type is here: TCP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK (single probe, fixed
// delay), SMTP_CHECK (as TCP_CHECK, but every delay_loop cycle has its retries, the first one
// too), MISC_CHECK (fixed rate, misc_dynamic), FILE_CHECK (event-driven) and HTTP_GET / SSL_GET,
// which walk their urls one per probe (check_http.c epilog): one url per delay_loop; 1 + retry
// failed attempts on one url, delay_before_retry apart, take the checker down; a down checker
// probes only that url, every max(delay_before_retry, delay_loop); once it passes every url is
// checked again in turn before the checker is up; fast_recovery drops the delay_loop spacing
// while the checker has not run yet and during that walk.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "check/spec.h"
#include "common/time.h"

namespace vigil::check {

// keepalived's BOOTSTRAP_DELAY: the first probe is 1 s + rand(0..warmup) after start or reload.
inline constexpr Duration kBootstrapDelay = std::chrono::seconds(1);

// Returns a duration drawn uniformly from [0, max] (both ends included).
using RandomDuration = std::function<Duration(Duration max)>;

// Why a checker changed state (or a probe failed). Counted per checker.
enum class Reason : uint8_t {
  kSucceeded,          // a probe passed
  kConnectionRefused,  // TCP RST / ICMP port unreachable
  kTimeout,            // no answer within connect_timeout
  kUnreachable,        // ICMP host / network unreachable, EHOSTUNREACH, ENETUNREACH
  kConnectionReset,    // the peer closed or reset mid-check
  kBadReply,           // a reply that does not pass (DNS RCODE, UDP mismatch, ...)
  kScriptExit,         // MISC_CHECK exited with a failing status
  kScriptSignal,       // MISC_CHECK killed by a signal
  kScriptTimeout,      // MISC_CHECK ran past misc_timeout
  kFileValue,          // FILE_CHECK's file value means down / up
  kCount,
};
inline constexpr size_t kReasonCount = static_cast<size_t>(Reason::kCount);
std::string_view to_string(Reason reason);

// ---- events -----------------------------------------------------------------------------------

// The checker is registered: at daemon start, or added by a reload. The defaults are
// keepalived's start-up (check_data.c): alpha starts the checker down and "one failure is enough
// initially" (retry_it starts at retry: the very first check has no retries). Not for SMTP_CHECK:
// smtp_start_check_thread zeroes retry_it before every delay_loop probe, the first one included.
// HTTP_GET / SSL_GET set retry_it back to retry after every passing url while the checker has not
// run (a complete pass or any failure marks it run), so with first_check_retries the retries last
// only until a url passes first.
// A reload registers new checkers differently (ipwrapper.c, see reload.h):
// - on a new real server: alpha applies, retries apply (check_new_rs_state);
// - on a kept real server with failed checkers, or not alive with nothing run: as at start-up;
// - on another kept real server: up, no alpha, retries apply (migrate_checkers).
struct Start {
  bool alpha_applies = true;
  bool first_check_retries = false;
  bool operator==(const Start&) const = default;
};

// The state a checker carries across a reload (checkers.md §1.4). HTTP_GET / SSL_GET carry no
// url position: keepalived's http checker has no migrate function, so a kept one starts again at
// its first url with no failed url, even when down (it then walks every url, retrying a failing
// one at delay_before_retry, before it is up).
struct CarriedState {
  bool up = true;
  bool has_run = false;
  uint32_t retry_it = 0;
  int64_t dynamic_weight = 0;                 // MISC_CHECK misc_dynamic cur_weight
  std::optional<int> last_exit_status;        // MISC_CHECK
  std::optional<TimePoint> last_probe_start;  // MISC_CHECK fixed rate
  bool operator==(const CarriedState&) const = default;
};

// A reload matched this checker with an old one of the same identity: it takes that checker's
// state (keepalived's migrate_checkers rules) and re-arms its first probe as Start does.
struct ReloadKept {
  CarriedState old;
  // The real server has failed checkers, or is not alive with nothing run: a kept checker that
  // has not run yet then starts as at start-up (down if alpha, no retries).
  bool pessimistic = false;
  bool operator==(const ReloadKept&) const = default;
};

// The caller started the probe it was asked for (MISC_CHECK measures its fixed rate from here).
struct ProbeStarted {};

struct ProbeSucceeded {
  // MISC_CHECK: the script's exit status (0, or 2..255 with misc_dynamic).
  std::optional<int> exit_status;
};

struct ProbeFailed {
  Reason reason = Reason::kTimeout;
  std::string detail;              // "connection refused", "exited with status 1", ...
  std::optional<int> exit_status;  // MISC_CHECK
};

// The probe could not run for a local reason (socket(), bind(), fork() failed): not a failure of
// the real server. keepalived reschedules at delay_loop (#1679/#1680).
struct ProbeNotRun {
  std::string detail;
};

// FILE_CHECK: the tracked file's value (read with strtol(..., 0)), at start and on every change.
struct FileValue {
  int64_t value = 0;
};

struct Stop {};

using Event = std::variant<Start, ReloadKept, ProbeStarted, ProbeSucceeded, ProbeFailed,
                           ProbeNotRun, FileValue, Stop>;

// ---- actions ----------------------------------------------------------------------------------

// Start the next probe at `at` (replaces any probe scheduled before).
struct ProbeAt {
  TimePoint at{};
  // HTTP_GET / SSL_GET: the index of the url to probe (spec.identity's HttpIdentity::urls).
  // 0 for every other type, SMTP_CHECK included: keepalived 2.2.7 turns each `host {}` block
  // into a checker of its own (check_smtp.c smtp_check_end_handler), so one SMTP checker has one
  // connection.
  uint32_t target = 0;
  bool operator==(const ProbeAt&) const = default;
};
struct CancelProbe {
  bool operator==(const CancelProbe&) const = default;
};
// The checker's verdict. `changed` is false only for keepalived's first-run confirmation of a
// state the checker already had (update_svr_checker_state): an alpha checker's first result, or
// a non-alpha checker whose first result is down after a reload kept it down. The real server
// logic runs its notifies for it without a state change.
struct Report {
  bool up = true;
  bool changed = true;
  Reason reason = Reason::kSucceeded;
  // An unchanged report with notifies = false runs no notify: it is only MISC_CHECK's first-run
  // confirmation, which keepalived 2.2.7 check_misc.c mails (smtp_alert) and nothing else.
  bool notifies = true;
  bool operator==(const Report&) const = default;
};
// The checker's dynamic weight (MISC misc_dynamic, FILE_CHECK) is now `weight`; the real server's
// effective weight is its configured weight plus the sum over its checkers.
struct WeightChanged {
  int64_t weight = 0;
  bool operator==(const WeightChanged&) const = default;
};

using Action = std::variant<ProbeAt, CancelProbe, Report, WeightChanged>;
using Actions = std::vector<Action>;
std::string to_string(const Action& action);

// ---- the machine ------------------------------------------------------------------------------

class Checker {
 public:
  // `spec` is borrowed and must outlive the checker (the engine's is in its virtual server's
  // verdicts): one copy per checker cost 250+ bytes each (docs/performance.md).
  Checker(const CheckerSpec& spec, RandomDuration random);
  Checker(CheckerSpec&&, RandomDuration) = delete;

  Actions handle(const Event& event, TimePoint now);

  [[nodiscard]] const CheckerSpec& spec() const { return *spec_; }
  [[nodiscard]] bool up() const { return up_; }
  [[nodiscard]] bool has_run() const { return has_run_; }
  [[nodiscard]] uint32_t retry_it() const { return retry_it_; }
  [[nodiscard]] int64_t dynamic_weight() const { return dynamic_weight_; }
  [[nodiscard]] std::optional<TimePoint> next_probe() const { return next_probe_; }
  // HTTP_GET / SSL_GET: the url the next probe checks, and the url that took the checker down
  // (keepalived's url_it and failed_url); 0 and none for other types.
  [[nodiscard]] uint32_t target() const { return target_; }
  [[nodiscard]] std::optional<uint32_t> failed_target() const { return failed_target_; }
  [[nodiscard]] CarriedState carried() const {
    return {up_, has_run_, retry_it_, dynamic_weight_, last_exit_status_, last_probe_start_};
  }
  // A reload matched this running checker with a new one of the same spec (`kept` carries this
  // checker's own state): true when a new checker handling `kept` would have the state this one
  // has for its real server (up, dynamic weight), so the engine may keep this one running as it
  // is (its state, its next probe, its probe in flight) instead of starting a new one.
  [[nodiscard]] bool reload_keeps_state(const ReloadKept& kept) const;
  // A reload kept this checker with `spec` (borrowed, as in the constructor), equal to its own but
  // for the real server's configured weight, which only MISC_CHECK misc_dynamic uses (then the
  // engine starts a new checker).
  void set_spec(const CheckerSpec& spec);
  void set_spec(CheckerSpec&&) = delete;
  // State changes by reason (the reason of the probe that made them).
  [[nodiscard]] uint64_t transitions(Reason reason) const {
    return counters_ ? counters_->transitions[static_cast<size_t>(reason)] : 0;
  }
  // Failed probes by reason, whether or not they changed the state.
  [[nodiscard]] uint64_t failures(Reason reason) const {
    return counters_ ? counters_->failures[static_cast<size_t>(reason)] : 0;
  }
  [[nodiscard]] uint64_t probes_not_run() const { return probes_not_run_; }

 private:
  void on(const Start& start, TimePoint now, Actions& out);
  void on(const ReloadKept& kept, TimePoint now, Actions& out);
  void on(const ProbeStarted&, TimePoint now, Actions& out);
  void on(const ProbeSucceeded& success, TimePoint now, Actions& out);
  void on(const ProbeFailed& failure, TimePoint now, Actions& out);
  void on(const ProbeNotRun& not_run, TimePoint now, Actions& out);
  void probe_ran();  // a probe ran (passed or failed): a not-run episode ends
  void on(const FileValue& file, TimePoint now, Actions& out);
  void on(const Stop&, TimePoint now, Actions& out);
  // HTTP_GET / SSL_GET (check_http.c epilog and timeout_epilog).
  void http_succeeded(TimePoint now, Actions& out);
  void http_failed(const ProbeFailed& failure, TimePoint now, Actions& out);
  // fast_recovery: "if the checker is not up, but we are not aware of any failure, don't delay
  // the checks" (epilog): while it has not run, or down with no failed url.
  [[nodiscard]] bool http_fast_recovery() const;

  // 1 s + rand(0..warmup) (check_api.c register_checkers_thread).
  void arm_first_probe(TimePoint now, Actions& out);
  // ProbeAt{at, target_}.
  void schedule(TimePoint at, Actions& out);
  // `interval` with the opt-in per-interval jitter applied.
  [[nodiscard]] Duration jittered(Duration interval) const;
  // The next probe after one that ended at `now`: fixed delay from `now`, or (MISC_CHECK) fixed
  // rate from the probe's start.
  void schedule_after_probe(Duration interval, TimePoint now, Actions& out);
  void set_dynamic_weight(int64_t weight, Actions& out);
  // A result that decides the state: UP / DOWN, or the first-run confirmation.
  void report(bool up, Reason reason, std::string_view detail, Actions& out);
  void log_attempt(const ProbeFailed& failure) const;
  // "url /health " for HTTP_GET / SSL_GET log lines, empty otherwise.
  [[nodiscard]] std::string url_prefix() const;

  // The one place where the state changes: logs "[label] UP -> DOWN (reason)", counts, reports.
  void transition(bool to_up, Reason reason, std::string_view detail, Actions& out);

  const CheckerSpec* spec_;  // never null
  RandomDuration random_;
  bool up_ = true;
  bool has_run_ = false;
  bool started_ = false;
  uint32_t retry_it_ = 0;
  uint32_t rise_count_ = 0;  // consecutive successes while down (rise > 1)
  int64_t dynamic_weight_ = 0;
  std::optional<int> last_exit_status_;
  std::optional<TimePoint> last_probe_start_;
  std::optional<TimePoint> next_probe_;
  uint32_t target_count_ = 1;  // HTTP_GET / SSL_GET: the number of urls
  uint32_t target_ = 0;
  std::optional<uint32_t> failed_target_;
  struct Counters {
    std::array<uint64_t, kReasonCount> transitions{};
    std::array<uint64_t, kReasonCount> failures{};
  };
  // Made at the first failure or state change: a checker that always passes (most of them)
  // pays one pointer instead of 160 bytes (docs/performance.md).
  Counters& counters();
  std::unique_ptr<Counters> counters_;
  uint64_t probes_not_run_ = 0;
  uint64_t not_run_streak_ = 0;  // probes not run since the last one that ran
};

// MISC_CHECK: the event for a script that exited with `status` (check_misc.c): 0 passes, and with
// misc_dynamic so does 2..255; anything else fails.
[[nodiscard]] Event misc_exit_event(int status, bool dynamic);

}  // namespace vigil::check
