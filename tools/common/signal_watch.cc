#include "tools/common/signal_watch.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace tools {

namespace {

int signalPipeWriteEnd = -1;

void onSignalNumber(int) {
  const int savedErrno = errno;
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = write(signalPipeWriteEnd, &byte, 1);
  errno = savedErrno;
}

void setDisposition(void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace

SignalWatch::SignalWatch(reactor::Loop& loop, std::function<void()> onSignal)
    : loop_(loop), onSignal_(std::move(onSignal)) {
  if (pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "pipe2");
  signalPipeWriteEnd = pipe_[1];
  loop_.watch(pipe_[0], *this);
  loop_.setReferenced(pipe_[0], false);
  loop_.setInterest(pipe_[0], reactor::kWantRead);
  setDisposition(onSignalNumber);
}

SignalWatch::~SignalWatch() {
  stop();
  close(pipe_[0]);
  close(pipe_[1]);
  signalPipeWriteEnd = -1;
}

void SignalWatch::stop() {
  setDisposition(SIG_DFL);
  if (loop_.watching(pipe_[0])) loop_.unwatch(pipe_[0]);
}

void SignalWatch::onReady(std::uint8_t) {
  stop();
  onSignal_();
}

}  // namespace tools
