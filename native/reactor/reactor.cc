#include "reactor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cep::reactor {

Reactor::~Reactor() {
  if (wake_fd_ >= 0) ::close(wake_fd_);  // the subclass joined the thread already
}

bool Reactor::open_wake_fd(bool nonblocking, std::string& why) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | (nonblocking ? EFD_NONBLOCK : 0));
  if (wake_fd_ < 0) why = std::string("eventfd failed: ") + std::strerror(errno);
  return wake_fd_ >= 0;
}

void Reactor::notify() {
  handoffs_.fetch_add(1, std::memory_order_relaxed);
  uint64_t one = 1;
  ssize_t r;
  do r = ::write(wake_fd_, &one, sizeof one);
  while (r < 0 && errno == EINTR);
}

void Reactor::start() {
  thread_ = std::thread([this] { loop(); });
}

std::vector<Op*> Reactor::take_inbox() {
  std::vector<Op*> out;
  std::lock_guard<std::mutex> lock(inbox_mutex_);
  out.swap(inbox_);
  return out;
}

void Reactor::inject_fault(int step, int err, int count) {
  if (step <= S_NONE || step >= S_COUNT) return;
  std::lock_guard<std::mutex> lock(fault_mutex_);
  fault_errno_[step] = err;
  fault_count_[step] = err ? count : 0;
  bool any = false;
  for (int i = 0; i < S_COUNT; i++) any |= fault_count_[i] > 0;
  has_faults_.store(any, std::memory_order_release);
}

bool Reactor::faulted(const Op& op, int64_t& res) {
  if (!has_faults_.load(std::memory_order_acquire)) return false;
  std::lock_guard<std::mutex> lock(fault_mutex_);
  if (fault_count_[op.step] <= 0) return false;
  res = -fault_errno_[op.step];
  if (--fault_count_[op.step] == 0) {  // the last one: the inline path may run again
    bool any = false;
    for (int i = 0; i < S_COUNT; i++) any |= fault_count_[i] > 0;
    has_faults_.store(any, std::memory_order_release);
  }
  return true;
}

bool Reactor::admit(Op* op) {
  if (op->code == OP_RECV_FRAME) {
    if (!op->rbuf) op->rbuf = recv_buf(op->fd);
  } else if (op->code == OP_CLOSE) {
    std::lock_guard<std::mutex> lock(rbuf_mutex_);
    rbufs_.erase(op->fd);  // a receive still running keeps its own reference
  }
  const int64_t key = op->stream_key();
  if (key < 0) return true;
  auto& q = streams_[key];
  q.push_back(op);
  return q.size() == 1;
}

std::shared_ptr<RecvBuf> Reactor::recv_buf(int fd) {
  std::lock_guard<std::mutex> lock(rbuf_mutex_);
  auto& b = rbufs_[fd];
  if (!b) b = std::make_shared<RecvBuf>();
  return b;
}

bool Reactor::start_op(Op* op) {
  if (op->started) return false;
  op->started = true;
  if (op->code == OP_RECV_FRAME) return op->recv_buffered();
  if (op->code != OP_SEND_FRAME || op->step != S_SEND) return false;
  auto it = streams_.find(op->stream_key());
  if (it == streams_.end() || it->second.empty() || it->second.front() != op) return false;
  auto& q = it->second;
  size_t k = 1;
  while (k < q.size() && op->joined.size() < kMaxJoinedSends && op->iov.size() + q[k]->iov.size() <= size_t(kMaxIov)) k++;
  if (k == 1) return false;
  for (size_t i = 1; i < k; i++) op->join_send(q[i]);
  q.erase(q.begin() + 1, q.begin() + static_cast<std::ptrdiff_t>(k));
  return false;
}

void Reactor::finish(Op* op) {
  std::vector<Op*> joined = settle_joined(*op);
  const int64_t key = op->stream_key();
  if (key >= 0) {
    auto it = streams_.find(key);
    if (it != streams_.end() && !it->second.empty() && it->second.front() == op) {
      it->second.pop_front();
      if (it->second.empty()) streams_.erase(it);
      else unblocked_.push_back(it->second.front());
    }
  }
  if (op->code == OP_CONNECT && op->result < 0 && op->fd >= 0) ::close(op->fd);  // the socket begin() made
  done_.push_back(completion_of(*op));
  delete op;
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  for (Op* next : joined) finish(next);
}

void Reactor::close() {
  if (closed_) return;
  closed_ = true;
  stop_.store(true, std::memory_order_release);
  notify();
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<Reactor> create(Kind kind, unsigned depth, std::function<void()> wake, std::string& why) {
  return kind == Kind::Uring ? create_uring(depth, std::move(wake), why) : create_epoll(depth, std::move(wake), why);
}

}  // namespace cep::reactor
