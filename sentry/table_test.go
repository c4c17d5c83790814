package sentry

import (
	"testing"

	"golang.org/x/sys/unix"

	"sandbox/seccomp"
)

// TestFilterSpec pins the routing rules that security depends on.
func TestFilterSpec(t *testing.T) {
	spec := FilterSpec(Options{})
	class := map[int]seccomp.Rule{} // the unconditional rule
	routedIf := map[int]int{}       // number of conditional routing rules
	for _, r := range spec.Rules {
		if len(r.Conds) > 0 {
			routedIf[r.Nr]++
			continue
		}
		if _, dup := class[r.Nr]; dup {
			t.Errorf("syscall %s has two unconditional rules", Name(r.Nr))
		}
		class[r.Nr] = r
	}
	if spec.DefaultErrno != unix.ENOSYS {
		t.Errorf("unknown numbers get %v, want ENOSYS", spec.DefaultErrno)
	}
	want := []struct {
		nr    int
		class seccomp.Class
		errno unix.Errno
	}{
		{unix.SYS_IO_URING_SETUP, seccomp.Deny, unix.ENOSYS},
		{unix.SYS_IO_URING_ENTER, seccomp.Deny, unix.ENOSYS},
		{unix.SYS_CLONE3, seccomp.Deny, unix.ENOSYS},
		{unix.SYS_PTRACE, seccomp.Deny, unix.EPERM},
		{unix.SYS_MOUNT, seccomp.Deny, unix.EPERM},
		{unix.SYS_BPF, seccomp.Deny, unix.EPERM},
		{unix.SYS_OPEN_BY_HANDLE_AT, seccomp.Deny, unix.EPERM},
		{unix.SYS_PROCESS_VM_WRITEV, seccomp.Deny, unix.EPERM},
		{unix.SYS_OPENAT, seccomp.Emulate, 0},
		{unix.SYS_EXECVE, seccomp.Emulate, 0},
		{unix.SYS_GETDENTS64, seccomp.Pass, 0},
		{unix.SYS_FCNTL, seccomp.Pass, 0},
		{unix.SYS_SECCOMP, seccomp.Pass, 0},
		{unix.SYS_GETPPID, seccomp.Pass, 0},
		{unix.SYS_READ, seccomp.Pass, 0},
	}
	for _, w := range want {
		r, ok := class[w.nr]
		if !ok || r.Class != w.class || r.Errno != w.errno {
			t.Errorf("%s: got %+v, want class %v errno %v", Name(w.nr), r, w.class, w.errno)
		}
	}
	// Conditionally routed: the dups of fcntl, a listener for seccomp,
	// sendto with an address.
	for nr, n := range map[int]int{unix.SYS_FCNTL: 4, unix.SYS_SECCOMP: 1, unix.SYS_SENDTO: 1} {
		if routedIf[nr] != n {
			t.Errorf("%s: %d conditional routing rules, want %d", Name(nr), routedIf[nr], n)
		}
	}
	// Every handler is routed (at least for some arguments).
	for nr := range handlers {
		if class[nr].Class != seccomp.Emulate && routedIf[nr] == 0 && !listingCalls[nr] && wxCalls[nr] == 0 && !memCalls[nr] && !idCalls[nr] && nr != unix.SYS_UNAME {
			t.Errorf("%s has a handler but is %v", Name(nr), class[nr].Class)
		}
	}
	for _, r := range FilterSpec(Options{DenyWX: true}).Rules {
		if r.Nr == unix.SYS_MMAP && len(r.Conds) > 0 && (r.Class != seccomp.Emulate || r.Conds[0].Value != unix.PROT_EXEC) {
			t.Errorf("DenyWX: mmap rule %+v", r)
		}
	}
	if class[unix.SYS_MMAP].Class != seccomp.Pass || routedIf[unix.SYS_MMAP] != 0 {
		t.Errorf("without DenyWX mmap must pass unconditionally")
	}
	// The memory limits route every mmap, mremap and brk; without them
	// brk and mremap pass.
	for _, opts := range []Options{{}, {Memory: true}, {Memory: true, DenyWX: true}} {
		cls := map[int]seccomp.Rule{}
		for _, r := range FilterSpec(opts).Rules {
			if memCalls[r.Nr] {
				if len(r.Conds) > 0 && opts.Memory {
					t.Errorf("%+v: %s routed only for some arguments", opts, Name(r.Nr))
				}
				if _, seen := cls[r.Nr]; !seen {
					cls[r.Nr] = r
				}
			}
		}
		for nr := range memCalls {
			want := seccomp.Pass
			if opts.Memory {
				want = seccomp.Emulate
			}
			if cls[nr].Class != want {
				t.Errorf("%+v: %s is %v, want %v", opts, Name(nr), cls[nr].Class, want)
			}
		}
	}
	hide := FilterSpec(Options{HideNamesInListings: true})
	for _, r := range hide.Rules {
		if r.Nr == unix.SYS_GETDENTS64 && r.Class != seccomp.Emulate {
			t.Errorf("HideNamesInListings: getdents64 is %v", r.Class)
		}
	}
	for _, nr := range passList {
		if handlers[nr] != nil {
			t.Errorf("%s is both passed and emulated", Name(nr))
		}
		if len(class[nr].Conds) != 0 {
			t.Errorf("pass rule for %s has argument conditions (defeats the action cache)", Name(nr))
		}
	}
	if _, err := seccomp.Compile(spec); err != nil {
		t.Fatalf("compile: %v", err)
	}
}

func TestFilterDirents(t *testing.T) {
	// Two linux_dirent64 records: "a" and "secret".
	rec := func(name string, ino byte) []byte {
		l := (19 + len(name) + 1 + 7) &^ 7
		b := make([]byte, l)
		b[0] = ino
		b[16] = byte(l)
		b[18] = unix.DT_REG
		copy(b[19:], name)
		return b
	}
	in := append(rec("a", 1), rec("secret", 2)...)
	out := filterDirents(in, "/d", true, func(n string) bool { return n == "secret" }, true)
	if len(out) != len(rec("a", 1)) || out[19] != 'a' {
		t.Fatalf("filtered listing wrong: %q", out)
	}
	old := filterDirents(rec("a", 1), "/d", false, nil, false)
	if len(old) != 24 || old[18] != 'a' || old[23] != unix.DT_REG {
		t.Fatalf("old dirent conversion wrong: %v", old)
	}
}

// BenchmarkCompileDefault: the filter compile on the start-up path
// (docs/performance.md, fourth session: 3.9 ms before the guard, 0.9 ms
// after).
func BenchmarkCompileDefault(b *testing.B) {
	spec := FilterSpec(Options{})
	for i := 0; i < b.N; i++ {
		if _, err := seccomp.Compile(spec); err != nil {
			b.Fatal(err)
		}
	}
}
