// Helpers of the control routes (control.cc, control_vrrp.cc): the component's logger and a
// JSON answer.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "api/http.h"
#include "common/log.h"

namespace vigil::daemon::control_detail {

inline const std::shared_ptr<spdlog::logger>& logger() {
  static const auto log = log::get("control");
  return log;
}

inline api::HttpResponse json_response(int status, const nlohmann::json& body) {
  return api::HttpResponse{.status = status, .body = body.dump(2) + "\n"};
}

}  // namespace vigil::daemon::control_detail
