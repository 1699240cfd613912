// One reactor operation and its state machine. An op is a short sequence of primitive I/O
// steps (open, read, writev, fsync, accept, connect, send, recv...). Backends only execute
// steps; the op decides what the next step is from each step's result. Ops are touched by one
// thread at a time: the reactor thread, or a file worker while it runs a step.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cep::reactor {

// Operation codes (src/async/ops.ts mirrors these numbers).
enum OpCode : int {
  OP_NOP = 0,
  OP_OPEN = 1,
  OP_READ = 2,
  OP_WRITE = 3,
  OP_FSYNC = 4,
  OP_CLOSE = 5,
  OP_WRITE_SYNC = 6,
  OP_LISTEN = 7,
  OP_ACCEPT = 8,
  OP_CONNECT = 9,
  OP_SEND_FRAME = 10,
  OP_RECV_FRAME = 11,
  OP_COUNT = 12,
};

// Primitive steps; also the fault-injection classes (a fault makes the next N steps of one
// kind fail with an errno without touching the kernel).
enum Step : int {
  S_NONE = 0,
  S_NOP,
  S_OPEN,
  S_READ,
  S_WRITEV,
  S_FSYNC,
  S_CLOSE,
  S_LISTEN,
  S_ACCEPT,
  S_CONNECT,
  S_SEND,
  S_RECV,
  S_COUNT,
};

constexpr int kMaxIov = 1024;      // iovecs handed to one writev step (IOV_MAX)
constexpr uint32_t kFrameHeader = 4;  // big-endian u32 body length

struct Op {
  uint64_t seq = 0;
  int code = OP_NOP;
  int fd = -1;
  int64_t offset = -1;  // -1: the file position (append for O_APPEND files)
  int arg = 0;          // open flags | datasync bit | max frame | backlog
  int arg2 = 0;         // open mode | address family (0 tcp, 1 unix)
  std::string path;     // open path, host text, or unix socket path

  std::vector<iovec> iov;  // caller buffers (kept alive by the JS side until released)
  size_t total = 0;        // bytes to transfer
  size_t done = 0;         // bytes transferred so far
  uint8_t header[kFrameHeader] = {0, 0, 0, 0};
  std::unique_ptr<uint8_t[]> body;
  uint32_t body_len = 0;

  msghdr msg{};  // io_uring SENDMSG
  sockaddr_storage addr{};
  socklen_t addr_len = 0;

  int phase = 0;
  // The current step.
  Step step = S_NONE;
  iovec one_iov{};             // the single buffer of read / recv steps
  iovec* step_iov = &one_iov;  // into `iov` for writes (consumed in place as bytes go out)
  int step_iovcnt = 0;
  size_t iov_at = 0;           // first entry of `iov` not fully written

  Op() = default;
  Op(const Op&) = delete;  // step_iov may point into the op itself
  Op& operator=(const Op&) = delete;

  int64_t result = 0;
  uint32_t flags = 0;  // COMPLETION_* bits for the JS side

  // Sets up the first step; false when the op finished at once (bad arguments: see `result`).
  bool begin();
  // Feeds a step's result (>= 0 or -errno); true when another step follows.
  bool advance(int64_t res);
  // Steps that wait on a peer indefinitely (cancelled on close rather than awaited).
  bool waits_on_peer() const { return step == S_ACCEPT || step == S_RECV || step == S_CONNECT || step == S_SEND; }
  // Frames on one socket go one at a time per direction, in submission order; the key of
  // that queue, or -1 for ops that need no ordering.
  int64_t stream_key() const {
    if (code == OP_SEND_FRAME) return int64_t(fd) * 2;
    if (code == OP_RECV_FRAME) return int64_t(fd) * 2 + 1;
    return -1;
  }

 private:
  void fill_write_step();
  void consume_written(size_t n);
  void fill_recv_step();
};

// Positional offset of the current read/write step, or -1 for the file position.
int64_t step_offset(const Op& op);
// Executes a step with blocking or non-blocking syscalls (the epoll backend and file workers;
// the io_uring backend maps steps to SQEs instead). Returns the result or -errno.
int64_t run_step_sync(Op& op);
// Creates the listening socket for OP_LISTEN (or the socket for OP_CONNECT); -errno on failure.
int open_stream_socket(Op& op, bool listen);
// Parses the address of an OP_LISTEN / OP_CONNECT op (numeric IPv4/IPv6 host or unix path).
bool parse_address(Op& op);

}  // namespace cep::reactor
