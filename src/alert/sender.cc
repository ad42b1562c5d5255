#include "alert/sender.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "common/log.h"

namespace vigil::alert {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("alert");
  return *instance;
}

std::string seconds_text(Duration d) {
  if (d.count() % 1'000'000 == 0) return fmt::format("{}s", d.count() / 1'000'000);
  return fmt::format("{}ms", d.count() / 1'000);
}

}  // namespace

SmtpAlertSender::SmtpAlertSender(Scheduler& scheduler, SmtpTransport& transport,
                                 event::WallClock wall_clock, std::string log_name,
                                 SmtpAlertSenderOptions options)
    : scheduler_(scheduler),
      transport_(transport),
      wall_clock_(std::move(wall_clock)),
      log_name_(std::move(log_name)),
      options_(options),
      timeout_(scheduler),
      next_(scheduler) {}

SmtpAlertSender::~SmtpAlertSender() {
  connection_.reset();  // no callback after this
  if (!queue_.empty() || current_) {
    logger().info("[{}] stopping: {} SMTP alert(s) not sent", log_name_,
                  queue_.size() + (current_ ? 1 : 0));
  }
}

std::string SmtpAlertSender::label() const {
  const SmtpSettings& s = current_ ? current_settings_ : *settings_;
  return "SMTP " + host_port(s.server, s.port);
}

void SmtpAlertSender::configure(std::optional<SmtpSettings> settings) {
  settings_ = std::move(settings);
  if (!settings_) {
    if (!queue_.empty())
      logger().info("[{}] SMTP alerts are no longer configured: {} queued alert(s) dropped",
                    log_name_, queue_.size());
    queue_.clear();
  }
}

void SmtpAlertSender::send(Alert alert) {
  if (!settings_) {
    ++counters_.unconfigured;
    return;
  }
  if (queue_.size() >= options_.max_queued) {
    ++counters_.dropped;
    logger().warn("[{}] {} alert queue is full ({} waiting): \"{}\" dropped ({} dropped so far)",
                  label(), log_name_, queue_.size(), one_line(alert.subject), counters_.dropped);
    return;
  }
  ++counters_.queued;
  queue_.push_back(Pending{std::move(alert), wall_clock_()});
  if (!connection_ && !next_.armed()) next_.arm_at(scheduler_.now(), [this] { start_next(); });
}

void SmtpAlertSender::start_next() {
  if (connection_ || queue_.empty() || !settings_) return;
  current_ = std::move(queue_.front());
  queue_.pop_front();
  current_settings_ = *settings_;
  const SmtpSettings& s = current_settings_;
  dialogue_ = std::make_unique<SmtpClientDialogue>(SmtpClientOptions{
      .server = host_port(s.server, s.port),
      .helo_name = s.helo_name,
      .from = s.from,
      .to = s.to,
      .data = message_data(s, current_->alert, current_->date),
  });
  logger().debug("[{}] {} alert: connecting: \"{}\"", label(), log_name_,
                 full_subject(s, current_->alert));
  connected_ = false;
  arm_timeout();
  connection_ = transport_.connect(s.server, s.port, *this);
}

void SmtpAlertSender::arm_timeout() {
  timeout_.arm_after(current_settings_.connect_timeout, [this] {
    const std::string what =
        connected_ ? "the " + std::string(dialogue_->waiting_for()) : std::string("the connection");
    finish(false,
           fmt::format("SMTP server {}: no {} within {}",
                       host_port(current_settings_.server, current_settings_.port),
                       connected_ ? "reply (" + what + ")" : "connection",
                       seconds_text(current_settings_.connect_timeout)),
           /*timed_out=*/true);
  });
}

void SmtpAlertSender::on_connected() {
  if (!current_) return;
  connected_ = true;
  arm_timeout();  // the greeting
}

void SmtpAlertSender::on_data(std::string_view bytes) {
  if (!current_) return;
  apply(dialogue_->feed(bytes));
}

void SmtpAlertSender::on_closed(std::string error) {
  if (!current_) return;
  if (!error.empty() && dialogue_->outcome() == SmtpClientOutcome::kNeedMore &&
      !(connected_ && dialogue_->waiting_for() == "QUIT reply")) {
    finish(false, fmt::format("SMTP server {}: {}",
                              host_port(current_settings_.server, current_settings_.port), error));
    return;
  }
  apply(dialogue_->closed());
}

void SmtpAlertSender::apply(const SmtpClientStep& step) {
  if (!step.send.empty() && connection_) connection_->write(step.send);
  switch (step.outcome) {
    case SmtpClientOutcome::kSent:
      return finish(true, {});
    case SmtpClientOutcome::kFailed:
      return finish(false, step.error);
    case SmtpClientOutcome::kNeedMore:
      if (!step.send.empty()) arm_timeout();  // each reply within smtp_connect_timeout
      return;
  }
}

void SmtpAlertSender::finish(bool sent, std::string error, bool timed_out) {
  if (!current_) return;
  const std::string subject = full_subject(current_settings_, current_->alert);
  if (sent) {
    ++counters_.sent;
    logger().info("[{}] {} alert sent: \"{}\"", label(), log_name_, subject);
  } else {
    ++counters_.failed;
    if (timed_out) ++counters_.timed_out;
    logger().warn("[{}] {} alert not sent (not retried): {}: \"{}\"", label(), log_name_, error,
                  subject);
  }
  timeout_.cancel();
  // May run inside the connection's own callback: its implementation allows the destruction.
  connection_.reset();
  dialogue_.reset();
  current_.reset();
  if (!queue_.empty()) next_.arm_at(scheduler_.now(), [this] { start_next(); });
}

}  // namespace vigil::alert
