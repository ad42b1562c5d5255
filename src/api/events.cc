#include "api/events.h"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "common/overloaded.h"

namespace vigil::api {

std::string_view event_kind(const EventPayload& what) {
  return std::visit(Overloaded{
                        [](const VrrpTransitionEvent&) { return std::string_view("vrrp"); },
                        [](const HealthEvent&) { return std::string_view("health"); },
                        [](const OverrideEvent&) { return std::string_view("override"); },
                        [](const ReloadEvent&) { return std::string_view("reload"); },
                    },
                    what);
}

std::string format_utc_milliseconds(int64_t unix_ms) {
  int64_t seconds = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  const auto t = static_cast<time_t>(seconds);
  tm utc{};
  if (::gmtime_r(&t, &utc) == nullptr) return std::to_string(unix_ms);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

nlohmann::json to_json(const Event& event) {
  nlohmann::json out = {{"seq", event.seq},
                        {"unix_ms", event.unix_ms},
                        {"time", format_utc_milliseconds(event.unix_ms)},
                        {"kind", std::string(event_kind(event.what))}};
  std::visit(Overloaded{
                 [&](const VrrpTransitionEvent& e) {
                   out["instance"] = e.instance;
                   out["from"] = e.from;
                   out["to"] = e.to;
                   out["reason"] = e.reason;
                 },
                 [&](const HealthEvent& e) {
                   out["virtual_server"] = e.virtual_server;
                   out["real_server"] = e.real_server;
                   out["checker"] = e.checker;
                   out["state"] = e.up ? "up" : "down";
                   out["reason"] = e.reason;
                   if (!e.detail.empty()) out["detail"] = e.detail;
                 },
                 [&](const OverrideEvent& e) {
                   out["action"] = e.action;
                   out["virtual_server"] = e.virtual_server;
                   out["real_server"] = e.real_server;
                   if (e.weight) out["weight"] = *e.weight;
                   if (e.for_seconds) out["for_seconds"] = *e.for_seconds;
                   out["reason"] = e.reason;
                   out["uid"] = e.uid;
                   out["pid"] = e.pid;
                   out["change"] = e.change;
                   out["override_kind"] = e.override_kind;
                   if (!e.detail.empty()) out["detail"] = e.detail;
                 },
                 [&](const ReloadEvent& e) {
                   out["result"] = e.ok ? "ok" : "refused";
                   out["by"] = e.by;
                   out["errors"] = e.errors;
                   if (!e.message.empty()) out["message"] = e.message;
                 },
             },
             event.what);
  return out;
}

std::string to_json_line(const Event& event) {
  return to_json(event).dump() + "\n";
}

Result<Event> event_from_json(const nlohmann::json& json) {
  if (!json.is_object()) return Error{"an event is a JSON object"};
  auto text = [&](const char* name) {
    auto it = json.find(name);
    return it != json.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Event event;
  auto seq = json.find("seq");
  auto ms = json.find("unix_ms");
  if (seq == json.end() || !seq->is_number_unsigned() || ms == json.end() ||
      !ms->is_number_integer())
    return Error{"an event needs seq and unix_ms"};
  event.seq = seq->get<uint64_t>();
  event.unix_ms = ms->get<int64_t>();
  const std::string kind = text("kind");
  if (kind == "vrrp") {
    event.what = VrrpTransitionEvent{.instance = text("instance"),
                                     .from = text("from"),
                                     .to = text("to"),
                                     .reason = text("reason")};
  } else if (kind == "health") {
    event.what = HealthEvent{.virtual_server = text("virtual_server"),
                             .real_server = text("real_server"),
                             .checker = text("checker"),
                             .up = text("state") == "up",
                             .reason = text("reason"),
                             .detail = text("detail")};
  } else if (kind == "override") {
    OverrideEvent e{.action = text("action"),
                    .virtual_server = text("virtual_server"),
                    .real_server = text("real_server"),
                    .reason = text("reason"),
                    .uid = json.value("uid", uint32_t{0}),
                    .pid = json.value("pid", int32_t{0})};
    if (auto it = json.find("weight"); it != json.end() && it->is_number_unsigned())
      e.weight = it->get<uint32_t>();
    if (auto it = json.find("for_seconds"); it != json.end() && it->is_number_integer())
      e.for_seconds = it->get<int64_t>();
    // A vigild before `change` sent operators' changes only.
    e.change = text("change");
    if (e.change.empty())
      e.change = std::string(e.action == "ready" ? kOverrideCleared : kOverrideSet);
    e.override_kind = text("override_kind");
    if (e.override_kind.empty() && e.action != "ready") e.override_kind = e.action;
    e.detail = text("detail");
    event.what = std::move(e);
  } else if (kind == "reload") {
    event.what = ReloadEvent{.ok = text("result") == "ok",
                             .by = text("by"),
                             .errors = json.value("errors", size_t{0}),
                             .message = text("message")};
  } else {
    return Error{"unknown event kind '" + kind + "'"};
  }
  return event;
}

std::string render_event_text(const Event& event) {
  const std::string details = std::visit(
      Overloaded{
          [](const VrrpTransitionEvent& e) {
            return fmt::format("{}: {} -> {} ({})", e.instance, e.from, e.to, e.reason);
          },
          [](const HealthEvent& e) {
            return fmt::format("{} {}: {} {} ({}{}{})", e.virtual_server, e.real_server, e.checker,
                               e.up ? "up" : "down", e.reason, e.detail.empty() ? "" : ": ",
                               e.detail);
          },
          [](const OverrideEvent& e) {
            const std::string_view vs = e.virtual_server.empty()
                                            ? std::string_view("*")
                                            : std::string_view(e.virtual_server);
            const std::string reason = e.reason.empty() ? "" : ": " + e.reason;
            if (e.change.empty() || e.change == kOverrideSet || e.change == kOverrideCleared) {
              std::string what = e.action;
              if (e.weight) what += fmt::format(" {}", *e.weight);
              if (e.for_seconds) what += fmt::format(" for {}s", *e.for_seconds);
              return fmt::format("{} {}: {} by uid {} pid {}{}", vs, e.real_server, what, e.uid,
                                 e.pid, reason);
            }
            // vigild's own change: "drain expired (set by uid 0 pid 4242: kernel upgrade)".
            std::string what = e.override_kind;
            if (e.weight) what += fmt::format(" {}", *e.weight);
            return fmt::format("{} {}: {} {}{}{} (set by uid {} pid {}{})", vs, e.real_server, what,
                               e.change, e.detail.empty() ? "" : ": ", e.detail, e.uid, e.pid,
                               reason);
          },
          [](const ReloadEvent& e) {
            if (e.ok) return fmt::format("applied ({})", e.by);
            return fmt::format(
                "refused ({}): {}", e.by,
                e.message.empty() ? fmt::format("{} error(s)", e.errors) : e.message);
          },
      },
      event.what);
  return fmt::format("{} {:<8} {}\n", format_utc_milliseconds(event.unix_ms),
                     event_kind(event.what), details);
}

std::string heartbeat_line(uint64_t last_delivered_seq, int64_t unix_ms) {
  return nlohmann::json({{"kind", std::string(kHeartbeatKind)},
                         {"since", last_delivered_seq},
                         {"unix_ms", unix_ms},
                         {"time", format_utc_milliseconds(unix_ms)}})
             .dump() +
         "\n";
}

bool is_heartbeat(const nlohmann::json& json) {
  if (!json.is_object()) return false;
  auto kind = json.find("kind");
  return kind != json.end() && kind->is_string() && kind->get<std::string>() == kHeartbeatKind;
}

std::string lost_line(uint64_t last_delivered_seq, std::string_view why) {
  return nlohmann::json(
             {{"lost", true}, {"since", last_delivered_seq}, {"error", std::string(why)}})
             .dump() +
         "\n";
}

EventJournal::EventJournal(Clock clock, size_t capacity)
    : clock_(std::move(clock)), capacity_(capacity == 0 ? 1 : capacity) {}

const Event& EventJournal::record(EventPayload what) {
  if (events_.size() == capacity_) events_.pop_front();
  events_.push_back(Event{.seq = next_seq_++, .unix_ms = clock_(), .what = std::move(what)});
  if (listener_) listener_(events_.back());
  return events_.back();
}

std::vector<Event> EventJournal::since(uint64_t after) const {
  std::vector<Event> out;
  for (const auto& event : events_) {
    if (event.seq > after) out.push_back(event);
  }
  return out;
}

}  // namespace vigil::api
