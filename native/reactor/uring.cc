// The io_uring backend, on raw syscalls and <linux/io_uring.h> (no liburing needed at
// install). One ring per reactor; the reactor thread submits SQEs and blocks in
// io_uring_enter for completions. Submissions from the JS thread arrive through an eventfd
// that a standing READ on the ring watches.
#include <linux/io_uring.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <algorithm>
#include <deque>
#include <fcntl.h>
#include <future>

#include "reactor.h"

namespace cep::reactor {
namespace {

int sys_setup(unsigned entries, io_uring_params* p) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, p));
}
int sys_enter(int fd, unsigned submit, unsigned min_complete, unsigned flags) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, submit, min_complete, flags, nullptr, 0));
}

int sys_register(int fd, unsigned opcode, void* arg, unsigned count) {
  return static_cast<int>(syscall(__NR_io_uring_register, fd, opcode, arg, count));
}

// Ring setup flags, tried best first (numbers from <linux/io_uring.h>, spelled out so older
// headers build). One thread submits and reaps, so the ring can be single-issuer with its
// task work deferred to that thread's own io_uring_enter (6.1+): a completion that needs
// task work (a receive the kernel polled for) then runs in the reactor's wait instead of
// interrupting it. Created disabled, the ring is enabled by the reactor thread, which so
// becomes its one issuer. 5.19 kernels get cooperative task running; older ones neither.
constexpr unsigned kSetupRDisabled = 1U << 6, kSetupCoopTaskrun = 1U << 8, kSetupSingleIssuer = 1U << 12,
                   kSetupDeferTaskrun = 1U << 13;
constexpr unsigned kRegisterEnableRings = 12;
constexpr unsigned kSetupTries[] = {kSetupRDisabled | kSetupSingleIssuer | kSetupDeferTaskrun, kSetupCoopTaskrun, 0};

constexpr uint64_t kWakeTag = 1;    // the standing eventfd read
constexpr uint64_t kCancelTag = 2;  // async-cancel requests (their own CQEs are ignored)

class UringReactor final : public Reactor {
 public:
  UringReactor(std::function<void()> wake) : Reactor(Kind::Uring, std::move(wake)) {}
  ~UringReactor() override {
    close();
    if (sq_ptr_ && sq_ptr_ != MAP_FAILED) munmap(sq_ptr_, sq_size_);
    if (cq_ptr_ && cq_ptr_ != MAP_FAILED && cq_ptr_ != sq_ptr_) munmap(cq_ptr_, cq_size_);
    if (sqes_ && sqes_ != MAP_FAILED) munmap(sqes_, sqes_size_);
    if (ring_fd_ >= 0) ::close(ring_fd_);
  }

  bool init(unsigned depth, std::string& why) {
    io_uring_params p;
    for (unsigned flags : kSetupTries) {
      std::memset(&p, 0, sizeof p);
      p.flags = flags;
      ring_fd_ = sys_setup(depth, &p);
      if (ring_fd_ >= 0 || errno != EINVAL) break;  // EINVAL: this kernel lacks a flag
    }
    if (ring_fd_ < 0) {
      why = std::string("io_uring_setup failed: ") + std::strerror(errno);
      return false;
    }
    sq_size_ = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
    cq_size_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    const bool single = p.features & IORING_FEAT_SINGLE_MMAP;
    if (single) sq_size_ = cq_size_ = std::max(sq_size_, cq_size_);
    sq_ptr_ = mmap(nullptr, sq_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd_, IORING_OFF_SQ_RING);
    if (sq_ptr_ == MAP_FAILED) return fail(why, "mmap of the submission ring");
    cq_ptr_ = single ? sq_ptr_
                     : mmap(nullptr, cq_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd_, IORING_OFF_CQ_RING);
    if (cq_ptr_ == MAP_FAILED) return fail(why, "mmap of the completion ring");
    sqes_size_ = p.sq_entries * sizeof(io_uring_sqe);
    sqes_ = static_cast<io_uring_sqe*>(
        mmap(nullptr, sqes_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd_, IORING_OFF_SQES));
    if (sqes_ == MAP_FAILED) return fail(why, "mmap of the SQE array");
    auto* sq = static_cast<uint8_t*>(sq_ptr_);
    auto* cq = static_cast<uint8_t*>(cq_ptr_);
    sq_head_ = reinterpret_cast<std::atomic<uint32_t>*>(sq + p.sq_off.head);
    sq_tail_ = reinterpret_cast<std::atomic<uint32_t>*>(sq + p.sq_off.tail);
    sq_mask_ = *reinterpret_cast<uint32_t*>(sq + p.sq_off.ring_mask);
    sq_array_ = reinterpret_cast<uint32_t*>(sq + p.sq_off.array);
    sq_entries_ = p.sq_entries;
    cq_head_ = reinterpret_cast<std::atomic<uint32_t>*>(cq + p.cq_off.head);
    cq_tail_ = reinterpret_cast<std::atomic<uint32_t>*>(cq + p.cq_off.tail);
    cq_mask_ = *reinterpret_cast<uint32_t*>(cq + p.cq_off.ring_mask);
    cqes_ = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
    cq_entries_ = p.cq_entries;
    sq_local_tail_ = sq_tail_->load(std::memory_order_relaxed);
    setup_flags_ = p.flags;
    if (!open_wake_fd(false, why)) return false;
    start();
    if (const int err = enabled_.get_future().get()) {
      errno = err;
      return fail(why, "enabling the ring on the reactor thread");
    }
    return true;
  }

