// A tiny HTTP/1.1 server on 127.0.0.1 for registry-client tests: every request goes to a
// handler that decides the answer, including misbehaviour a real registry would not show on
// demand (dropping the connection mid-body, stalling, lying about digests).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stockade::testing {

struct FakeRequest {
  std::string method;
  std::string path;                            // with the query string
  std::map<std::string, std::string> headers;  // lower-case names
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Misbehaviour: send only this many body bytes, then close (-1: the whole body).
  long truncate_after = -1;
  // Misbehaviour: after the headers and this many body bytes, stop sending for stall_ms.
  long stall_after = -1;
  int stall_ms = 0;
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;
  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();

  int port() const { return port_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<FakeRequest> requests() const;

 private:
  void Serve(int fd);
  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::vector<FakeRequest> requests_;
  std::vector<std::thread> workers_;
};

}  // namespace stockade::testing
