// Package sandbox runs untrusted Linux programs under a seccomp filter whose
// routed syscalls are answered by an in-process Go sentry.
//
// Command returns a Cmd in the spirit of os/exec:
//
//	pol, _ := policies.Load("default")
//	cmd := sandbox.Command(ctx, pol, "python3", "-c", "print(1)")
//	cmd.Stdout = os.Stdout
//	err := cmd.Run()
//
// The binary that embeds this package must call MaybeInit first thing in
// main: the sandbox re-executes it as the init stage that loads the filter.
package sandbox
