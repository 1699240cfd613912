// The reactor: one thread that owns a kernel event mechanism (io_uring or epoll), takes
// batches of ops from the JS thread, runs their steps and hands finished ops to a completion
// sink. The JS side never blocks on it; it is woken when completions wait.
#pragma once

#include <atomic>
#include <memory>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <string>
#include <thread>
#include <vector>

#include "../common/completion.h"
#include "op.h"

namespace cep::reactor {

enum class Kind { Uring, Epoll };

class Reactor {
 public:
  virtual ~Reactor();

  // Takes ownership of the ops. Call from one thread (the JS thread). With `here` given, frame
  // ops whose socket direction has nothing on the reactor thread run at once on the calling
  // thread with nonblocking syscalls (as libuv does) and their completions are appended to
  // `here`; an op that would block, and every other op, goes to the reactor thread
  // (native/reactor/inline.cc).
  void submit(std::vector<Op*>& ops, std::vector<Completion>* here = nullptr);
  // JS thread: the completions waiting in the sink, oldest first (call this, not sink().take():
  // it also learns which socket directions the reactor thread no longer holds).
  std::vector<Completion> take();
  // Eventfd writes so far (hand-offs to the reactor thread; file workers' reports included).
  uint64_t handoffs() const { return handoffs_.load(std::memory_order_relaxed); }
  // Ops finished on the submitting thread so far.
  uint64_t inline_done() const { return inline_done_; }
  // Makes the next `count` steps of kind `step` fail with -err (0 clears): a test hook.
  void inject_fault(int step, int err, int count);
  // Stops taking work, cancels ops that wait on a peer (-ECANCELED), lets every other op in
  // flight finish, then joins the thread. Idempotent. Completions stay in the sink.
  void close();
  CompletionSink& sink() { return sink_; }
  const char* name() const { return kind_ == Kind::Uring ? "uring" : "epoll"; }
  // Ops submitted and not yet finished (the JS side bounds this).
  uint64_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }

 protected:
  Reactor(Kind kind, std::function<void()> wake) : kind_(kind), sink_(std::move(wake)) {}
  void start();                        // spawns the thread running loop()
  virtual void loop() = 0;             // the thread body; returns once stopping and idle
  // The eventfd that wakes loop() from another thread (created by open_wake_fd()).
  bool open_wake_fd(bool nonblocking, std::string& why);
  void notify();
  int wake_fd_ = -1;
  std::vector<Op*> take_inbox();
  bool stopping() const { return stop_.load(std::memory_order_acquire); }
  // A pending fault for this step: true and `res` set when the step must fail.
  bool faulted(const Op& op, int64_t& res);
  // Queues a finished op's completion (flushed to the sink by flush()); a frame op queued
  // behind it on the same socket becomes runnable (see take_unblocked()).
  void finish(Op* op);
  // False when the op must wait for an earlier frame op on the same socket and direction
  // (it is kept and handed back by take_unblocked() in its turn).
  bool admit(Op* op);
  // Call before an op's first step, once it runs in its turn: a receive takes a frame already
  // buffered for its socket (true: the op is finished, call finish()); a send takes the sends
  // queued behind it on the same socket into its sendmsg.
  bool start_op(Op* op);
  std::vector<Op*> take_unblocked() {
    std::vector<Op*> out;
    out.swap(unblocked_);
    return out;
  }
  void flush() { sink_.push_all(done_); }

 private:
  Kind kind_;
  CompletionSink sink_;
  std::mutex inbox_mutex_;
  std::vector<Op*> inbox_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<bool> has_faults_{false};
  std::mutex fault_mutex_;
  int fault_errno_[S_COUNT] = {};
  int fault_count_[S_COUNT] = {};
  std::vector<Completion> done_;
  std::unordered_map<int64_t, std::deque<Op*>> streams_;  // front: the running op
  std::mutex rbuf_mutex_;  // the map only: a buffer is used by the one receive running on its socket
  std::unordered_map<int, std::shared_ptr<RecvBuf>> rbufs_;  // receive buffers by socket
  std::shared_ptr<RecvBuf> recv_buf(int fd);
  std::atomic<uint64_t> handoffs_{0};

  // ---- the submitting (JS) thread's side (inline.cc); touched by that thread only ----
  // Runs what can run here; the rest is appended to `remote`.
  void run_here(std::vector<Op*>& ops, std::vector<Op*>& remote, std::vector<Completion>& here);
  // Ends an op on the submitting thread (its joined sends too).
  void finish_here(Op* op, std::vector<Completion>& here);
  bool held_remotely(const Op& op) const;
  // An op (and the sends riding it) goes to the reactor thread: its socket direction (both, for
  // a close) stays there until its completion is taken.
  void hand_over(Op* op, std::vector<Op*>& remote);
  void hold(const Op& op);
  void mark(int64_t key, int delta);
  std::unordered_map<int64_t, uint32_t> remote_streams_;  // stream key -> ops on the reactor thread
  std::unordered_map<uint64_t, int64_t> remote_seqs_;     // seq -> its stream key, or -(fd + 1) for a close
  uint64_t inline_done_ = 0;
  std::vector<Op*> unblocked_;
  std::thread thread_;
  bool closed_ = false;
};

// Creates a reactor of the given kind, or null with `why` set when this kernel refuses it.
std::unique_ptr<Reactor> create(Kind kind, unsigned depth, std::function<void()> wake, std::string& why);
// Whether io_uring can be set up here (containers often forbid it); `why` explains a refusal.
bool uring_available(std::string& why);

std::unique_ptr<Reactor> create_uring(unsigned depth, std::function<void()> wake, std::string& why);
std::unique_ptr<Reactor> create_epoll(unsigned depth, std::function<void()> wake, std::string& why);

}  // namespace cep::reactor
