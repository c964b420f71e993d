#include "net/write_queue.h"

#include <algorithm>
#include <utility>

namespace net {

void WriteQueue::push(std::string data, std::size_t sent, WriteCallback callback) {
  if (!storage_) storage_ = std::make_unique<Storage>();
  storage_->bytes += data.size() - sent;
  storage_->entries.push_back(Entry{std::move(data), sent, std::move(callback)});
}

std::size_t WriteQueue::gather(iovec* chunks, std::size_t max) const {
  if (!storage_) return 0;
  std::size_t count = 0;
  for (std::size_t i = storage_->head; i < storage_->entries.size() && count < max; ++i, ++count) {
    Entry& entry = storage_->entries[i];
    chunks[count].iov_base = entry.data.data() + entry.sent;
    chunks[count].iov_len = entry.data.size() - entry.sent;
  }
  return count;
}

void WriteQueue::consume(std::size_t written, std::vector<WriteCallback>& completed) {
  storage_->bytes -= written;
  auto& entries = storage_->entries;
  std::size_t& head = storage_->head;
  while (written > 0 && head < entries.size()) {
    Entry& entry = entries[head];
    const std::size_t taken = std::min(entry.data.size() - entry.sent, written);
    entry.sent += taken;
    written -= taken;
    if (entry.sent < entry.data.size()) break;
    if (entry.callback) completed.push_back(std::move(entry.callback));
    ++head;
  }
  if (head == entries.size()) {
    entries.clear();
    head = 0;
  }
}

std::vector<WriteCallback> WriteQueue::clear() {
  std::vector<WriteCallback> abandoned;
  if (!storage_) return abandoned;
  for (std::size_t i = storage_->head; i < storage_->entries.size(); ++i) {
    if (storage_->entries[i].callback) abandoned.push_back(std::move(storage_->entries[i].callback));
  }
  storage_->entries.clear();
  storage_->head = 0;
  storage_->bytes = 0;
  return abandoned;
}

}  // namespace net
