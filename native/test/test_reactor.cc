// Native unit test for the reactor backends (io_uring when the kernel allows it, epoll):
// file write/sync/read, frames over a socket pair of listen/accept/connect, injected faults,
// and close cancelling a parked accept.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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

// A listener and a connected pair on it (client, accepted peer), all through the reactor.
struct Pair {
  int srv, cli, peer;
};
Pair connected_pair(Harness& h) {
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
  return {srv, cli, peer};
}

void sockets(Harness& h) {
  const auto [srv, cli, peer] = connected_pair(h);
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

// The inline path: frame ops that need no wait finish on the submitting thread (no hand-off);
// a receive with nothing to read goes to the reactor thread, and the one behind it follows it.
void inline_frames(Harness& h) {
  const auto [srv, cli, peer] = connected_pair(h);
  static char bodies[3][8] = {"first", "second", "third"};
  auto send = [&](int i) {
    Op* s = make(OP_SEND_FRAME, cli);
    s->iov = {{bodies[i], 6}};
    s->seq = ++h.seq;
    return s;
  };
  auto recv = [&] {
    Op* r = make(OP_RECV_FRAME, peer);
    r->arg = 1024;
    r->seq = ++h.seq;
    return r;
  };
  const uint64_t handoffs = h.r->handoffs();
  std::vector<Op*> batch{send(0), recv(), send(1), recv()};
  std::vector<cep::Completion> here;
  h.r->submit(batch, &here);
  expect(here.size() == 4 && h.r->handoffs() == handoffs, "an echo batch finishes inline", static_cast<long long>(here.size()));
  expect(h.r->inline_done() == 4, "inline ops counted", static_cast<long long>(h.r->inline_done()));
  // Sends joined into one sendmsg finish together: by sequence, they interleave with the receives.
  std::sort(here.begin(), here.end(), [](const cep::Completion& x, const cep::Completion& y) { return x.seq < y.seq; });
  bool in_order = here.size() == 4;
  for (size_t i = 0; in_order && i < 4; i++) {
    if (i % 2 == 0) in_order = here[i].result == 6;
    else in_order = here[i].length == 6 && std::memcmp(here[i].data.get(), bodies[i / 2], 6) == 0;
  }
  expect(in_order, "inline sends and receives, each frame intact");
  // Nothing to read: both receives go to the reactor thread (the second behind the first).
  std::vector<Op*> waits{recv(), recv()};
  const uint64_t first = waits[0]->seq, second = waits[1]->seq;
  here.clear();
  h.r->submit(waits, &here);
  expect(here.empty() && h.r->handoffs() == handoffs + 1, "receives that must wait are handed over");
  std::vector<Op*> one{send(2)};
  h.r->submit(one, &here);
  expect(here.size() == 1 && here[0].result == 6, "a send on the other direction still runs inline");
  one = {send(0)};
  h.r->submit(one, &here);
  cep::Completion a = h.wait(first), b = h.wait(second);
  expect(a.length == 6 && std::memcmp(a.data.get(), bodies[2], 6) == 0, "the handed-over receive gets the next frame");
  expect(b.length == 6 && std::memcmp(b.data.get(), bodies[0], 6) == 0, "the receive behind it gets the one after");
  h.wait(h.submit(make(OP_CLOSE, cli)));
  h.wait(h.submit(make(OP_CLOSE, peer)));
  h.wait(h.submit(make(OP_CLOSE, srv)));
}

}  // namespace

int main() {
  for (Kind k : {Kind::Uring, Kind::Epoll}) {
    Harness h;
    if (!h.start(k)) continue;
    files(h);
    inline_frames(h);
    sockets(h);  // ends by closing the reactor
  }
  std::printf("reactor: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
