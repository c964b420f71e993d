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
  for (auto entry = storage_->entries.begin(); entry != storage_->entries.end() && count < max; ++entry) {
    if (entry->sent == entry->data.size()) continue;
    chunks[count].iov_base = entry->data.data() + entry->sent;
    chunks[count].iov_len = entry->data.size() - entry->sent;
    ++count;
  }
  return count;
}

void WriteQueue::consume(std::size_t written, std::vector<WriteCallback>& completed) {
  if (!storage_) return;
  storage_->bytes -= written;
  auto& entries = storage_->entries;
  while (!entries.empty()) {
    Entry& entry = entries.front();
    const std::size_t taken = std::min(entry.data.size() - entry.sent, written);
    entry.sent += taken;
    written -= taken;
    if (entry.sent < entry.data.size()) break;
    if (entry.callback) completed.push_back(std::move(entry.callback));
    entries.pop_front();
  }
}

std::vector<WriteCallback> WriteQueue::clear() {
  std::vector<WriteCallback> abandoned;
  if (!storage_) return abandoned;
  for (auto& entry : storage_->entries) {
    if (entry.callback) abandoned.push_back(std::move(entry.callback));
  }
  storage_->entries.clear();
  storage_->bytes = 0;
  return abandoned;
}

}  // namespace net
