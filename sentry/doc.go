// Package sentry answers the guest's routed syscalls.
//
// The dispatcher serves the seccomp listener from OS threads locked with
// runtime.LockOSThread that wait for it to become readable (one of them
// without the Go runtime's knowledge: wait.go) and then NOTIF_RECV; each
// notification is decoded, dispatched by number through the syscall
// table, and answered with a value or -errno by the real Linux ABI. Handlers return
// (value, errno); only the dispatcher writes the reply.
//
// Invariants:
//   - The sentry never lets the kernel continue a call whose decision read
//     guest memory; it performs the call itself (new fds via ADDFD with
//     SEND). The one exception is execve (DESIGN §6).
//   - Guest memory is read and written only through package mm; after a
//     copy-in and before acting, the notification is re-validated.
//   - Tasks are discovered at their first notification and forgotten when
//     they exit; threads share an fd table and fs context, a forked child
//     gets copies taken when its parent called fork.
package sentry
