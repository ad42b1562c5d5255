// track_file values: the number in a file that a VRRP instance (track_file) or a real server
// (FILE_CHECK) tracks. keepalived 2.2.7 (trackers/track_file.c process_track_file) reads at most
// 127 bytes and parses them with strtol(buf, NULL, 0): leading blanks, a sign, and decimal, octal
// ("010" is 8) or hex ("0x10" is 16). A missing, unreadable or empty file counts as 0; a number
// out of range (ERANGE, or outside [INT32_MIN, INT32_MAX + 1]) is ignored: the last value stays.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

// keepalived reads no more than this.
inline constexpr size_t kTrackFileReadLimit = 127;

// The value of a file's text (its first kTrackFileReadLimit bytes are looked at); none: out of
// range, ignore it and keep the last value.
std::optional<int64_t> parse_track_file_value(std::string_view contents);
// Reads `path` (without following a FIFO's block: O_NONBLOCK) and parses it; a file that cannot
// be read counts as 0.
std::optional<int64_t> read_track_file_value(const std::string& path);

// init_file [VALUE] [overwrite]: what to write at startup (VALUE and a newline) when the file is
// missing, or always with overwrite; nothing when init_file is not set.
std::optional<std::string> track_file_init_contents(std::optional<int64_t> init_value,
                                                    bool overwrite, bool file_exists);

}  // namespace vigil
