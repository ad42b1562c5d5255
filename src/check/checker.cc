#include "check/checker.h"

#include <algorithm>
#include <cassert>
#include <limits>

#include "common/log.h"
#include "common/overloaded.h"

namespace vigil::check {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("check");
  return *instance;
}

// How a checker type schedules its probes and counts its failures (checkers.md §1.2; the 2.2.7
// epilog functions, read in keepalived's source).
enum class Cadence : uint8_t {
  // TCP_CHECK (tcp_epilog): failures retry at delay_before_retry even while down, so a down
  // checker probes `retry` times at delay_before_retry, then once at delay_loop, and repeats
  // (2.2.7; fixed after it by 77dad708).
  kTcp,
  // UDP_CHECK, PING_CHECK (udp_epilog, icmp_epilog): only an up checker retries; a down one
  // probes every delay_loop.
  kUpRetries,
  // DNS_CHECK (dns_final): as kUpRetries, but a checker that has not run yet retries too.
  kDns,
  // SMTP_CHECK (smtp_final, smtp_start_check_thread): as kTcp, but retry_it is zeroed before
  // every delay_loop probe (the first one too, so the first check has retries), and only a
  // report or a success marks the checker as run.
  kSmtp,
  // HTTP_GET, SSL_GET (epilog, timeout_epilog): one url per probe; see http_succeeded().
  kHttp,
  // MISC_CHECK (misc_check_child_thread): fixed rate from the script's start.
  kMisc,
  // FILE_CHECK: driven by the file's value, no probes.
  kFile,
};

Cadence cadence(CheckerType type) {
  switch (type) {
    case CheckerType::kTcp:
      return Cadence::kTcp;
    case CheckerType::kUdp:
    case CheckerType::kPing:
      return Cadence::kUpRetries;
    case CheckerType::kDns:
      return Cadence::kDns;
    case CheckerType::kMisc:
      return Cadence::kMisc;
    case CheckerType::kFile:
      return Cadence::kFile;
    case CheckerType::kSmtp:
      return Cadence::kSmtp;
    case CheckerType::kHttp:
    case CheckerType::kSsl:
      return Cadence::kHttp;
  }
  return Cadence::kTcp;
}

std::string_view state_name(bool up) {
  return up ? "UP" : "DOWN";
}

}  // namespace

std::string_view to_string(Reason reason) {
  switch (reason) {
    case Reason::kSucceeded:
      return "check succeeded";
    case Reason::kConnectionRefused:
      return "connection refused";
    case Reason::kTimeout:
      return "timeout";
    case Reason::kUnreachable:
      return "unreachable";
    case Reason::kConnectionReset:
      return "connection reset";
    case Reason::kBadReply:
      return "bad reply";
    case Reason::kScriptExit:
      return "script exit status";
    case Reason::kScriptSignal:
      return "script killed by a signal";
    case Reason::kScriptTimeout:
      return "script timed out";
    case Reason::kFileValue:
      return "file value";
    case Reason::kCount:
      break;
  }
  return "?";
}

std::string to_string(const Action& action) {
  return std::visit(
      Overloaded{
          [](const ProbeAt& a) {
            return fmt::format("ProbeAt({} us, target {})", a.at.time_since_epoch().count(),
                               a.target);
          },
          [](const CancelProbe&) { return std::string("CancelProbe"); },
          [](const Report& a) {
            return fmt::format("Report({}{}, {})", state_name(a.up), a.changed ? "" : " again",
                               to_string(a.reason));
          },
          [](const WeightChanged& a) { return fmt::format("WeightChanged({})", a.weight); },
      },
      action);
}

Event misc_exit_event(int status, bool dynamic) {
  if (status == 0 || (dynamic && status >= 2 && status <= 255))
    return ProbeSucceeded{.exit_status = status};
  return ProbeFailed{.reason = Reason::kScriptExit,
                     .detail = fmt::format("exited with status {}", status),
                     .exit_status = status};
}

