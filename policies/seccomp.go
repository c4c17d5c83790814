package policies

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"sandbox/seccomp"
)

// SyscallRule is a policy's rule for some syscalls. Rules only narrow what
// the sandbox allows: they compile into an extra filter stacked on the
// sandbox's own, and the kernel takes the most restrictive answer.
type SyscallRule struct {
	Names  []string  `yaml:"names"`
	Action string    `yaml:"action"` // allow, errno, trap, kill, log
	Errno  string    `yaml:"errno"`  // a name (EPERM) or number; default EPERM
	Args   []ArgRule `yaml:"args"`
}

// ArgRule is a condition on one argument.
type ArgRule struct {
	Index    uint   `yaml:"index"`
	Op       string `yaml:"op"` // eq ne lt le gt ge masked_eq
	Value    uint64 `yaml:"value"`
	ValueTwo uint64 `yaml:"value_two"`
}

func errnoOf(s string) (unix.Errno, error) {
	if s == "" {
		return unix.EPERM, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 4096 {
		return unix.Errno(n), nil
	}
	for e := unix.Errno(1); e < 134; e++ {
		if unix.ErrnoName(e) == s {
			return e, nil
		}
	}
	return 0, fmt.Errorf("%q is not an errno", s)
}

// SyscallProfile turns the policy's syscall rules into a narrowing
// profile (nil when there are none).
func (p *Policy) SyscallProfile() (*seccomp.Profile, error) {
	if len(p.Syscalls) == 0 {
		return nil, nil
	}
	prof := &seccomp.Profile{Default: seccomp.Action{Kind: "allow"}}
	for _, r := range p.Syscalls {
		e, err := errnoOf(r.Errno)
		if err != nil {
			return nil, err
		}
		rule := seccomp.ProfileRule{Names: r.Names, Action: seccomp.Action{Kind: r.Action, Errno: e}}
		for _, a := range r.Args {
			rule.Args = append(rule.Args, seccomp.ArgCond{Index: a.Index, Op: a.Op, Value: a.Value, ValueTwo: a.ValueTwo})
		}
		prof.Rules = append(prof.Rules, rule)
	}
	return prof, nil
}

// ociProfile is the Docker/OCI seccomp profile JSON.
type ociProfile struct {
	DefaultAction   string   `json:"defaultAction"`
	DefaultErrnoRet *uint    `json:"defaultErrnoRet"`
	Architectures   []string `json:"architectures"`
	Syscalls        []struct {
		Names    []string `json:"names"`
		Name     string   `json:"name"`
		Action   string   `json:"action"`
		ErrnoRet *uint    `json:"errnoRet"`
		Args     []struct {
			Index    uint   `json:"index"`
			Value    uint64 `json:"value"`
			ValueTwo uint64 `json:"valueTwo"`
			Op       string `json:"op"`
		} `json:"args"`
		Includes struct {
			Caps   []string `json:"caps"`
			Arches []string `json:"arches"`
		} `json:"includes"`
		Excludes struct {
			Caps   []string `json:"caps"`
			Arches []string `json:"arches"`
		} `json:"excludes"`
	} `json:"syscalls"`
}

func ociAction(a string, errnoRet *uint) (seccomp.Action, error) {
	errno := unix.EPERM
	if errnoRet != nil {
		errno = unix.Errno(*errnoRet)
	}
	switch a {
	case "SCMP_ACT_ALLOW":
		return seccomp.Action{Kind: "allow"}, nil
	case "SCMP_ACT_ERRNO":
		return seccomp.Action{Kind: "errno", Errno: errno}, nil
	case "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD":
		return seccomp.Action{Kind: "kill"}, nil
	case "SCMP_ACT_TRAP":
		return seccomp.Action{Kind: "trap"}, nil
	case "SCMP_ACT_LOG":
		return seccomp.Action{Kind: "log"}, nil
	case "SCMP_ACT_TRACE":
		// No tracer can attach to a sandboxed process: the kernel would
		// answer ENOSYS.
		return seccomp.Action{Kind: "errno", Errno: unix.ENOSYS}, nil
	}
	return seccomp.Action{}, fmt.Errorf("action %q is not supported (SCMP_ACT_NOTIFY would compete with the sandbox's own notifier)", a)
}

var ociOps = map[string]string{"SCMP_CMP_EQ": "eq", "SCMP_CMP_NE": "ne", "SCMP_CMP_LT": "lt", "SCMP_CMP_LE": "le",
	"SCMP_CMP_GT": "gt", "SCMP_CMP_GE": "ge", "SCMP_CMP_MASKED_EQ": "masked_eq"}

func amd64(arches []string) bool {
	for _, a := range arches {
		switch a {
		case "amd64", "x86_64", "SCMP_ARCH_X86_64", "x86-64":
			return true
		}
	}
	return len(arches) == 0
}

// LoadOCIProfile reads a Docker/OCI seccomp profile as a narrowing
// profile. Rules that apply only with capabilities are skipped (the guest
// has none), as are rules for other architectures.
func LoadOCIProfile(path string) (*seccomp.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	var o ociProfile
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("seccomp profile %s: %w", path, err)
	}
	def, err := ociAction(o.DefaultAction, o.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile %s: defaultAction: %w", path, err)
	}
	if !amd64(o.Architectures) && len(o.Architectures) > 0 {
		return nil, fmt.Errorf("seccomp profile %s: no x86-64 in architectures %v", path, o.Architectures)
	}
	prof := &seccomp.Profile{Default: def}
	for i, r := range o.Syscalls {
		if len(r.Includes.Caps) > 0 || !amd64(r.Includes.Arches) || (len(r.Excludes.Arches) > 0 && amd64(r.Excludes.Arches)) {
			continue
		}
		act, err := ociAction(r.Action, r.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("seccomp profile %s: syscalls[%d]: %w", path, i, err)
		}
		names := r.Names
		if r.Name != "" {
			names = append(names, r.Name)
		}
		rule := seccomp.ProfileRule{Names: names, Action: act}
		for j, a := range r.Args {
			op, ok := ociOps[a.Op]
			if !ok {
				return nil, fmt.Errorf("seccomp profile %s: syscalls[%d].args[%d]: op %q", path, i, j, a.Op)
			}
			c := seccomp.ArgCond{Index: a.Index, Op: op, Value: a.Value, ValueTwo: a.ValueTwo}
			rule.Args = append(rule.Args, c)
		}
		prof.Rules = append(prof.Rules, rule)
	}
	return prof, nil
}

var _ = strings.TrimSpace
