package seccomp

import (
	"fmt"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Action is what an extra (narrowing) filter answers.
type Action struct {
	Kind  string     // "allow", "errno", "trap", "kill", "log"
	Errno unix.Errno // for errno
}

// ArgCond compares one argument (libseccomp/OCI operators).
type ArgCond struct {
	Index    uint
	Op       string // "eq", "ne", "lt", "le", "gt", "ge", "masked_eq"
	Value    uint64
	ValueTwo uint64 // for masked_eq: the value, with Value the mask
}

// ProfileRule gives the action for syscalls, optionally under conditions.
type ProfileRule struct {
	Names  []string
	Action Action
	Args   []ArgCond
}

// Profile is an extra filter: a default action and rules. Stacked on the
// sandbox's own filters it can only narrow: the kernel takes the most
// restrictive answer of all filters, and a profile has no USER_NOTIF.
type Profile struct {
	Default Action
	Rules   []ProfileRule
	// Unknown collects the names libseccomp does not know on x86-64
	// (profiles list names of other architectures).
	Unknown []string
}

func (a Action) scmp() (libseccomp.ScmpAction, error) {
	switch a.Kind {
	case "allow":
		return libseccomp.ActAllow, nil
	case "errno":
		e := a.Errno
		if e == 0 {
			e = unix.EPERM
		}
		return libseccomp.ActErrno.SetReturnCode(int16(e)), nil
	case "trap":
		return libseccomp.ActTrap, nil
	case "kill":
		return libseccomp.ActKillProcess, nil
	case "log":
		return libseccomp.ActLog, nil
	}
	return 0, fmt.Errorf("action %q cannot be used in a narrowing profile", a.Kind)
}

func (c ArgCond) scmp() (libseccomp.ScmpCondition, error) {
	ops := map[string]libseccomp.ScmpCompareOp{"eq": libseccomp.CompareEqual, "ne": libseccomp.CompareNotEqual,
		"lt": libseccomp.CompareLess, "le": libseccomp.CompareLessOrEqual, "gt": libseccomp.CompareGreater,
		"ge": libseccomp.CompareGreaterEqual, "masked_eq": libseccomp.CompareMaskedEqual}
	op, ok := ops[c.Op]
	if !ok {
		return libseccomp.ScmpCondition{}, fmt.Errorf("unknown comparison %q", c.Op)
	}
	if c.Op == "masked_eq" {
		return libseccomp.MakeCondition(c.Index, op, c.Value, c.ValueTwo)
	}
	return libseccomp.MakeCondition(c.Index, op, c.Value)
}

// CompileProfile builds the BPF for p (x86-64 only; the base filter kills
// every other architecture anyway).
func CompileProfile(p *Profile) ([]unix.SockFilter, error) {
	def, err := p.Default.scmp()
	if err != nil {
		return nil, err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, err
	}
	defer f.Release()
	if err := f.SetBadArchAction(libseccomp.ActKillProcess); err != nil {
		return nil, err
	}
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, err
	}
	if err := f.SetOptimize(2); err != nil {
		return nil, err
	}
	for _, r := range p.Rules {
		act, err := r.Action.scmp()
		if err != nil {
			return nil, err
		}
		var conds []libseccomp.ScmpCondition
		for _, a := range r.Args {
			c, err := a.scmp()
			if err != nil {
				return nil, err
			}
			conds = append(conds, c)
		}
		for _, name := range r.Names {
			sc, err := libseccomp.GetSyscallFromName(name)
			if err != nil || sc < 0 {
				// Unknown, or a pseudo-number: no such call on x86-64.
				p.Unknown = append(p.Unknown, name)
				continue
			}
			if act == def && len(conds) == 0 {
				continue
			}
			if len(conds) == 0 {
				err = f.AddRuleExact(sc, act)
			} else {
				err = f.AddRuleConditionalExact(sc, act, conds)
			}
			if err != nil {
				return nil, fmt.Errorf("rule for %s: %w", name, err)
			}
		}
	}
	return export(f)
}