Checker::Checker(const CheckerSpec& spec, RandomDuration random)
    : spec_(&spec), random_(std::move(random)) {
  if (cadence(spec_->identity.type) == Cadence::kHttp) {
    // keepalived drops an HTTP_GET without urls at load (http_get_check_end); so does vigil's
    // config validation.
    const auto* http = std::get_if<HttpIdentity>(&spec_->identity.detail);
    assert(http != nullptr && !http->urls.empty());
    if (http != nullptr && !http->urls.empty())
      target_count_ = static_cast<uint32_t>(http->urls.size());
  }
  assert(spec_->rise >= 1);
  assert(spec_->interval_jitter_percent <= 50);
  assert(spec_->identity.type == CheckerType::kFile || spec_->delay_loop > Duration::zero());
}

Actions Checker::handle(const Event& event, TimePoint now) {
  Actions out;
  std::visit([&](const auto& e) { on(e, now, out); }, event);
  return out;
}

// ---- events -----------------------------------------------------------------------------------

void Checker::on(const Start& start, TimePoint now, Actions& out) {
  assert(!started_);
  started_ = true;
  if (spec_->identity.type == CheckerType::kFile) {
    // checkers.md §1.2: FILE_CHECK's state is known at start (has_run set, no alpha); the first
    // FileValue sets it without a report.
    has_run_ = false;
    return;
  }
  // §1.3 start-up (check_data.c): alpha starts the checker down; "one failure is enough
  // initially": retry_it starts at retry, so the first check has no retries.
  if (start.alpha_applies && spec_->alpha) up_ = false;
  if (!start.first_check_retries) retry_it_ = spec_->retry;
  arm_first_probe(now, out);
}

void Checker::on(const ReloadKept& kept, TimePoint now, Actions& out) {
  // §1.4 (ipwrapper.c migrate_checkers). FILE_CHECK never matches (spec.h matches()).
  assert(!started_ && spec_->identity.type != CheckerType::kFile);
  started_ = true;
  const CarriedState& old = kept.old;
  if (old.has_run) up_ = old.up;
  has_run_ = old.has_run;
  // "If we have already had sufficient retries for the new retry value, ... just require one
  // more failure": keepalived sets retry - 1, which takes one more retry and then the failure.
  if (old.retry_it > 0 && spec_->retry > 0)
    retry_it_ = old.retry_it >= spec_->retry ? spec_->retry - 1 : old.retry_it;
  if (spec_->identity.type == CheckerType::kMisc) {
    last_exit_status_ = old.last_exit_status;
    last_probe_start_ = old.last_probe_start;
    const auto* misc = std::get_if<MiscIdentity>(&spec_->identity.detail);
    // migrate_misc_check: the dynamic weight follows the last exit status, against the new
    // configured weight. keepalived computes -weight for a last status of 0 (or none); vigil
    // keeps 0 there, as a status 0 does when it is read (check_misc.c).
    if (misc != nullptr && misc->dynamic && old.last_exit_status && *old.last_exit_status >= 2) {
      set_dynamic_weight(*old.last_exit_status - 2 - spec_->real_server_weight, out);
    }
  }
  if (kept.pessimistic && !has_run_) {
    if (spec_->alpha) up_ = false;
    retry_it_ = spec_->retry;
  }
  arm_first_probe(now, out);
}

bool Checker::reload_keeps_state(const ReloadKept& kept) const {
  // What on(ReloadKept) gives a new checker of this spec (keep the two in step).
  if (!started_ || spec_->identity.type == CheckerType::kFile) return false;
  const CarriedState& old = kept.old;
  bool up = true;
  if (old.has_run) up = old.up;
  int64_t weight = 0;
  if (spec_->identity.type == CheckerType::kMisc) {
    const auto* misc = std::get_if<MiscIdentity>(&spec_->identity.detail);
    if (misc != nullptr && misc->dynamic && old.last_exit_status && *old.last_exit_status >= 2)
      weight = *old.last_exit_status - 2 - spec_->real_server_weight;
  }
  if (kept.pessimistic && !old.has_run && spec_->alpha) up = false;
  return old == carried() && up == up_ && weight == dynamic_weight_;
}

