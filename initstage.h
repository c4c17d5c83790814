// The init stage in C (initstage.c), entered from the watchdog's child.
#ifndef SANDBOX_INITSTAGE_H
#define SANDBOX_INITSTAGE_H
#include <stdint.h>
void sandbox_init_stage(void) __attribute__((noreturn));
// The signals the process was started with ignored and blocked (bit n-1
// for signal n), as a constructor saw them before the Go runtime installed
// its handlers and unblocked its signals: the guest inherits these.
uint64_t sandbox_caller_sigign(void);
uint64_t sandbox_caller_sigmask(void);
// The std fds (bit n for fd n) the process was started with closed.
uint32_t sandbox_caller_closedstd(void);
#endif
