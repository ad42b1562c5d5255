#include "event/file_watcher.h"

#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "common/track_file.h"
#include "event/event_loop.h"

namespace vigil::event {
namespace {

TEST(FileWatch, SplitsPathIntoWatchedDirectoryAndName) {
  EXPECT_EQ(split_watched_path("/run/vigil/weight"), (WatchedPath{"/run/vigil", "weight"}));
  EXPECT_EQ(split_watched_path("/weight"), (WatchedPath{"/", "weight"}));
  EXPECT_EQ(split_watched_path("weight"), (WatchedPath{".", "weight"}));
}

TEST(FileWatch, WhichEventsRereadTheFile) {
  EXPECT_TRUE(event_rereads_file(IN_CLOSE_WRITE));
  EXPECT_TRUE(event_rereads_file(IN_MOVED_TO));    // an editor's rename over it
  EXPECT_TRUE(event_rereads_file(IN_MOVED_FROM));  // renamed away: gone
  EXPECT_TRUE(event_rereads_file(IN_DELETE));
  EXPECT_TRUE(event_rereads_file(IN_CREATE));
  EXPECT_FALSE(event_rereads_file(IN_MODIFY)) << "a half-written number is not read";
  EXPECT_FALSE(event_rereads_file(IN_OPEN));
  EXPECT_TRUE(event_loses_directory(IN_DELETE_SELF));
  EXPECT_TRUE(event_loses_directory(IN_IGNORED));
  EXPECT_FALSE(event_loses_directory(IN_CLOSE_WRITE));
  const uint32_t mask = watched_directory_mask();
  for (uint32_t bit : {IN_CLOSE_WRITE, IN_MOVED_TO, IN_MOVED_FROM, IN_DELETE, IN_CREATE})
    EXPECT_NE(mask & bit, 0U) << bit;
  EXPECT_EQ(mask & IN_MODIFY, 0U);
}

// ---- the inotify shell, on a real loop, bounded -------------------------------------------------

constexpr Duration kBound = 5s;

class InotifyFileWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil-track-file-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ / "weight";
    auto watcher = InotifyFileWatcher::open(loop_, "[test] file", [this](const std::string& path) {
      ++changes_[path];
      values_[path] = read_track_file_value(path).value_or(-1);
    });
    ASSERT_TRUE(watcher) << watcher.error().message;
    watcher_ = std::move(*watcher);
  }
  void TearDown() override {
    watcher_.reset();
    std::filesystem::remove_all(dir_);
  }

  void write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  }
  // Runs the loop until `path` reads `value` through the callback.
  bool seen(const std::string& path, int64_t value) {
    return loop_.run_until(
        [&] {
          auto it = values_.find(path);
          return it != values_.end() && it->second == value;
        },
        kBound);
  }

  EventLoop loop_{"test"};
  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<InotifyFileWatcher> watcher_;
  std::map<std::string, int> changes_;
  std::map<std::string, int64_t> values_;
};

TEST_F(InotifyFileWatcherTest, FileCreatedLaterWrittenInPlaceReplacedByRenameAndRemoved) {
  ASSERT_TRUE(watcher_->watch({path_}));
  write(path_, "3\n");  // created after the watch started
  ASSERT_TRUE(seen(path_, 3));
  write(path_, "5\n");  // rewritten in place
  ASSERT_TRUE(seen(path_, 5));
  // An editor's save: write a temporary file, rename it over the tracked one.
  write(dir_ / ".weight.swp", "-2\n");
  std::filesystem::rename(dir_ / ".weight.swp", path_);
  ASSERT_TRUE(seen(path_, -2));
  std::filesystem::remove(path_);
  ASSERT_TRUE(seen(path_, 0));
  // Recreated after removal.
  write(path_, "9\n");
  ASSERT_TRUE(seen(path_, 9));
}

TEST_F(InotifyFileWatcherTest, OtherFilesInTheDirectoryDoNotCount) {
  ASSERT_TRUE(watcher_->watch({path_}));
  write(dir_ / "unrelated", "1\n");
  write(path_, "4\n");
  ASSERT_TRUE(seen(path_, 4));
  EXPECT_EQ(changes_.size(), 1U);
  EXPECT_FALSE(changes_.contains((dir_ / "unrelated").string()));
}

TEST_F(InotifyFileWatcherTest, MissingDirectoryIsReportedAndTheRestIsWatched) {
  const std::string lost = (dir_ / "no-such-dir" / "weight").string();
  auto status = watcher_->watch({path_, lost});
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find(lost), std::string::npos) << status.error().message;
  write(path_, "6\n");
  EXPECT_TRUE(seen(path_, 6));
}

TEST_F(InotifyFileWatcherTest, RewatchingDropsPathsNoLongerTracked) {
  ASSERT_TRUE(watcher_->watch({path_}));
  const std::string other = (dir_ / "other").string();
  ASSERT_TRUE(watcher_->watch({other}));
  write(path_, "1\n");
  write(other, "2\n");
  ASSERT_TRUE(seen(other, 2));
  EXPECT_FALSE(changes_.contains(path_));
}

}  // namespace
}  // namespace vigil::event