Checker::Counters& Checker::counters() {
  if (!counters_) counters_ = std::make_unique<Counters>();
  return *counters_;
}

void Checker::set_spec(const CheckerSpec& spec) {
  assert(spec.identity == spec_->identity && spec.delay_loop == spec_->delay_loop &&
         spec.retry == spec_->retry && spec.alpha == spec_->alpha);
  spec_ = &spec;
}

void Checker::on(const ProbeStarted&, TimePoint now, Actions&) {
  last_probe_start_ = now;
}

void Checker::probe_ran() {
  if (not_run_streak_ == 0) return;
  logger().info("[{}] probes run again after {} not run", spec_->label, not_run_streak_);
  not_run_streak_ = 0;
}

void Checker::on(const ProbeSucceeded& success, TimePoint now, Actions& out) {
  if (!started_) return;
  probe_ran();
  const Cadence kind = cadence(spec_->identity.type);
  if (kind == Cadence::kFile) return;
  if (kind == Cadence::kHttp) {
    http_succeeded(now, out);
    return;
  }
  if (kind == Cadence::kMisc && success.exit_status) {
    const auto* misc = std::get_if<MiscIdentity>(&spec_->identity.detail);
    // check_misc.c: a new exit status moves the weight: status - 2 - the configured weight
    // (0 for a status of 0), so with one dynamic checker the real server's weight is status - 2.
    if (misc != nullptr && misc->dynamic && success.exit_status != last_exit_status_) {
      const int status = *success.exit_status;
      set_dynamic_weight(status != 0 ? status - 2 - spec_->real_server_weight : 0, out);
      last_exit_status_ = status;
    }
  }
  if (!up_ && spec_->rise > 1 && ++rise_count_ < spec_->rise) {
    // vigil's `rise`: not yet enough consecutive successes to come back.
    logger().debug("[{}] success {}/{} while DOWN", spec_->label, rise_count_, spec_->rise);
    retry_it_ = 0;
    schedule_after_probe(spec_->delay_loop, now, out);
    return;
  }
  rise_count_ = 0;
  if (!up_ || !has_run_) report(true, Reason::kSucceeded, {}, out);
  retry_it_ = 0;
  has_run_ = true;
  schedule_after_probe(spec_->delay_loop, now, out);
}