 protected:
  void loop() override {
    const bool enabled = !(setup_flags_ & kSetupRDisabled) || sys_register(ring_fd_, kRegisterEnableRings, nullptr, 0) == 0;
    enabled_.set_value(enabled ? 0 : errno);
    if (!enabled) return;
    arm_wake();
    bool cancelled_waits = false;
    for (;;) {
      for (Op* op : take_inbox()) {
        if (!op->started && !op->begin()) finish(op);  // started: begun on the submitting thread
        else if (admit(op)) pending_.push_back(op);
      }
      for (std::vector<Op*> more = take_unblocked(); !more.empty(); more = take_unblocked())
        for (Op* op : more) pending_.push_back(op);
      if (stopping() && !cancelled_waits) {
        cancelled_waits = true;
        cancel_waits();
      }
      if (stopping()) cancel_pending_waits();
      while (!pending_.empty() && sq_room() > 0 && ops_in_ring_ + 2 < cq_entries_) {
        Op* op = pending_.front();
        pending_.pop_front();
        if (stopping() && (op->waits_on_peer() || op->stream_key() >= 0)) {  // as cancel_pending_waits
          op->result = -ECANCELED;
          finish(op);
        } else {
          dispatch(op);
        }
        // A frame op finished without the ring (taken from its socket's buffer) lets the next one run.
        for (Op* next : take_unblocked()) pending_.push_back(next);
      }
      flush();
      if (stopping() && ops_in_ring_ == 0 && pending_.empty() && in_flight() == 0) break;
      // Everything the kernel has not consumed yet (a short submit leaves entries behind).
      sq_tail_->store(sq_local_tail_, std::memory_order_release);
      const unsigned to_submit = sq_local_tail_ - sq_head_->load(std::memory_order_acquire);
      int r = sys_enter(ring_fd_, to_submit, 1, IORING_ENTER_GETEVENTS);
      if (r < 0 && errno != EINTR && errno != EBUSY && errno != EAGAIN) break;  // ring unusable
      reap();
    }
    flush();
  }

 private:
  bool fail(std::string& why, const char* what) {
    why = std::string(what) + " failed: " + std::strerror(errno);
    return false;
  }

  unsigned sq_room() const { return sq_entries_ - (sq_local_tail_ - sq_head_->load(std::memory_order_acquire)); }

  io_uring_sqe* next_sqe() {
    const uint32_t index = sq_local_tail_ & sq_mask_;
    io_uring_sqe* sqe = &sqes_[index];
    std::memset(sqe, 0, sizeof *sqe);
    sq_array_[index] = index;
    sq_local_tail_++;
    return sqe;
  }

  void arm_wake() {
    io_uring_sqe* sqe = next_sqe();
    sqe->opcode = IORING_OP_READ;
    sqe->fd = wake_fd_;
    sqe->addr = reinterpret_cast<uint64_t>(&wake_value_);
    sqe->len = sizeof wake_value_;
    sqe->off = static_cast<uint64_t>(-1);
    sqe->user_data = kWakeTag;
  }

