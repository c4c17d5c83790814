// Package seccomp compiles a routing decision per syscall into one seccomp-bpf
// filter and speaks the user-notification protocol of the listener it yields.
//
// Invariants:
//   - The compiled filter checks the architecture before anything else: any
//     call that is not AUDIT_ARCH_X86_64, and any number carrying the x32 bit,
//     kills the process (int $0x80 and x32 are classic filter bypasses).
//   - Numbers the caller does not name get the filter's default action, which
//     callers set to ENOSYS.
//   - Filters are built with libseccomp, exported as BPF and loaded with the
//     raw seccomp(2) call so that flags libseccomp 2.5 does not know
//     (WAIT_KILLABLE_RECV) can be set.
//   - The notification structs are defined here, once, over x/sys/unix.
package seccomp