void Checker::on(const ProbeFailed& failure, TimePoint now, Actions& out) {
  if (!started_) return;
  probe_ran();
  const Cadence kind = cadence(spec_->identity.type);
  if (kind == Cadence::kFile) return;
  ++counters().failures[static_cast<size_t>(failure.reason)];
  rise_count_ = 0;
  if (kind == Cadence::kHttp) {
    http_failed(failure, now, out);
    return;
  }
  Duration interval = spec_->delay_loop;
  switch (kind) {
    case Cadence::kTcp:
      if (retry_it_ >= spec_->retry) {
        retry_it_ = 0;
        if (up_ || !has_run_) report(false, failure.reason, failure.detail, out);
      } else {
        interval = spec_->delay_before_retry;
        ++retry_it_;
        log_attempt(failure);
      }
      break;
    case Cadence::kSmtp:
      // smtp_final: "++retry_it <= retry" retries this host after delay_before_retry, up or
      // down; otherwise the checker goes down (or confirms it) and the next cycle, delay_loop
      // later, starts again with retry_it 0 (smtp_start_check_thread).
      if (retry_it_ < spec_->retry) {
        ++retry_it_;
        log_attempt(failure);
        schedule_after_probe(spec_->delay_before_retry, now, out);
      } else {
        retry_it_ = 0;
        if (up_ || !has_run_) report(false, failure.reason, failure.detail, out);
        schedule_after_probe(spec_->delay_loop, now, out);
      }
      // A failed attempt does not mark the checker as run (report() does): an alpha checker
      // confirms DOWN after its 1 + retry attempts.
      return;
    case Cadence::kUpRetries:
    case Cadence::kDns: {
      const bool may_fail = up_ || !has_run_;
      const bool retries = kind == Cadence::kDns ? may_fail : up_;
      if (may_fail && retry_it_ >= spec_->retry) {
        retry_it_ = 0;
        report(false, failure.reason, failure.detail, out);
      } else if (retries) {
        interval = spec_->delay_before_retry;
        ++retry_it_;
        log_attempt(failure);
      } else {
        retry_it_ = 0;
      }
      break;
    }
    case Cadence::kMisc:
      if (up_ || !has_run_) {
        if (retry_it_ < spec_->retry) {
          ++retry_it_;
          log_attempt(failure);
        } else {
          retry_it_ = 0;
          // The weight goes with the failure, and the next passing status sets it again. #2720:
          // keepalived 2.2.7 zeroed the weight on a timeout without forgetting the last status,
          // so the weight grew on every later change; here the last status is forgotten (none for
          // a timeout or a signal) and the effective weight is always derived, never accumulated.
          last_exit_status_ = failure.exit_status;
          set_dynamic_weight(0, out);
          report(false, failure.reason, failure.detail, out);
        }
      }
      if (retry_it_ > 0) interval = spec_->delay_before_retry;
      break;
    case Cadence::kHttp:
    case Cadence::kFile:
      break;
  }
  has_run_ = true;
  schedule_after_probe(interval, now, out);
}

void Checker::on(const ProbeNotRun& not_run, TimePoint now, Actions& out) {
  if (!started_ || spec_->identity.type == CheckerType::kFile) return;
  // §1.2: a local error is not a failure; the check is rescheduled at delay_loop (#1679/#1680).
  ++probes_not_run_;
  // One warning per episode: a host out of sockets fails every probe at once, and a line per
  // probe (tens of thousands) would keep the check loop behind. The rest go to debug.
  if (not_run_streak_++ == 0) {
    logger().warn("[{}] probe not run: {} (repeats logged at debug until a probe runs)",
                  spec_->label, not_run.detail);
  } else {
    logger().debug("[{}] probe not run: {}", spec_->label, not_run.detail);
  }
  // SMTP_CHECK reschedules smtp_start_check_thread, which starts a new cycle; HTTP_GET keeps its
  // url and retry count (http_connect_thread).
  if (spec_->identity.type == CheckerType::kSmtp) retry_it_ = 0;
  schedule(now + jittered(spec_->delay_loop), out);
}

void Checker::on(const FileValue& file, TimePoint, Actions& out) {
  if (!started_ || spec_->identity.type != CheckerType::kFile) return;
  // §1.2 FILE_CHECK: weight 0: a non-zero value means down (reverse: a zero value does).
  // Otherwise value * weight, negated for reverse and clamped to int32, is the checker's weight,
  // and a result <= INT32_MIN (keepalived's IPVS_WEIGHT_FAULT) means down.
  bool up = true;
  int64_t weight = 0;
  if (spec_->file_weight == 0) {
    up = (file.value == 0) != spec_->file_reverse;
  } else {
    constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    // |value| is clamped first so the product cannot overflow int64 (|weight| < 2^31).
    const int64_t value = std::clamp<int64_t>(file.value, -(int64_t{1} << 32), int64_t{1} << 32);
    const int64_t product = value * spec_->file_weight * (spec_->file_reverse ? -1 : 1);
    weight = std::clamp(product, kMin, kMax);
    if (weight <= kMin) {
      up = false;
      weight = 0;
    }
  }
  if (weight != dynamic_weight_) set_dynamic_weight(weight, out);
  if (!has_run_) {
    // The value at start decides the initial state without a report (ipwrapper.c
    // init_service_rs counts it as a failed checker before the real server is added).
    has_run_ = true;
    up_ = up;
    return;
  }
  if (up != up_) transition(up, Reason::kFileValue, fmt::format("value {}", file.value), out);
}