  // Runs faulted and synchronous steps at once; queues one SQE for the rest.
  void dispatch(Op* op) {
    if (start_op(op)) {
      finish(op);
      return;
    }
    for (;;) {
      int64_t res;
      if (faulted(*op, res) || sync_step(*op, res)) {
        if (op->advance(res)) continue;
        finish(op);
        return;
      }
      if (op->step == S_CLOSE) cancel_waits_on(op->fd);
      prep(op);
      ops_in_ring_++;
      if (op->waits_on_peer()) waiting_.push_back(op);
      return;
    }
  }

  // Listen (bind + listen never block) and no-ops (nothing to do) run inline, as on epoll.
  static bool sync_step(Op& op, int64_t& res) {
    if (op.step != S_LISTEN && op.step != S_NOP) return false;
    res = run_step_sync(op);
    return true;
  }

  void prep(Op* op) {
    io_uring_sqe* sqe = next_sqe();
    sqe->user_data = reinterpret_cast<uint64_t>(op);
    sqe->fd = op->fd;
    switch (op->step) {
      case S_NOP:
        sqe->opcode = IORING_OP_NOP;
        break;
      case S_OPEN:
        sqe->opcode = IORING_OP_OPENAT;
        sqe->fd = AT_FDCWD;
        sqe->addr = reinterpret_cast<uint64_t>(op->path.c_str());
        sqe->len = static_cast<uint32_t>(op->arg2);
        sqe->open_flags = static_cast<uint32_t>(op->arg | O_CLOEXEC);
        break;
      case S_READ:
        sqe->opcode = IORING_OP_READ;
        sqe->addr = reinterpret_cast<uint64_t>(op->step_iov[0].iov_base);
        sqe->len = static_cast<uint32_t>(op->step_iov[0].iov_len);
        sqe->off = static_cast<uint64_t>(op->offset < 0 ? -1 : op->offset);
        break;
      case S_WRITEV:
        sqe->opcode = IORING_OP_WRITEV;
        sqe->addr = reinterpret_cast<uint64_t>(op->step_iov);
        sqe->len = static_cast<uint32_t>(op->step_iovcnt);
        sqe->off = static_cast<uint64_t>(step_offset(*op));
        break;
      case S_FSYNC:
        sqe->opcode = IORING_OP_FSYNC;
        sqe->fsync_flags = (op->arg & 1) ? IORING_FSYNC_DATASYNC : 0;
        break;
      case S_CLOSE:
        sqe->opcode = IORING_OP_CLOSE;
        break;
      case S_ACCEPT:
        sqe->opcode = IORING_OP_ACCEPT;
        sqe->accept_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
        break;
      case S_CONNECT:
        sqe->opcode = IORING_OP_CONNECT;
        sqe->addr = reinterpret_cast<uint64_t>(&op->addr);
        sqe->off = op->addr_len;
        break;
      case S_SEND:
        std::memset(&op->msg, 0, sizeof op->msg);
        op->msg.msg_iov = op->step_iov;
        op->msg.msg_iovlen = op->step_iovcnt;
        sqe->opcode = IORING_OP_SENDMSG;
        sqe->addr = reinterpret_cast<uint64_t>(&op->msg);
        sqe->msg_flags = MSG_NOSIGNAL;
        break;
      case S_RECV:
        sqe->opcode = IORING_OP_RECV;
        sqe->addr = reinterpret_cast<uint64_t>(op->step_iov[0].iov_base);
        sqe->len = static_cast<uint32_t>(op->step_iov[0].iov_len);
        break;
      default:
        sqe->opcode = IORING_OP_NOP;
        break;
    }
  }

  void reap() {
    uint32_t head = cq_head_->load(std::memory_order_relaxed);
    const uint32_t tail = cq_tail_->load(std::memory_order_acquire);
    bool rearm = false;
    std::vector<std::pair<Op*, int64_t>> results;
    for (; head != tail; head++) {
      const io_uring_cqe& cqe = cqes_[head & cq_mask_];
      if (cqe.user_data == kWakeTag) {
        rearm = true;
      } else if (cqe.user_data != kCancelTag) {
        results.emplace_back(reinterpret_cast<Op*>(cqe.user_data), cqe.res);
      }
    }
    cq_head_->store(head, std::memory_order_release);
    if (rearm) arm_wake();
    for (auto& [op, res] : results) {
      ops_in_ring_--;
      if (op->waits_on_peer()) forget_wait(op);
      if (op->cancelled) {  // its socket was closed under it: what arrived counts, nothing is retried
        if (res < 0 || op->advance(res)) op->result = -ECANCELED;
        finish(op);
        continue;
      }
      if (res == -EINTR || (res == -EAGAIN && op->waits_on_peer())) {
        pending_.push_front(op);  // retry the same step
        continue;
      }
      if (op->advance(res)) {
        pending_.push_front(op);
      } else {
        finish(op);
      }
    }
  }

