// An AlertSender that keeps what it was asked to send.
#pragma once

#include <vector>

#include "alert/sender.h"

namespace vigil::testing {

class FakeAlertSender final : public alert::AlertSender {
 public:
  void send(alert::Alert alert) override { sent.push_back(std::move(alert)); }
  std::vector<alert::Alert> sent;
};

}  // namespace vigil::testing
