#include "op.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "../common/completion.h"

namespace cep::reactor {

void RecvBuf::reserve(size_t need) {
  if (cap - end >= need) return;
  const size_t live = size();
  if (start > 0 && cap - live >= need) {  // compacting is enough
    std::memmove(data.get(), data.get() + start, live);
  } else {
    size_t grown = cap ? cap : kRecvChunk;
    while (grown - live < need) grown *= 2;
    std::unique_ptr<uint8_t[]> bigger(new uint8_t[grown]);
    if (live) std::memcpy(bigger.get(), data.get() + start, live);
    data = std::move(bigger);
    cap = grown;
  }
  start = 0;
  end = live;
}

bool parse_address(Op& op) {
  std::memset(&op.addr, 0, sizeof op.addr);
  if (op.arg2 == 1) {
    auto* un = reinterpret_cast<sockaddr_un*>(&op.addr);
    if (op.path.empty() || op.path.size() >= sizeof un->sun_path) return false;
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, op.path.data(), op.path.size());
    op.addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + op.path.size() + 1);
    return true;
  }
  const int port = op.offset < 0 ? 0 : static_cast<int>(op.offset);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&op.addr);
  if (inet_pton(AF_INET, op.path.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    op.addr_len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&op.addr);
  if (inet_pton(AF_INET6, op.path.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    op.addr_len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

int open_stream_socket(Op& op, bool listen) {
  const int family = op.addr.ss_family;
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (family != AF_UNIX) {
    int one = 1;
    if (listen) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
  }
  if (listen) {
    if (::bind(fd, reinterpret_cast<sockaddr*>(&op.addr), op.addr_len) < 0 ||
        ::listen(fd, op.arg > 0 ? op.arg : 511) < 0) {
      const int e = errno;
      ::close(fd);
      return -e;
    }
  }
  return fd;
}

bool Op::begin() {
  switch (code) {
    case OP_NOP:
      step = S_NOP;
      return true;
    case OP_OPEN:
      step = S_OPEN;
      return true;
    case OP_READ:
      step = S_READ;
      one_iov = iov.empty() ? iovec{nullptr, 0} : iov[0];
      step_iov = &one_iov;
      step_iovcnt = 1;
      return true;
    case OP_WRITE:
    case OP_WRITE_SYNC:
    case OP_SEND_FRAME:
      for (const auto& v : iov) total += v.iov_len;
      if (code == OP_SEND_FRAME) {
        const uint32_t n = static_cast<uint32_t>(total);
        header[0] = n >> 24, header[1] = n >> 16, header[2] = n >> 8, header[3] = n;
        iov.insert(iov.begin(), iovec{header, kFrameHeader});
        total += kFrameHeader;
        own_total = total;
      }
      if (total == 0 && code != OP_WRITE_SYNC) {
        result = 0;
        return false;
      }
      if (total == 0) {  // nothing to write: straight to the sync
        phase = 1;
        step = S_FSYNC;
        return true;
      }
      fill_write_step();
      return true;
    case OP_FSYNC:
      step = S_FSYNC;
      return true;
    case OP_CLOSE:
      step = S_CLOSE;
      return true;
    case OP_LISTEN:
    case OP_CONNECT:
      if (!parse_address(*this)) {
        result = -EINVAL;
        return false;
      }
      step = code == OP_LISTEN ? S_LISTEN : S_CONNECT;
      if (code == OP_CONNECT) {
        fd = open_stream_socket(*this, false);
        if (fd < 0) {
          result = fd;
          return false;
        }
      }
      return true;
    case OP_ACCEPT:
      step = S_ACCEPT;
      return true;
    case OP_RECV_FRAME:
      step = S_RECV;  // the buffer is attached when the op is admitted (recv_buffered)
      return true;
    default:
      result = -EINVAL;
      return false;
  }
}

// The next writev: the unwritten entries of `iov`, at most kMaxIov of them.
void Op::fill_write_step() {
  step = code == OP_SEND_FRAME ? S_SEND : S_WRITEV;
  step_iov = iov.data() + iov_at;
  const size_t left = iov.size() - iov_at;
  step_iovcnt = static_cast<int>(left < size_t(kMaxIov) ? left : size_t(kMaxIov));
}

// Drops `n` written bytes from the front of `iov` (a partly written entry is trimmed in place).
void Op::consume_written(size_t n) {
  while (n > 0 && iov_at < iov.size()) {
    iovec& v = iov[iov_at];
    if (n >= v.iov_len) {
      n -= v.iov_len;
      iov_at++;
    } else {
      v.iov_base = static_cast<uint8_t*>(v.iov_base) + n;
      v.iov_len -= n;
      n = 0;
    }
  }
  while (iov_at < iov.size() && iov[iov_at].iov_len == 0) iov_at++;
}

void Op::fill_recv_step() {
  step = S_RECV;
  step_iov = &one_iov;
  step_iovcnt = 1;
  RecvBuf& b = *rbuf;
  // Enough room for the rest of a frame whose header is in, and at least a chunk.
  const size_t want = phase == 1 ? kFrameHeader + size_t(body_len) - b.size() : 0;
  b.reserve(want > kRecvChunk ? want : kRecvChunk);
  one_iov = iovec{b.data.get() + b.end, b.cap - b.end};
}

bool Op::recv_buffered() {
  RecvBuf& b = *rbuf;
  if (b.size() >= kFrameHeader) {
    const uint8_t* p = b.data.get() + b.start;
    const uint32_t n = (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
    if (n > static_cast<uint32_t>(arg)) {
      result = -EMSGSIZE;
      return true;
    }
    body_len = n;
    phase = 1;  // the header is in: the body length is known
    if (b.size() >= kFrameHeader + size_t(n)) {
      body.reset(new uint8_t[n ? n : 1]);
      if (n) std::memcpy(body.get(), p + kFrameHeader, n);
      b.start += kFrameHeader + n;
      if (b.start == b.end) b.start = b.end = 0;
      if (b.size() == 0 && b.cap > kRecvChunk) {  // a large frame passed: give the memory back
        b.data.reset();
        b.cap = 0;
      }
      result = n;
      return true;
    }
  }
  fill_recv_step();
  return false;
}

void Op::join_send(Op* next) {
  iov.insert(iov.end(), next->iov.begin(), next->iov.end());
  total += next->total;
  joined.push_back(next);
  fill_write_step();  // `iov` may have moved
}

int64_t Op::joined_result(size_t offset, const Op& next) const {
  if (done >= offset + next.total) return static_cast<int64_t>(next.total - kFrameHeader);
  return result < 0 ? result : -ECANCELED;
}

bool Op::advance(int64_t res) {
  if (res < 0) {
    result = res;
    return false;
  }
  switch (code) {
    case OP_WRITE:
    case OP_WRITE_SYNC:
    case OP_SEND_FRAME:
      if (phase == 1) {  // the sync after the write
        result = static_cast<int64_t>(total);
        return false;
      }
      if (res == 0) {
        result = -EIO;  // a zero-byte write of a non-empty buffer: no progress is possible
        return false;
      }
      done += static_cast<size_t>(res);
      consume_written(static_cast<size_t>(res));
      if (done < total) {
        fill_write_step();
        return true;
      }
      if (code == OP_WRITE_SYNC) {
        phase = 1;
        step = S_FSYNC;
        return true;
      }
      result = static_cast<int64_t>(code == OP_SEND_FRAME ? own_total - kFrameHeader : total);
      return false;
    case OP_CONNECT:
      result = fd;
      return false;
    case OP_RECV_FRAME:
      if (res == 0) {
        if (rbuf->size() == 0) {
          flags |= COMPLETION_EOF;
          result = 0;
        } else {
          result = -ECONNRESET;  // the peer went away in the middle of a frame
        }
        return false;
      }
      rbuf->end += static_cast<size_t>(res);
      return !recv_buffered();
    default:
      result = res;
      return false;
  }
}

std::vector<Op*> settle_joined(Op& op) {
  std::vector<Op*> joined;
  joined.swap(op.joined);
  size_t offset = op.frame_bytes();
  for (Op* next : joined) {
    next->result = op.joined_result(offset, *next);
    offset += next->total;
  }
  if (!joined.empty() && op.result < 0 && op.done >= op.frame_bytes())
    op.result = static_cast<int64_t>(op.frame_bytes() - kFrameHeader);  // its own bytes left before the error
  return joined;
}

Completion completion_of(Op& op) {
  Completion c;
  c.seq = op.seq;
  c.result = op.result;
  c.flags = op.flags;
  if (op.code == OP_RECV_FRAME && op.result > 0) {
    c.data = std::move(op.body);
    c.length = op.body_len;
  }
  return c;
}

// Positional offset of the current step, or -1 for the file position.
int64_t step_offset(const Op& op) {
  return op.offset < 0 ? -1 : op.offset + static_cast<int64_t>(op.done);
}

int64_t run_step_sync(Op& op) {
  ssize_t r = 0;
  switch (op.step) {
    case S_NOP:
      return 0;
    case S_OPEN:
      r = ::open(op.path.c_str(), op.arg | O_CLOEXEC, op.arg2);
      break;
    case S_READ:
      do {
        r = op.offset < 0 ? ::read(op.fd, op.step_iov[0].iov_base, op.step_iov[0].iov_len)
                          : ::pread(op.fd, op.step_iov[0].iov_base, op.step_iov[0].iov_len, op.offset);
      } while (r < 0 && errno == EINTR);
      break;
    case S_WRITEV: {
      const int64_t off = step_offset(op);
      do {
        r = off < 0 ? ::writev(op.fd, op.step_iov, op.step_iovcnt) : ::pwritev(op.fd, op.step_iov, op.step_iovcnt, off);
      } while (r < 0 && errno == EINTR);
      break;
    }
    case S_FSYNC:
      r = (op.arg & 1) ? ::fdatasync(op.fd) : ::fsync(op.fd);
      break;
    case S_CLOSE:
      r = ::close(op.fd);
      break;
    case S_LISTEN:
      r = open_stream_socket(op, true);
      return r;
    case S_ACCEPT:
      r = ::accept4(op.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      break;
    case S_CONNECT:
      if (op.phase == 0) {
        op.phase = 1;
        r = ::connect(op.fd, reinterpret_cast<sockaddr*>(&op.addr), op.addr_len);
        if (r < 0 && errno == EINPROGRESS) return -EAGAIN;
      } else {  // writable after EINPROGRESS: the outcome is in SO_ERROR
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(op.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        return err ? -err : 0;
      }
      break;
    case S_SEND:
      do {
        msghdr msg{};
        msg.msg_iov = op.step_iov;
        msg.msg_iovlen = op.step_iovcnt;
        r = ::sendmsg(op.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);  // never blocks, whatever the fd's flags
      } while (r < 0 && errno == EINTR);
      break;
    case S_RECV:
      do {
        r = ::recv(op.fd, op.step_iov[0].iov_base, op.step_iov[0].iov_len, MSG_DONTWAIT);
      } while (r < 0 && errno == EINTR);
      break;
    default:
      return -EINVAL;
  }
  return r < 0 ? -errno : r;
}

}  // namespace cep::reactor