  void forget_wait(Op* op) {
    for (size_t i = 0; i < waiting_.size(); i++) {
      if (waiting_[i] == op) {
        waiting_[i] = waiting_.back();
        waiting_.pop_back();
        return;
      }
    }
  }

  // Close: ops parked on a peer (accept, recv, connect) are cancelled rather than awaited.
  void cancel_waits() {
    for (Op* op : waiting_) cancel(op);
  }

  // Closing a socket that ops wait on in the ring: they end with -ECANCELED (as on epoll)
  // instead of holding the socket open until the peer acts.
  void cancel_waits_on(int fd) {
    for (Op* op : waiting_)
      if (op->fd == fd) cancel(op);
  }

  void cancel(Op* op) {
    if (op->cancelled || sq_room() <= 1) return;  // one entry stays for the step being queued
    op->cancelled = true;
    io_uring_sqe* sqe = next_sqe();
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->addr = reinterpret_cast<uint64_t>(op);
    sqe->user_data = kCancelTag;
  }

  // While stopping, peer-waiting ops that have not reached the ring end at once (and so
  // does every frame op queued behind them).
  void cancel_pending_waits() {
    for (bool again = true; again;) {
      again = false;
      for (auto it = pending_.begin(); it != pending_.end();) {
        if ((*it)->waits_on_peer() || (*it)->stream_key() >= 0) {
          (*it)->result = -ECANCELED;
          finish(*it);
          it = pending_.erase(it);
        } else {
          ++it;
        }
      }
      for (Op* op : take_unblocked()) {
        pending_.push_back(op);
        again = true;
      }
    }
  }

  int ring_fd_ = -1;
  unsigned setup_flags_ = 0;
  std::promise<int> enabled_;  // the reactor thread's errno from enabling the ring (0: running)
  uint64_t wake_value_ = 0;
  void* sq_ptr_ = nullptr;
  void* cq_ptr_ = nullptr;
  size_t sq_size_ = 0, cq_size_ = 0, sqes_size_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  std::atomic<uint32_t>* sq_head_ = nullptr;
  std::atomic<uint32_t>* sq_tail_ = nullptr;
  uint32_t* sq_array_ = nullptr;
  uint32_t sq_mask_ = 0, sq_entries_ = 0, sq_local_tail_ = 0;
  std::atomic<uint32_t>* cq_head_ = nullptr;
  std::atomic<uint32_t>* cq_tail_ = nullptr;
  io_uring_cqe* cqes_ = nullptr;
  uint32_t cq_mask_ = 0, cq_entries_ = 0;
  unsigned ops_in_ring_ = 0;
  std::deque<Op*> pending_;
  std::vector<Op*> waiting_;
};

}  // namespace

bool uring_available(std::string& why) {
  io_uring_params p;
  std::memset(&p, 0, sizeof p);
  const int fd = sys_setup(2, &p);
  if (fd < 0) {
    why = std::string("io_uring_setup: ") + std::strerror(errno);
    return false;
  }
  ::close(fd);
  // Ops used here need 5.6+ (OPENAT, CLOSE, SEND/RECV, ACCEPT, CONNECT); FEAT_NODROP is 5.5.
  if (!(p.features & IORING_FEAT_NODROP) || !(p.features & IORING_FEAT_RW_CUR_POS)) {
    why = "io_uring too old (needs Linux 5.6+ features)";
    return false;
  }
  return true;
}

std::unique_ptr<Reactor> create_uring(unsigned depth, std::function<void()> wake, std::string& why) {
  if (!uring_available(why)) return nullptr;
  auto r = std::make_unique<UringReactor>(std::move(wake));
  if (!r->init(depth, why)) return nullptr;
  return r;
}

}  // namespace cep::reactor
