#include "event/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "common/log.h"

namespace vigil::event {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("event");
  return *instance;
}

template <class T>
std::optional<T> parse_number(const char* text) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  T value{};
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

std::string ready_message() {
  return "READY=1";
}

std::string status_message(std::string_view text) {
  std::string message = "STATUS=";
  for (char c : text)
    message += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  return message;
}

std::string reloading_message(std::chrono::microseconds monotonic) {
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic.count());
}

std::string stopping_message() {
  return "STOPPING=1";
}

std::string watchdog_message() {
  return "WATCHDOG=1";
}

std::optional<Duration> watchdog_period(const char* watchdog_usec, const char* watchdog_pid,
                                        pid_t self) {
  const auto usec = parse_number<uint64_t>(watchdog_usec);
  if (!usec || *usec == 0) return std::nullopt;
  if (watchdog_pid != nullptr) {
    const auto pid = parse_number<pid_t>(watchdog_pid);
    if (!pid || *pid != self) return std::nullopt;
  }
  // Half the interval, as sd_watchdog_enabled(3) recommends; at least 1 µs.
  return Duration{std::max<uint64_t>(*usec / 2, 1)};
}

SdNotifier::SdNotifier(std::string socket) : socket_(std::move(socket)) {}

SdNotifier SdNotifier::from_environment() {
  // Read once at start, while vigild has one thread and never changes its environment.
  const char* socket = std::getenv("NOTIFY_SOCKET");  // NOLINT(concurrency-mt-unsafe)
  return SdNotifier(socket != nullptr ? socket : "");
}

Status SdNotifier::send(std::string_view message) {
  if (socket_.empty()) return {};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // '@' names the abstract namespace: a leading NUL, and the length counts exactly the name.
  const bool abstract = socket_.front() == '@';
  if ((socket_.front() != '/' && !abstract) || socket_.size() >= sizeof address.sun_path) {
    return Error{"NOTIFY_SOCKET '" + socket_ + "' is not an absolute or abstract socket name"};
  }
  std::memcpy(address.sun_path, socket_.data(), socket_.size());
  if (abstract) address.sun_path[0] = '\0';
  const auto length =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size() + (abstract ? 0 : 1));
  if (!fd_.valid()) {
    fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd_.valid()) return errno_error("sd_notify socket", errno);
  }
  const ssize_t sent = ::sendto(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&address), length);
  if (sent < 0) return errno_error("sd_notify to " + socket_, errno);
  if (static_cast<size_t>(sent) != message.size()) {
    return Error{"sd_notify to " + socket_ + ": short datagram"};
  }
  return {};
}

Status SdNotifier::reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const std::chrono::microseconds monotonic =
      std::chrono::seconds(now.tv_sec) +
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::nanoseconds(now.tv_nsec));
  return send(reloading_message(monotonic));
}

WatchdogFeeder::WatchdogFeeder(Scheduler& scheduler, Duration period, std::function<bool()> alive,
                               std::function<void()> feed)
    : period_(period), alive_(std::move(alive)), feed_(std::move(feed)), timer_(scheduler) {
  tick();
}

void WatchdogFeeder::tick() {
  if (alive_()) {
    if (withholding_)
      logger().warn("[watchdog] every loop turns again: feeding systemd's watchdog");
    withholding_ = false;
    ++fed_;
    feed_();
  } else {
    if (!withholding_) {
      logger().error(
          "[watchdog] a loop does not turn: systemd's watchdog is not fed (it restarts vigild "
          "when WatchdogSec passes)");
    }
    withholding_ = true;
    ++withheld_;
  }
  timer_.arm_after(period_, [this] { tick(); });
}

}  // namespace vigil::event
