// Records script requests; the test decides when and how each one ends.
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

#include "event/script_runner.h"

namespace vigil::testing {

class FakeScriptRunner final : public event::ScriptRunner {
 public:
  struct Started {
    event::ScriptRequest request;
    event::ScriptCallback done;
    bool finished = false;
  };

  void run(event::ScriptRequest request, event::ScriptCallback done) override {
    started_.push_back({std::move(request), std::move(done)});
  }
  // Only counted: the test ends the scripts with finish() as a SIGTERM would.
  void terminate_running() override { ++terminate_requests_; }
  [[nodiscard]] bool idle() const override { return unfinished() == 0; }
  [[nodiscard]] int terminate_requests() const { return terminate_requests_; }

  [[nodiscard]] const std::vector<Started>& started() const { return started_; }
  [[nodiscard]] size_t unfinished() const {
    size_t count = 0;
    for (const Started& s : started_)
      count += s.finished ? 0 : 1;
    return count;
  }

  // Ends request `index` with `result`, calling its callback now.
  void finish(size_t index, const event::ScriptResult& result) {
    assert(index < started_.size() && !started_[index].finished);
    started_[index].finished = true;
    auto done = started_[index].done;  // the callback may start more scripts
    done(result);
  }
  void finish_with_exit_code(size_t index, int exit_code) {
    event::ScriptResult result;
    result.outcome = event::ScriptResult::Outcome::kExited;
    result.exit_code = exit_code;
    finish(index, result);
  }

 private:
  std::vector<Started> started_;
  int terminate_requests_ = 0;
};

}  // namespace vigil::testing