void Checker::on(const Stop&, TimePoint, Actions& out) {
  started_ = false;
  if (next_probe_) out.emplace_back(CancelProbe{});
  next_probe_.reset();
}

// ---- HTTP_GET / SSL_GET ------------------------------------------------------------------------

// check_http.c epilog(REGISTER_CHECKER_NEW): the url passed.
void Checker::http_succeeded(TimePoint now, Actions& out) {
  // vigil's opt-in rise counts passing urls while down; it holds back only the final UP.
  if (!up_) ++rise_count_;
  retry_it_ = 0;
  const uint32_t passed = target_;
  if (failed_target_) {
    // The failed url is up again: check every url again, from the first, before UP.
    logger().info("[{}] {}passed again, checking every url", spec_->label, url_prefix());
    failed_target_.reset();
    target_ = 0;
  } else if (passed + 1 < target_count_) {
    target_ = passed + 1;
  } else {
    // Every url passed in turn: the check is complete.
    if (!up_ && rise_count_ < spec_->rise) {
      logger().debug("[{}] {} passing urls of {} while DOWN", spec_->label, rise_count_,
                     spec_->rise);
    } else {
      rise_count_ = 0;
      if (!up_ || !has_run_) report(true, Reason::kSucceeded, {}, out);
    }
    target_ = 0;
  }
  // "One failure is enough initially" lasts while the checker has not run: until the first
  // complete pass or the first failure (timeout_epilog marks it run).
  if (!has_run_) retry_it_ = spec_->retry;
  if (http_fast_recovery()) {
    schedule(now, out);
    return;
  }
  schedule_after_probe(spec_->delay_loop, now, out);
}

// check_http.c timeout_epilog: the url failed (connect, TLS, read, status, digest or regex).
void Checker::http_failed(const ProbeFailed& failure, TimePoint now, Actions& out) {
  if (up_ || !has_run_) {
    // epilog(REGISTER_CHECKER_RETRY), with has_run set first: an alpha checker's first failure
    // therefore confirms nothing (no notify), unlike the other types.
    has_run_ = true;
    ++retry_it_;
    if (retry_it_ > spec_->retry) {
      if (up_) transition(false, failure.reason, failure.detail, out);
      failed_target_ = target_;
    } else {
      log_attempt(failure);
    }
  } else {
    // epilog(REGISTER_CHECKER_FAILED): already down, no retry counted; the url stays.
    logger().debug("[{}] {}failed while DOWN ({})", spec_->label, url_prefix(),
                   failure.detail.empty() ? to_string(failure.reason) : failure.detail);
  }
  if (http_fast_recovery()) {
    schedule(now, out);
    return;
  }
  // The failed url is probed every max(delay_before_retry, delay_loop); any other failure
  // (a retry of an up checker, or a url failing in the walk after the failed url passed) is
  // retried after delay_before_retry.
  schedule_after_probe(failed_target_ ? std::max(spec_->delay_before_retry, spec_->delay_loop)
                                      : spec_->delay_before_retry,
                       now, out);
}

bool Checker::http_fast_recovery() const {
  return spec_->fast_recovery && (!has_run_ || (!up_ && !failed_target_));
}

std::string Checker::url_prefix() const {
  const auto* http = std::get_if<HttpIdentity>(&spec_->identity.detail);
  if (http == nullptr || target_ >= http->urls.size()) return {};
  return fmt::format("url {} ", http->urls[target_].path);
}

// ---- helpers ----------------------------------------------------------------------------------

