package integration

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestIPCNamespace: with an IPC namespace of the guest's own (made with
// CAP_SYS_ADMIN, or in its user namespace when unprivileged), System V
// IPC and POSIX message queues work as natively; a segment the host holds
// is not visible from inside. Without a namespace they stay refused.
func TestIPCNamespace(t *testing.T) {
	key := 0x5b0c0000 | os.Getpid()&0xffff
	id, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|0o600)
	if err != nil {
		t.Fatalf("host segment: %v", err)
	}
	defer unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	hexKey := fmt.Sprintf("%x", key)
	asCallerAndNobody(t, func(t *testing.T, cred *syscall.Credential) {
		dir := t.TempDir()
		prog := installC(t, "ipc", dir, "ipc")
		sandbox := ""
		if cred != nil {
			chownTree(t, dir, nobody, nobody)
			sandbox = unprivSandbox(t)
		}
		spec := runSpec{Dir: dir, Cred: cred, Sandbox: sandbox}
		native := runNative(t, spec, prog, "all")
		res := runSandbox(t, spec, nil, prog, "all")
		withNS := cred == nil && hasSysAdmin() || cred != nil && userNSFor(t, cred)
		if !withNS {
			if !strings.Contains(string(res.Stdout), "shmget = "+rawErr(1, "EPERM")) {
				t.Errorf("without an IPC namespace, System V IPC must be refused\n%s", res.describe())
			}
			return
		}
		if res.Status != 0 || string(res.Stdout) != string(native.Stdout) {
			t.Errorf("differs from native\nnative:\n%s\nsandbox:\n%s", native.describe(), res.describe())
		}
		if cred != nil {
			return // the host segment is root's: uid 65534 cannot see it natively either
		}
		if r := runNative(t, spec, prog, "probe", hexKey); !strings.Contains(string(r.Stdout), "shmget(host key) = 0") {
			t.Fatalf("the host segment is not visible natively:\n%s", r.describe())
		}
		r := runSandbox(t, spec, nil, prog, "probe", hexKey)
		if !strings.Contains(string(r.Stdout), "shmget(host key) = "+rawErr(2, "ENOENT")) {
			t.Errorf("ESCAPE: the guest sees the host's System V segment\n%s", r.describe())
		}
	})
}
