#include "alert/asio_transport.h"

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <string>

#include "event/event_loop.h"

namespace vigil::alert {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// What the pending handlers share with the connection object. The connection's destructor
// clears `handler`, so a handler that runs afterwards (operation_aborted) does nothing.
struct State {
  explicit State(asio::io_context& io) : socket(io) {}
  asio::ip::tcp::socket socket;
  SmtpConnection::Handler* handler = nullptr;
  std::deque<std::string> writes;
  bool writing = false;
  bool closed = false;
  std::array<char, 1024> buffer{};
};

void close_with(const std::shared_ptr<State>& state, std::string error) {
  if (state->closed || state->handler == nullptr) return;
  state->closed = true;
  error_code ignored;
  state->socket.close(ignored);
  state->handler->on_closed(std::move(error));
}

void read_some(const std::shared_ptr<State>& state) {
  state->socket.async_read_some(
      asio::buffer(state->buffer), [state](const error_code& error, size_t bytes) {
        if (state->handler == nullptr || state->closed) return;
        if (bytes > 0) {
          state->handler->on_data(std::string_view(state->buffer.data(), bytes));
          if (state->handler == nullptr || state->closed) return;  // destroyed or ended inside
        }
        if (error == asio::error::eof) return close_with(state, "");
        if (error) return close_with(state, "read: " + error.message());
        read_some(state);
      });
}

void write_next(const std::shared_ptr<State>& state) {
  if (state->writing || state->writes.empty() || state->closed) return;
  state->writing = true;
  asio::async_write(state->socket, asio::buffer(state->writes.front()),
                    [state](const error_code& error, size_t) {
                      state->writing = false;
                      if (state->handler == nullptr || state->closed) return;
                      if (error) return close_with(state, "write: " + error.message());
                      state->writes.pop_front();
                      write_next(state);
                    });
}

class AsioSmtpConnection final : public SmtpConnection {
 public:
  explicit AsioSmtpConnection(std::shared_ptr<State> state) : state_(std::move(state)) {}
  ~AsioSmtpConnection() override {
    state_->handler = nullptr;
    error_code ignored;
    state_->socket.close(ignored);  // pending operations end with operation_aborted
  }
  void write(std::string bytes) override {
    if (state_->closed) return;
    state_->writes.push_back(std::move(bytes));
    write_next(state_);
  }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace

std::unique_ptr<SmtpConnection> AsioSmtpTransport::connect(const IpAddress& address, uint16_t port,
                                                           SmtpConnection::Handler& handler) {
  auto state = std::make_shared<State>(loop_.io_context());
  state->handler = &handler;
  const asio::ip::address ip = asio::ip::make_address(address.to_string());
  state->socket.async_connect(asio::ip::tcp::endpoint(ip, port), [state](const error_code& error) {
    if (state->handler == nullptr || state->closed) return;
    if (error) return close_with(state, "connect: " + error.message());
    state->handler->on_connected();
    if (state->handler == nullptr || state->closed) return;
    read_some(state);
  });
  return std::make_unique<AsioSmtpConnection>(std::move(state));
}

}  // namespace vigil::alert
