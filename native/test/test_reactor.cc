// Native unit test for the reactor backends (io_uring when the kernel allows it, epoll):
// file write/sync/read, frames over a socket pair of listen/accept/connect, injected faults,
// and close cancelling a parked accept.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "../reactor/reactor.h"

using namespace cep::reactor;

namespace {

int passed = 0, failed = 0;

void expect(bool ok, const char* what, long long detail = 0) {
  if (ok) {
    passed++;
  } else {
    failed++;
    std::printf("FAIL: %s (%lld)\n", what, detail);
  }
}

// Collects completions by seq, waiting on the sink's wake.
struct Harness {
  std::mutex m;
  std::condition_variable cv;
  std::map<uint64_t, cep::Completion> got;
  std::unique_ptr<Reactor> r;

  bool start(Kind kind) {
    std::string why;
    r = create(kind, 64, [this] { cv.notify_all(); }, why);
    if (!r) std::printf("skip %s: %s\n", kind == Kind::Uring ? "uring" : "epoll", why.c_str());
    return r != nullptr;
  }
  uint64_t seq = 0;
  uint64_t submit(Op* op) {
    op->seq = ++seq;
    std::vector<Op*> v{op};
    r->submit(v);  // the reactor owns (and may already have freed) the op
    return seq;
  }
  cep::Completion wait(uint64_t s) {
    std::unique_lock<std::mutex> lock(m);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!got.count(s)) {
      for (auto& c : r->take()) got[c.seq] = std::move(c);
      if (got.count(s)) break;
      if (cv.wait_until(lock, deadline) == std::cv_status::timeout) {
        for (auto& c : r->take()) got[c.seq] = std::move(c);
        if (!got.count(s)) {
          cep::Completion none;
          none.result = -99999;
          return none;
        }
      }
    }
    cep::Completion c = std::move(got[s]);
    got.erase(s);
    return c;
  }
};

Op* make(int code, int fd = -1) {
  Op* op = new Op();
  op->code = code;
  op->fd = fd;
  return op;
}

void files(Harness& h) {
  char path[] = "/tmp/cep-reactor-test-XXXXXX";
  const int tmp = mkstemp(path);
  ::close(tmp);
  Op* open = make(OP_OPEN);
  open->path = path;
  open->arg = O_RDWR | O_TRUNC;
  const int fd = static_cast<int>(h.wait(h.submit(open)).result);
  expect(fd >= 0, "open", fd);
  static char a[] = "hello ", b[] = "world";
  Op* w = make(OP_WRITE_SYNC, fd);
  w->iov = {{a, 6}, {b, 5}};
  w->arg = 1;
  long long r0 = h.wait(h.submit(w)).result;
  expect(r0 == 11, "write+sync", r0);
  char back[16] = {};
  Op* rd = make(OP_READ, fd);
  rd->offset = 0;
  rd->iov = {{back, sizeof back}};
  r0 = h.wait(h.submit(rd)).result;
  expect(r0 == 11 && std::memcmp(back, "hello world", 11) == 0, "read back", r0);
  h.r->inject_fault(S_FSYNC, EIO, 1);
  Op* f = make(OP_FSYNC, fd);
  long long r = h.wait(h.submit(f)).result;
  expect(r == -EIO, "injected fsync fault", r);
  r = h.wait(h.submit(make(OP_FSYNC, fd))).result;
  expect(r == 0, "fault used up", r);
  r = h.wait(h.submit(make(OP_CLOSE, fd))).result;
  expect(r == 0, "close", r);
  r = h.wait(h.submit(make(OP_NOP))).result;
  expect(r == 0, "nop", r);
  unlink(path);
}

void sockets(Harness& h) {
  Op* l = make(OP_LISTEN);
  l->path = "127.0.0.1";
  l->offset = 0;
  const int srv = static_cast<int>(h.wait(h.submit(l)).result);
  expect(srv >= 0, "listen", srv);
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  getsockname(srv, reinterpret_cast<sockaddr*>(&sa), &len);
  const uint64_t acc = h.submit(make(OP_ACCEPT, srv));
  Op* c = make(OP_CONNECT);
  c->path = "127.0.0.1";
  c->offset = ntohs(sa.sin_port);
  const int cli = static_cast<int>(h.wait(h.submit(c)).result);
  const int peer = static_cast<int>(h.wait(acc).result);
  expect(cli >= 0 && peer >= 0, "connect + accept");
  static char body[] = "frame body";
  Op* s = make(OP_SEND_FRAME, cli);
  s->iov = {{body, 10}};
  const uint64_t sent = h.submit(s);
  Op* rv = make(OP_RECV_FRAME, peer);
  rv->arg = 1024;
  cep::Completion got = h.wait(h.submit(rv));
  expect(h.wait(sent).result == 10, "send frame");
  expect(got.result == 10 && got.data && std::memcmp(got.data.get(), body, 10) == 0, "recv frame");
  expect(h.wait(h.submit(make(OP_CLOSE, cli))).result == 0, "close client");
  Op* eof = make(OP_RECV_FRAME, peer);
  eof->arg = 1024;
  cep::Completion e = h.wait(h.submit(eof));
  expect(e.result == 0 && (e.flags & cep::COMPLETION_EOF), "eof at frame boundary");
  h.wait(h.submit(make(OP_CLOSE, peer)));
  // A parked accept ends with ECANCELED on close.
  const uint64_t parked = h.submit(make(OP_ACCEPT, srv));
  usleep(20000);
  h.r->close();
  expect(h.wait(parked).result == -ECANCELED, "close cancels a parked accept");
  ::close(srv);
}

}  // namespace

int main() {
  for (Kind k : {Kind::Uring, Kind::Epoll}) {
    Harness h;
    if (!h.start(k)) continue;
    files(h);
    sockets(h);
  }
  std::printf("reactor: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
