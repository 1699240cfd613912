// The inline fast path: frame sends and receives run on the submitting (JS) thread when they
// can finish without waiting, as libuv writes to an idle socket at once. On loopback a send
// makes the peer readable before it returns, so a whole echo window (sends, then the
// receives of what they sent) finishes here without waking the reactor thread or the event
// loop. Only an op that would block (EAGAIN) goes to the reactor thread, which then owns its
// socket direction until the JS thread has taken that op's completion; ops behind it on the
// same direction follow it there, so frames still go one at a time per direction, in
// submission order.
#include <cerrno>

#include "reactor.h"

namespace cep::reactor {

void Reactor::submit(std::vector<Op*>& ops, std::vector<Completion>* here) {
  if (ops.empty()) return;
  std::vector<Op*> remote;
  if (here && !has_faults_.load(std::memory_order_acquire)) {
    run_here(ops, remote, *here);  // an armed fault is the reactor thread's to apply
  } else {
    for (Op* op : ops) hand_over(op, remote);
  }
  ops.clear();
  if (remote.empty()) return;
  size_t count = remote.size();
  for (Op* op : remote) count += op->joined.size();  // sends riding a partly sent one end there too
  in_flight_.fetch_add(count, std::memory_order_acq_rel);
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    was_empty = inbox_.empty();
    inbox_.insert(inbox_.end(), remote.begin(), remote.end());
  }
  // A non-empty inbox was announced when it filled, and the reactor thread takes all of it
  // after every wake: one eventfd write per fill, not per batch.
  if (was_empty) notify();
}

std::vector<Completion> Reactor::take() {
  std::vector<Completion> items = sink_.take();
  if (!remote_seqs_.empty()) {
    for (const Completion& c : items) {
      auto it = remote_seqs_.find(c.seq);
      if (it == remote_seqs_.end()) continue;
      const int64_t key = it->second;
      remote_seqs_.erase(it);
      if (key >= 0) {
        mark(key, -1);
      } else {  // a close held both directions of its fd
        mark((-key - 1) * 2, -1);
        mark((-key - 1) * 2 + 1, -1);
      }
    }
  }
  return items;
}

void Reactor::mark(int64_t key, int delta) {
  auto it = remote_streams_.find(key);
  if (delta > 0) {
    if (it == remote_streams_.end()) remote_streams_.emplace(key, uint32_t(delta));
    else it->second += uint32_t(delta);
  } else if (it != remote_streams_.end() && (it->second -= uint32_t(-delta)) == 0) {
    remote_streams_.erase(it);
  }
}

bool Reactor::held_remotely(const Op& op) const {
  return !remote_streams_.empty() && remote_streams_.count(op.stream_key()) > 0;
}

void Reactor::hand_over(Op* op, std::vector<Op*>& remote) {
  remote.push_back(op);
  hold(*op);
  for (const Op* rider : op->joined) hold(*rider);
}

void Reactor::hold(const Op& op) {
  int64_t key = op.stream_key();
  if (key >= 0) {
    mark(key, 1);
  } else if (op.code == OP_CLOSE && op.fd >= 0) {
    key = -(int64_t(op.fd) + 1);
    mark(int64_t(op.fd) * 2, 1);
    mark(int64_t(op.fd) * 2 + 1, 1);
  } else {
    return;  // no socket direction to hold
  }
  remote_seqs_[op.seq] = key;
}

void Reactor::finish_here(Op* op, std::vector<Completion>& here) {
  std::vector<Op*> joined = settle_joined(*op);
  here.push_back(completion_of(*op));
  delete op;
  inline_done_ += 1 + joined.size();
  for (Op* next : joined) {
    here.push_back(completion_of(*next));
    delete next;
  }
}

void Reactor::run_here(std::vector<Op*>& ops, std::vector<Op*>& remote, std::vector<Completion>& here) {
  for (size_t i = 0; i < ops.size(); i++) {
    Op* op = ops[i];
    if (op == nullptr) continue;  // joined into an earlier send of this batch
    const int64_t key = op->stream_key();
    if (key < 0 || held_remotely(*op)) {
      hand_over(op, remote);
      continue;
    }
    if (!op->begin()) {  // finished at once (a send of nothing)
      finish_here(op, here);
      continue;
    }
    op->started = true;
    if (op->code == OP_SEND_FRAME) {
      // Later sends on this socket in the batch share its sendmsg (as Reactor::start_op joins
      // those queued behind a send on the reactor thread).
      for (size_t j = i + 1; j < ops.size() && op->joined.size() < kMaxJoinedSends; j++) {
        Op* next = ops[j];
        if (next == nullptr || next->stream_key() != key) continue;
        if (op->iov.size() + next->iov.size() + 1 > size_t(kMaxIov)) break;
        next->begin();  // a frame send always has its header to send
        next->started = true;
        op->join_send(next);
        ops[j] = nullptr;
      }
    } else {
      op->rbuf = recv_buf(op->fd);
      if (op->recv_buffered()) {
        finish_here(op, here);
        continue;
      }
    }
    for (;;) {
      const int64_t res = run_step_sync(*op);
      if (res == -EAGAIN || res == -EWOULDBLOCK) {
        hand_over(op, remote);  // the reactor thread waits for the socket and goes on from here
        break;
      }
      if (!op->advance(res)) {
        finish_here(op, here);
        break;
      }
    }
  }
}

}  // namespace cep::reactor
