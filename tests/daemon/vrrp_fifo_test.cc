#include "daemon/vrrp_fifo.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>

namespace vigil::daemon {
namespace {

// keepalived's lines, as its man page and sample_notify_fifo.sh read them.
TEST(NotifyFifoLine, MatchesKeepalived) {
  EXPECT_EQ(fifo_instance_line("VI_1", "MASTER", 100), "INSTANCE \"VI_1\" MASTER 100\n");
  EXPECT_EQ(fifo_instance_line("VI_1", "STOP", 90), "INSTANCE \"VI_1\" STOP 90\n");
  EXPECT_EQ(fifo_instance_line("VI_1", "MASTER_RX_LOWER_PRI", 150),
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n");
  EXPECT_EQ(fifo_group_line("VG_1", "BACKUP"), "GROUP \"VG_1\" BACKUP 0\n");
}

class NotifyFifoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil-fifo-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string read_all_available(int fd) {
    std::string out;
    std::array<char, 4096> buffer{};
    for (int i = 0; i < 16; ++i) {
      const ssize_t got = ::read(fd, buffer.data(), buffer.size());
      if (got <= 0) break;
      out.append(buffer.data(), static_cast<size_t>(got));
    }
    return out;
  }

  std::filesystem::path dir_;
};

TEST_F(NotifyFifoTest, CreatesTheFifoKeepsLinesUntilAReaderComesAndRemovesWhatItCreated) {
  const std::string path = dir_ / "vrrp.fifo";
  {
    auto fifo = NotifyFifo::open(path);
    ASSERT_TRUE(fifo) << fifo.error().message;
    EXPECT_TRUE(fifo->created());
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    // No reader yet: the line waits in the pipe instead of being dropped.
    EXPECT_TRUE(fifo->write(fifo_instance_line("VI_1", "BACKUP", 100)));
    const int reader = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ASSERT_GE(reader, 0);
    EXPECT_TRUE(fifo->write(fifo_instance_line("VI_1", "MASTER", 100)));
    EXPECT_EQ(read_all_available(reader),
              "INSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\n");
    ::close(reader);
    EXPECT_EQ(fifo->dropped(), 0U);
  }
  EXPECT_FALSE(std::filesystem::exists(path)) << "created by us, removed by us";
}

TEST_F(NotifyFifoTest, LeavesAFifoItDidNotCreate) {
  const std::string path = dir_ / "existing.fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  {
    auto fifo = NotifyFifo::open(path);
    ASSERT_TRUE(fifo) << fifo.error().message;
    EXPECT_FALSE(fifo->created());
  }
  EXPECT_TRUE(std::filesystem::exists(path));
}

// The reader script may run as script_user: a FIFO we made becomes its; a FIFO that was there
// keeps its owner.
TEST_F(NotifyFifoTest, GivesAFifoItCreatedToTheScriptUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  const std::string made = dir_ / "made.fifo";
  auto fifo = NotifyFifo::open(made);
  ASSERT_TRUE(fifo) << fifo.error().message;
  ASSERT_TRUE(fifo->give_to(12345, 23456));
  struct stat st {};
  ASSERT_EQ(::stat(made.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 12345U);
  EXPECT_EQ(st.st_gid, 23456U);

  const std::string existing = dir_ / "existing.fifo";
  ASSERT_EQ(::mkfifo(existing.c_str(), 0600), 0);
  auto kept = NotifyFifo::open(existing);
  ASSERT_TRUE(kept) << kept.error().message;
  ASSERT_TRUE(kept->give_to(12345, 23456));
  ASSERT_EQ(::stat(existing.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(NotifyFifoTest, RefusesAPathThatIsNotAFifo) {
  const std::string path = dir_ / "regular";
  { std::ofstream(path) << "x"; }
  auto fifo = NotifyFifo::open(path);
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message.find("not a FIFO"), std::string::npos) << fifo.error().message;
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST_F(NotifyFifoTest, AFullPipeDropsAndCountsInsteadOfBlocking) {
  const std::string path = dir_ / "full.fifo";
  auto fifo = NotifyFifo::open(path);
  ASSERT_TRUE(fifo) << fifo.error().message;
  const std::string line = fifo_instance_line("VI_1", "MASTER", 100);
  size_t written = 0;
  // The pipe holds 64 KiB by default: bounded well above that.
  for (int i = 0; i < 100'000 && fifo->dropped() == 0; ++i)
    written += fifo->write(line) ? 1 : 0;
  EXPECT_EQ(fifo->dropped(), 1U);
  EXPECT_GT(written, 100U);
}

}  // namespace
}  // namespace vigil::daemon
