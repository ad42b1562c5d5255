// Sending SMTP alerts: AlertSender (what the checker and VRRP sides call) and SmtpAlertSender,
// which sends them one at a time through an SmtpTransport (AsioSmtpTransport in vigild, a fake
// in tests), as keepalived 2.2.7 core/smtp.c does, with these rules:
// - send() never blocks and never fails: the alert is stamped with the wall clock's time (its
//   Date header) and queued. At most max_queued alerts wait; one more is dropped, counted and
//   logged at warn (keepalived has no bound).
// - One connection per alert, one connection at a time, in queue order.
// - smtp_connect_timeout bounds the connect and then each wait for a reply (keepalived's
//   smtp_connection_to on each thread_add_read/write); a timeout ends that alert.
// - A failure (connect refused, timeout, a bad reply, a refusal) is logged at warn naming the
//   SMTP server and the alert's subject; the alert is dropped, never retried.
// - Without settings (no smtp_server or no notification_email) alerts are dropped silently, as
//   keepalived's smtp_alert returns at once.
// Timers only on the injected Scheduler. Not thread-safe: everything on the scheduler's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "alert/message.h"
#include "alert/smtp_client.h"
#include "common/time.h"
#include "event/wall_clock.h"

namespace vigil::alert {

class AlertSender {
 public:
  virtual ~AlertSender() = default;
  // Queues `alert`; returns at once.
  virtual void send(Alert alert) = 0;
};

// One TCP connection to the SMTP server. Callbacks go to the handler given to connect(), never
// from inside connect() or write(); destroying the connection closes it and no callback follows.
class SmtpConnection {
 public:
  struct Handler {
    virtual ~Handler() = default;
    virtual void on_connected() = 0;
    virtual void on_data(std::string_view bytes) = 0;
    // The server closed (error empty) or the connection failed (connect refused, reset,
    // unreachable: the error says which).
    virtual void on_closed(std::string error) = 0;
  };
  virtual ~SmtpConnection() = default;
  // Writes `bytes` after any earlier writes; a failure comes as on_closed.
  virtual void write(std::string bytes) = 0;
};

class SmtpTransport {
 public:
  virtual ~SmtpTransport() = default;
  // Starts connecting; `handler` must outlive the connection.
  virtual std::unique_ptr<SmtpConnection> connect(const IpAddress& address, uint16_t port,
                                                  SmtpConnection::Handler& handler) = 0;
};

struct SenderCounters {
  uint64_t queued = 0;
  uint64_t sent = 0;
  uint64_t failed = 0;
  uint64_t timed_out = 0;     // of those failed
  uint64_t dropped = 0;       // the queue was full
  uint64_t unconfigured = 0;  // no smtp_server or no notification_email: not sent
};

struct SmtpAlertSenderOptions {
  size_t max_queued = 64;
};

class SmtpAlertSender final : public AlertSender, private SmtpConnection::Handler {
 public:
  // `scheduler`, `transport` outlive the sender. `log_name` prefixes log lines ("vrrp").
  SmtpAlertSender(Scheduler& scheduler, SmtpTransport& transport, event::WallClock wall_clock,
                  std::string log_name, SmtpAlertSenderOptions options = {});
  ~SmtpAlertSender() override;
  SmtpAlertSender(const SmtpAlertSender&) = delete;
  SmtpAlertSender& operator=(const SmtpAlertSender&) = delete;

  // New settings (at load and reload); none: alerts are not sent. The alert being sent now goes
  // on with the settings it started with; queued ones use the new ones.
  void configure(std::optional<SmtpSettings> settings);
  [[nodiscard]] bool configured() const { return settings_.has_value(); }

  void send(Alert alert) override;

  [[nodiscard]] const SenderCounters& counters() const { return counters_; }
  [[nodiscard]] size_t queued() const { return queue_.size(); }
  [[nodiscard]] bool busy() const { return connection_ != nullptr; }

 private:
  struct Pending {
    Alert alert;
    event::WallTime date;
  };

  void start_next();
  void arm_timeout();
  void finish(bool sent, std::string error, bool timed_out = false);
  void apply(const SmtpClientStep& step);
  [[nodiscard]] std::string label() const;

  void on_connected() override;
  void on_data(std::string_view bytes) override;
  void on_closed(std::string error) override;

  Scheduler& scheduler_;
  SmtpTransport& transport_;
  event::WallClock wall_clock_;
  std::string log_name_;
  SmtpAlertSenderOptions options_;
  std::optional<SmtpSettings> settings_;

  std::deque<Pending> queue_;
  // The alert in flight.
  std::optional<Pending> current_;
  SmtpSettings current_settings_;
  std::unique_ptr<SmtpClientDialogue> dialogue_;
  std::unique_ptr<SmtpConnection> connection_;
  bool connected_ = false;
  Timer timeout_;
  Timer next_;  // starts the next alert from a fresh handler, never from inside a callback
  SenderCounters counters_;
};

}  // namespace vigil::alert
