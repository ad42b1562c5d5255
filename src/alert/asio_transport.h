// The TCP side of SMTP alerts: SmtpTransport over Boost.Asio on one event loop (the checker or
// the VRRP thread's). Non-blocking throughout: connect, reads and writes are asynchronous, so a
// slow or silent SMTP server never holds the loop (the sender's timer ends the attempt). The
// public header exposes no Asio type.
#pragma once

#include <memory>

#include "alert/sender.h"

namespace vigil::event {
class EventLoop;
}

namespace vigil::alert {

class AsioSmtpTransport final : public SmtpTransport {
 public:
  // `loop` outlives the transport and every connection it made.
  explicit AsioSmtpTransport(event::EventLoop& loop) : loop_(loop) {}

  std::unique_ptr<SmtpConnection> connect(const IpAddress& address, uint16_t port,
                                          SmtpConnection::Handler& handler) override;

 private:
  event::EventLoop& loop_;
};

}  // namespace vigil::alert
