#include "event/fd_watcher.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <string>

#include "event/event_loop.h"

namespace vigil::event {
namespace {

constexpr Duration kBound = 5s;

class Pipe {
 public:
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    close(read_end);
    close(write_end);
  }
  void write_text(const std::string& text) const {
    ASSERT_EQ(write(write_end, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  std::string drain() const {
    std::string out;
    std::array<char, 256> buffer{};
    ssize_t n;
    while ((n = read(read_end, buffer.data(), buffer.size())) > 0)
      out.append(buffer.data(), n);
    return out;
  }
  int read_end = -1;
  int write_end = -1;
};

TEST(FdWatcher, CallsBackWhenAPipeBecomesReadable) {
  EventLoop loop;
  Pipe pipe;
  auto watcher = FdWatcher::create(loop, pipe.read_end);
  ASSERT_TRUE(watcher.ok()) << watcher.error().message;
  std::string received;
  (*watcher)->on_readable([&] { received += pipe.drain(); });
  loop.scheduler().call_after(2ms, [&] { pipe.write_text("one"); });
  ASSERT_TRUE(loop.run_until([&] { return received == "one"; }, kBound));
  pipe.write_text("two");
  ASSERT_TRUE(loop.run_until([&] { return received == "onetwo"; }, kBound));
  EXPECT_EQ((*watcher)->fd(), pipe.read_end);
}

TEST(FdWatcher, SeesDataThatArrivedBeforeWatchingStarted) {
  EventLoop loop;
  Pipe pipe;
  pipe.write_text("early");
  auto watcher = FdWatcher::create(loop, pipe.read_end);
  ASSERT_TRUE(watcher.ok());
  std::string received;
  (*watcher)->on_readable([&] { received += pipe.drain(); });
  EXPECT_TRUE(loop.run_until([&] { return received == "early"; }, kBound));
}

TEST(FdWatcher, IsLevelTriggeredWhileDataIsLeft) {
  EventLoop loop;
  Pipe pipe;
  auto watcher = FdWatcher::create(loop, pipe.read_end);
  ASSERT_TRUE(watcher.ok());
  int calls = 0;
  (*watcher)->on_readable([&] { ++calls; });  // never reads
  pipe.write_text("x");
  EXPECT_TRUE(loop.run_until([&] { return calls >= 3; }, kBound));
}

TEST(FdWatcher, StopsWhenTheCallbackIsCleared) {
  EventLoop loop;
  Pipe pipe;
  auto watcher = FdWatcher::create(loop, pipe.read_end);
  ASSERT_TRUE(watcher.ok());
  int calls = 0;
  (*watcher)->on_readable([&] {
    ++calls;
    (*watcher)->on_readable(nullptr);
  });
  pipe.write_text("x");
  ASSERT_TRUE(loop.run_until([&] { return calls == 1; }, kBound));
  bool later = false;
  loop.scheduler().call_after(20ms, [&] { later = true; });
  ASSERT_TRUE(loop.run_until([&] { return later; }, kBound));
  EXPECT_EQ(calls, 1);
}

TEST(FdWatcher, CanBeDestroyedInsideItsCallbackAndLeavesTheFdOpen) {
  EventLoop loop;
  Pipe pipe;
  auto created = FdWatcher::create(loop, pipe.read_end);
  ASSERT_TRUE(created.ok());
  std::unique_ptr<FdWatcher> watcher = std::move(*created);
  int calls = 0;
  watcher->on_readable([&] {
    ++calls;
    watcher.reset();
  });
  pipe.write_text("x");
  ASSERT_TRUE(loop.run_until([&] { return watcher == nullptr; }, kBound));
  bool later = false;
  loop.scheduler().call_after(20ms, [&] { later = true; });
  ASSERT_TRUE(loop.run_until([&] { return later; }, kBound));
  EXPECT_EQ(calls, 1);
  EXPECT_NE(fcntl(pipe.read_end, F_GETFD), -1);  // still open: the owner closes it
  EXPECT_EQ(pipe.drain(), "x");
}

TEST(FdWatcher, ReportsWritabilityOfASocket) {
  EventLoop loop;
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  struct Closer {
    int* fds;
    ~Closer() {
      close(fds[0]);
      close(fds[1]);
    }
  } closer{fds};
  auto watcher = FdWatcher::create(loop, fds[0]);
  ASSERT_TRUE(watcher.ok());
  bool writable = false;
  bool readable = false;
  (*watcher)->on_writable([&] {
    writable = true;
    (*watcher)->on_writable(nullptr);
    ASSERT_EQ(write(fds[1], "y", 1), 1);  // now the other direction
  });
  (*watcher)->on_readable([&] {
    readable = true;
    (*watcher)->on_readable(nullptr);
  });
  EXPECT_TRUE(loop.run_until([&] { return writable && readable; }, kBound));
}

TEST(FdWatcher, RejectsAClosedFdAndASecondWatcherOfTheSameFd) {
  EventLoop loop;
  int closed_fd;
  {
    Pipe pipe;
    closed_fd = pipe.read_end;
  }
  EXPECT_FALSE(FdWatcher::create(loop, closed_fd).ok());
  Pipe pipe;
  auto first = FdWatcher::create(loop, pipe.read_end);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(FdWatcher::create(loop, pipe.read_end).ok());
}

}  // namespace
}  // namespace vigil::event
