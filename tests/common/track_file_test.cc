// track_file values as keepalived 2.2.7 reads them: strtol(buf, NULL, 0) over at most 127 bytes.
#include "common/track_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace vigil {
namespace {

struct ValueCase {
  std::string contents;
  std::optional<int64_t> value;  // none: ignored, the last value stays
};

TEST(TrackFileValue, StrtolBaseZeroOrIgnored) {
  const ValueCase cases[] = {
      {"5\n", 5},
      {"-3\n", -3},
      {"  42 trailing words\n", 42},
      {"+7", 7},
      {"", 0},
      {"\n", 0},
      {"abc", 0},
      {"12abc", 12},
      {"\t-254\n", -254},
      {"\v\f 9", 9},  // every isspace() blank
      {"0x10", 16},   // base 0: hex
      {"0X1f\n", 31},
      {"010", 8},  // base 0: a leading zero is octal
      {"09", 0},   // octal "0", then junk
      {"0x", 0},   // "0", the x is junk
      {"-0x10", -16},
      {"2147483647", 2147483647},
      {"2147483648", 2147483648},  // INT32_MAX + 1 is still taken (keepalived's bound)
      {"2147483649", std::nullopt},
      {"-2147483648", -2147483648},
      {"-2147483649", std::nullopt},
      {"99999999999999999999999", std::nullopt},  // ERANGE
  };
  for (const auto& c : cases)
    EXPECT_EQ(parse_track_file_value(c.contents), c.value) << '"' << c.contents << '"';
}

TEST(TrackFileValue, OnlyTheFirst127BytesCount) {
  // A number that starts at byte 127 is never seen: 127 blanks, then digits.
  EXPECT_EQ(parse_track_file_value(std::string(127, ' ') + "5"), 0);
  EXPECT_EQ(parse_track_file_value(std::string(126, ' ') + "57"), 5);
}

TEST(TrackFileValue, MissingFileIsZero) {
  EXPECT_EQ(read_track_file_value("/nonexistent/vigil/track_file"), 0);
}

TEST(TrackFileValue, ReadsTheFile) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("vigil-track-file-value-" + std::to_string(::getpid()));
  std::ofstream(path) << "0x20\n";
  EXPECT_EQ(read_track_file_value(path), 32);
  std::ofstream(path, std::ios::trunc) << "";
  EXPECT_EQ(read_track_file_value(path), 0);
  std::filesystem::remove(path);
}

// init_file [VALUE] [overwrite]: keepalived writes VALUE at startup when the file is missing,
// or always with overwrite.
TEST(TrackFileInit, Table) {
  EXPECT_EQ(track_file_init_contents(std::nullopt, false, false), std::nullopt);
  EXPECT_EQ(track_file_init_contents(std::nullopt, true, true), std::nullopt);
  EXPECT_EQ(track_file_init_contents(0, false, false), "0\n");
  EXPECT_EQ(track_file_init_contents(7, false, true), std::nullopt);
  EXPECT_EQ(track_file_init_contents(7, true, true), "7\n");
  EXPECT_EQ(track_file_init_contents(-2, true, false), "-2\n");
}

}  // namespace
}  // namespace vigil
