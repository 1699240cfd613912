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

#include "../common/completion.h"

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
constexpr size_t kRecvChunk = 64 * 1024;  // a receive reads up to this much (more for a larger frame)
constexpr size_t kMaxJoinedSends = 256;  // frame sends that share one sendmsg

// A socket's receive buffer: one read takes whatever the kernel holds (many frames at once)
// and receive ops parse frames out of it. Shared by the reactor (per socket) and the receive
// op running on it, so a close that races a receive still in the kernel (io_uring) leaves the
// memory alive until that op ends.
struct RecvBuf {
  std::unique_ptr<uint8_t[]> data;
  size_t cap = 0;    // bytes allocated
  size_t start = 0;  // first unparsed byte
  size_t end = 0;    // one past the last received byte
  size_t size() const { return end - start; }
  // Room for at least `need` bytes after `end` (moves unparsed bytes to the front, grows).
  void reserve(size_t need);
};

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
  std::shared_ptr<RecvBuf> rbuf;  // receive frame: the socket's buffer (set when admitted)
  std::vector<Op*> joined;        // send frame: later sends on the socket riding this sendmsg
  size_t own_total = 0;           // send frame: this op's own bytes (header included)
  bool started = false;           // Reactor::start_op ran
  bool cancelled = false;         // io_uring: an async cancel was sent for its SQE

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
  // Receive frame, before a receive step: true when the buffer already holds the whole frame
  // (or a frame above the limit: -EMSGSIZE), so the op is done without a syscall; otherwise
  // points the step at the buffer's free space.
  bool recv_buffered();
  // Send frame, before its first step: appends the bytes of `next` (a send queued behind it on
  // the same socket) to this op's sendmsg; `next` finishes with it.
  void join_send(Op* next);
  // After a joined send finished: the outcome of each joined op (sent in full, or the error).
  int64_t joined_result(size_t offset, const Op& next) const;
  // Bytes of this op's header + body (send frame).
  size_t frame_bytes() const { return own_total; }
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
// An op has ended: gives each send that rode its sendmsg its own outcome (sent in full, or the
// error) and hands those sends back (they have ended too).
std::vector<Op*> settle_joined(Op& op);
// The completion of an ended op (a received frame body moves into it).
Completion completion_of(Op& op);

}  // namespace cep::reactor
