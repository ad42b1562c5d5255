#include "common/track_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <limits>

namespace vigil {

std::optional<int64_t> parse_track_file_value(std::string_view contents) {
  // strtol needs a terminated string; keepalived's buffer holds the bytes read and a NUL.
  std::array<char, kTrackFileReadLimit + 1> text{};
  const size_t length = std::min(contents.size(), kTrackFileReadLimit);
  contents.copy(text.data(), length);
  errno = 0;
  const long long value = std::strtoll(text.data(), nullptr, 0);  // NOLINT(google-runtime-int)
  if (errno != 0) return std::nullopt;
  if (value < int64_t{std::numeric_limits<int32_t>::min()} ||
      value > int64_t{std::numeric_limits<int32_t>::max()} + 1)
    return std::nullopt;
  return static_cast<int64_t>(value);
}

std::optional<int64_t> read_track_file_value(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return 0;
  std::array<char, kTrackFileReadLimit> buffer{};
  const ssize_t got = ::read(fd, buffer.data(), buffer.size());
  ::close(fd);
  if (got <= 0) return 0;
  return parse_track_file_value(std::string_view(buffer.data(), static_cast<size_t>(got)));
}

std::optional<std::string> track_file_init_contents(std::optional<int64_t> init_value,
                                                    bool overwrite, bool file_exists) {
  if (!init_value || (file_exists && !overwrite)) return std::nullopt;
  return std::to_string(*init_value) + "\n";
}

}  // namespace vigil
