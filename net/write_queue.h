// net::WriteQueue: the bytes a socket could not hand to the kernel yet, in write order, each write
// with its callback. Owned by one net::Socket, on its loop's thread.
//
// Most connections never queue anything (the kernel takes a write at once), so the queue is one
// pointer wide until its first write and allocates its storage then; the storage is kept for the
// socket's life, so that a connection under steady backpressure does not allocate per episode.
// A write leaves the queue, and its bytes are freed, as soon as its last byte is sent: what the
// queue holds is bounded by what is still unsent at every moment, however long the queue stays
// non-empty. An empty write completes when every write before it has.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/error.h"

namespace net {

using WriteCallback = std::function<void(const Error*)>;

class WriteQueue {
 public:
  bool empty() const { return !storage_ || storage_->entries.empty(); }
  // Bytes queued and not yet sent.
  std::size_t bytes() const { return storage_ ? storage_->bytes : 0; }

  // Queues `data`, of which the first `sent` bytes already went out.
  void push(std::string data, std::size_t sent, WriteCallback callback);
  // Points up to `max` iovecs at the unsent bytes, oldest first, skipping empty writes; returns
  // how many.
  std::size_t gather(iovec* chunks, std::size_t max) const;
  // Marks `written` bytes as sent and removes the writes now complete (empty ones at the front
  // included); their callbacks go to `completed`, in write order.
  void consume(std::size_t written, std::vector<WriteCallback>& completed);
  // Drops everything queued; returns the callbacks of the writes that never completed.
  std::vector<WriteCallback> clear();

 private:
  struct Entry {
    std::string data;
    std::size_t sent;
    WriteCallback callback;
  };
  struct Storage {
    std::deque<Entry> entries;
    std::size_t bytes = 0;
  };
  std::unique_ptr<Storage> storage_;
};

}  // namespace net
