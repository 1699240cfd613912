// The epoll backend: sockets are non-blocking and wait for readiness on one epoll set; file
// steps (open, read, write, sync), which epoll cannot wait on, run on a small worker pool and
// report back through the same wake eventfd. Every op's state machine advances on the reactor
// thread only.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "../executor/thread_pool.h"
#include "reactor.h"

namespace cep::reactor {
namespace {

constexpr unsigned kFileWorkers = 2;

class EpollReactor final : public Reactor {
 public:
  explicit EpollReactor(std::function<void()> wake) : Reactor(Kind::Epoll, std::move(wake)) {}
  ~EpollReactor() override {
    close();
    files_.reset();
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  bool init(std::string& why) {
    if (!open_wake_fd(true, why)) return false;
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
      why = std::string("epoll setup failed: ") + std::strerror(errno);
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;  // 0 is the wake eventfd; sockets are fd + 1
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    files_ = std::make_unique<ThreadPool>(kFileWorkers);
    start();
    return true;
  }

 protected:
  void loop() override {
    epoll_event events[64];
    bool cancelled_waits = false;
    for (;;) {
      // Admit the whole batch before running any of it, so frame sends queued together on a
      // socket share one sendmsg (Reactor::start_op).
      std::vector<Op*> runnable;
      for (Op* op : take_inbox()) {
        if (!op->started && !op->begin()) finish(op);  // started: begun on the submitting thread
        else if (admit(op)) runnable.push_back(op);
      }
      for (Op* op : runnable) launch(op);
      std::vector<std::pair<Op*, int64_t>> files;
      {
        std::lock_guard<std::mutex> lock(file_mutex_);
        files.swap(file_done_);
      }
      for (auto& [op, res] : files) {
        file_ops_--;
        resume(op, res);
      }
      if (stopping() && !cancelled_waits) {
        cancelled_waits = true;
        cancel_waits();
      }
      for (std::vector<Op*> more = take_unblocked(); !more.empty(); more = take_unblocked())
        for (Op* op : more) launch(op);
      flush();
      if (stopping() && file_ops_ == 0 && watches_.empty() && in_flight() == 0) break;
      const int n = epoll_wait(epoll_fd_, events, 64, -1);
      for (int i = 0; i < n; i++) {
        if (events[i].data.u64 == 0) {
          uint64_t v;
          while (::read(wake_fd_, &v, sizeof v) > 0) {
          }
          continue;
        }
        // Looked up by fd: an earlier event of this batch may have dropped the watch.
        auto it = watches_.find(static_cast<int>(events[i].data.u64 - 1));
        if (it != watches_.end()) ready(&it->second, events[i].events);
      }
    }
    flush();
  }

 private:
  // One registered socket and the ops waiting on it to become readable / writable.
  struct Watch {
    int fd;
    std::vector<Op*> readers;
    std::vector<Op*> writers;
  };

  // While stopping, ops that would wait on a peer end at once.
  void launch(Op* op) {
    if (stopping() && (op->waits_on_peer() || op->stream_key() >= 0)) {
      op->result = -ECANCELED;
      finish(op);
      return;
    }
    dispatch(op);
  }

  static bool is_file_step(Step s) { return s == S_OPEN || s == S_READ || s == S_WRITEV || s == S_FSYNC; }

  void resume(Op* op, int64_t res) {
    if (op->advance(res)) {
      dispatch(op);
    } else {
      finish(op);
    }
  }

  // Runs steps until the op finishes, parks on readiness, or goes to a file worker.
  void dispatch(Op* op) {
    if (start_op(op)) {
      finish(op);
      return;
    }
    for (;;) {
      int64_t res;
      if (!faulted(*op, res)) {
        if (is_file_step(op->step)) {
          file_ops_++;
          files_->post([this, op] {
            const int64_t r = run_step_sync(*op);
            {
              std::lock_guard<std::mutex> lock(file_mutex_);
              file_done_.emplace_back(op, r);
            }
            notify();
          });
          return;
        }
        if (op->step == S_CLOSE) unwatch_fd(op->fd);
        res = run_step_sync(*op);
        if (res == -EAGAIN || res == -EWOULDBLOCK) {
          watch(op);
          return;
        }
      }
      if (!op->advance(res)) {
        finish(op);
        return;
      }
    }
  }

  void watch(Op* op) {
    auto it = watches_.find(op->fd);
    const bool fresh = it == watches_.end();
    Watch& w = fresh ? watches_.emplace(op->fd, Watch{op->fd, {}, {}}).first->second : it->second;
    const bool writes = op->step == S_SEND || op->step == S_CONNECT;
    (writes ? w.writers : w.readers).push_back(op);
    if (update(w, fresh ? EPOLL_CTL_ADD : EPOLL_CTL_MOD) < 0) {
      const int64_t err = -errno;
      (writes ? w.writers : w.readers).pop_back();
      if (w.readers.empty() && w.writers.empty()) watches_.erase(op->fd);
      resume(op, err);
    }
  }

  int update(const Watch& w, int how) {
    epoll_event ev{};
    ev.events = (w.readers.empty() ? 0u : uint32_t(EPOLLIN)) | (w.writers.empty() ? 0u : uint32_t(EPOLLOUT)) | uint32_t(EPOLLRDHUP);
    ev.data.u64 = static_cast<uint64_t>(w.fd) + 1;
    return epoll_ctl(epoll_fd_, how, w.fd, &ev);
  }

  // Every op waiting in a ready direction retries its step (those still blocked re-register).
  void ready(Watch* w, uint32_t events) {
    const bool broken = events & (EPOLLERR | EPOLLHUP);
    std::vector<Op*> run;
    if ((events & (EPOLLIN | EPOLLRDHUP)) || broken) run.swap(w->readers);
    if ((events & EPOLLOUT) || broken) {
      run.insert(run.end(), w->writers.begin(), w->writers.end());
      w->writers.clear();
    }
    const int fd = w->fd;
    if (w->readers.empty() && w->writers.empty()) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      watches_.erase(fd);
    } else {
      update(*w, EPOLL_CTL_MOD);
    }
    for (Op* op : run) dispatch(op);
  }

  // Closing a socket that ops wait on: they end with -ECANCELED first.
  void unwatch_fd(int fd) {
    auto it = watches_.find(fd);
    if (it == watches_.end()) return;
    Watch w = std::move(it->second);
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    watches_.erase(it);
    for (auto* list : {&w.readers, &w.writers}) {
      for (Op* op : *list) {
        op->result = -ECANCELED;
        finish(op);
      }
    }
  }

  void cancel_waits() {
    std::vector<int> fds;
    for (auto& [fd, w] : watches_) fds.push_back(fd);
    for (int fd : fds) unwatch_fd(fd);
  }

  int epoll_fd_ = -1;
  std::unique_ptr<ThreadPool> files_;
  std::mutex file_mutex_;
  std::vector<std::pair<Op*, int64_t>> file_done_;
  unsigned file_ops_ = 0;
  std::unordered_map<int, Watch> watches_;
};

}  // namespace

std::unique_ptr<Reactor> create_epoll(unsigned, std::function<void()> wake, std::string& why) {
  auto r = std::make_unique<EpollReactor>(std::move(wake));
  if (!r->init(why)) return nullptr;
  return r;
}

}  // namespace cep::reactor