void Checker::arm_first_probe(TimePoint now, Actions& out) {
  // A new or reloaded checker starts at the first url with no failed url (check_http.c
  // url_handler; http checkers have no migrate function).
  target_ = 0;
  failed_target_.reset();
  // SMTP_CHECK's launch function is smtp_start_check_thread, which zeroes retry_it.
  if (spec_->identity.type == CheckerType::kSmtp) retry_it_ = 0;
  // check_api.c register_checkers_thread: BOOTSTRAP_DELAY + warmup * random() / RAND_MAX.
  const Duration warmup = spec_->warmup > Duration::zero() ? random_(spec_->warmup) : Duration{0};
  assert(warmup >= Duration::zero() && warmup <= spec_->warmup);
  schedule(now + kBootstrapDelay + warmup, out);
}

void Checker::schedule(TimePoint at, Actions& out) {
  next_probe_ = at;
  out.emplace_back(ProbeAt{.at = at, .target = target_});
}

Duration Checker::jittered(Duration interval) const {
  if (spec_->interval_jitter_percent == 0) return interval;
  const Duration span = interval * spec_->interval_jitter_percent / 100;
  const Duration drawn = random_(2 * span);
  assert(drawn >= Duration::zero() && drawn <= 2 * span);
  return interval - span + drawn;
}

void Checker::schedule_after_probe(Duration interval, TimePoint now, Actions& out) {
  const Duration delay = jittered(interval);
  if (spec_->identity.type == CheckerType::kMisc && last_probe_start_) {
    // check_misc.c: fixed rate from the last start; a run that overran its slot starts 1 us
    // from now.
    schedule(std::max(*last_probe_start_ + delay, now + Duration{1}), out);
    return;
  }
  // Fixed delay from the end of the probe (§0.2).
  schedule(now + delay, out);
}

void Checker::set_dynamic_weight(int64_t weight, Actions& out) {
  if (weight == dynamic_weight_) return;
  logger().info("[{}] dynamic weight {} -> {}", spec_->label, dynamic_weight_, weight);
  dynamic_weight_ = weight;
  out.emplace_back(WeightChanged{weight});
}

void Checker::report(bool up, Reason reason, std::string_view detail, Actions& out) {
  if (up == up_) {
    // ipwrapper.c update_svr_checker_state: the same state again. The first run of an alpha
    // checker, or a first result of down, still runs the real server's notifies.
    if (!has_run_ && (spec_->alpha || !up)) {
      logger().info("[{}] {} ({})", spec_->label, state_name(up),
                    detail.empty() ? to_string(reason) : detail);
      out.emplace_back(Report{.up = up, .changed = false, .reason = reason});
    } else if (!has_run_ && spec_->identity.type == CheckerType::kMisc) {
      out.emplace_back(Report{.up = up, .changed = false, .reason = reason, .notifies = false});
    }
    has_run_ = true;
    return;
  }
  has_run_ = true;
  transition(up, reason, detail, out);
}

void Checker::log_attempt(const ProbeFailed& failure) const {
  // log_all_failures / checker_log_all_failures: every failed attempt of an up checker at info.
  const auto level = spec_->log_all_failures && up_ ? spdlog::level::info : spdlog::level::debug;
  logger().log(level, "[{}] {}failed ({}), retry {}/{}", spec_->label, url_prefix(),
               failure.detail.empty() ? to_string(failure.reason) : failure.detail, retry_it_,
               spec_->retry);
}

void Checker::transition(bool to_up, Reason reason, std::string_view detail, Actions& out) {
  assert(to_up != up_);
  const bool from = up_;
  up_ = to_up;
  ++counters().transitions[static_cast<size_t>(reason)];
  logger().info("[{}] {} -> {} ({})", spec_->label, state_name(from), state_name(to_up),
                detail.empty() ? to_string(reason) : detail);
  out.emplace_back(Report{.up = to_up, .changed = true, .reason = reason});
}

}  // namespace vigil::check
