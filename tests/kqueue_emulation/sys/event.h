// Test-only emulation of the BSD kqueue API over Linux epoll, so that reactor/kqueue_poller.cc and
// every backend-parameterized suite also run against the kqueue backend on Linux. Nothing outside
// the tests links it (see the Makefile: only the test binary gets kqueue_emulation.o).
//
// What passing the suites on it proves: the backend's translation logic (interest bits to EV_ADD /
// EV_DELETE of the right filters, only the filters that changed), its filter bookkeeping (read and
// write are independent knotes; one descriptor may come back as two events), the token round trip
// through udata, the EV_EOF / fflags / EV_ERROR mapping to Ready bits, the EVFILT_USER wake-up,
// and the error paths (ENOENT / EBADF reported as -1 or as EV_ERROR entries as kevent(2) says).
//
// What it cannot prove: anything about the real kernel. The exact moment EV_EOF is raised and the
// exact fflags value (Linux cannot read SO_ERROR without clearing it, so a pending socket error
// is reported as the stand-in EIO, leaving the real error for the application's next call), the
// data counts of listening sockets (the accept backlog from TCP_INFO, 1 for other families),
// low-water marks, performance and fairness under load. Descriptors that a real kqueue accepts
// but epoll refuses (regular files) fail with EPERM here.
//
// Deliberately left out: EV_CLEAR on descriptor filters (one epoll registration per descriptor
// cannot be edge-triggered for one filter and level-triggered for the other; it fails with EINVAL
// rather than pretend), EV_DISPATCH, NOTE_LOWAT, filters other than READ / WRITE / USER. A kqueue
// is an epoll descriptor: close() releases it, and its bookkeeping is reclaimed by the next
// kqueue() call. kevent() takes a mutex, so unlike the real system call it is not
// async-signal-safe.
#pragma once

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

// Values as in FreeBSD, so that a dump of an event reads the same on both systems.
#define EVFILT_READ (-1)
#define EVFILT_WRITE (-2)
#define EVFILT_USER (-11)

#define EV_ADD 0x0001     // add the knote, or modify it if present; enables it
#define EV_DELETE 0x0002  // remove the knote
#define EV_ENABLE 0x0004
#define EV_DISABLE 0x0008  // keep the knote but report nothing
#define EV_ONESHOT 0x0010  // remove the knote after its first report
#define EV_CLEAR 0x0020    // reset the state once reported (EVFILT_USER only here)
#define EV_RECEIPT 0x0040  // always answer a change with an EV_ERROR entry, data 0 on success
#define EV_ERROR 0x4000    // returned: the change failed, data holds the errno
#define EV_EOF 0x8000      // returned: no more data in, or no more room out

// EVFILT_USER fflags: the top two bits choose how the low 24 combine with the stored ones.
#define NOTE_FFNOP 0x00000000u
#define NOTE_FFAND 0x40000000u
#define NOTE_FFOR 0x80000000u
#define NOTE_FFCOPY 0xc0000000u
#define NOTE_FFCTRLMASK 0xc0000000u
#define NOTE_FFLAGSMASK 0x00ffffffu
#define NOTE_TRIGGER 0x01000000u

struct kevent {
  uintptr_t ident;      // descriptor, or any value for EVFILT_USER
  short filter;         // EVFILT_*
  unsigned short flags;  // EV_*
  unsigned int fflags;  // filter flags; on EV_EOF, the pending socket error
  int64_t data;         // bytes readable / writable, or the errno of an EV_ERROR entry
  void* udata;          // handed back untouched
};

// kevp is evaluated once, so EV_SET(&list[n++], ...) does what it says.
#define EV_SET(kevp, a, b, c, d, e, f)      \
  do {                                      \
    struct kevent* ev_set_kevp_ = (kevp);   \
    ev_set_kevp_->ident = (a);              \
    ev_set_kevp_->filter = (b);             \
    ev_set_kevp_->flags = (c);              \
    ev_set_kevp_->fflags = (d);             \
    ev_set_kevp_->data = (e);               \
    ev_set_kevp_->udata = (f);              \
  } while (0)

int kqueue(void);

// Applies the changes, then waits for up to nevents events. timeout NULL waits forever, {0, 0}
// polls. If a change fails (or has EV_RECEIPT) and there is room in eventlist, an EV_ERROR entry
// is returned for it and nothing is waited for; without room, -1 with errno set.
int kevent(int kq, const struct kevent* changelist, int nchanges, struct kevent* eventlist,
           int nevents, const struct timespec* timeout);

#ifdef __cplusplus
}
#endif
