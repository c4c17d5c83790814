// Package policies holds the policy schema, its parser and validator, and
// the built-in policies (embedded in the binary).
//
// Invariants: a Policy returned by Load or Parse is valid (every path
// absolute, every enum known); errors name the file, line and column.
package policies

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"go.yaml.in/yaml/v3"
)

//go:embed *.yaml
var builtin embed.FS

// Filesystem is the policy's view of the filesystem.
type Filesystem struct {
	ReadOnly  []string `yaml:"read_only"`
	ReadWrite []string `yaml:"read_write"`
	Hide      []string `yaml:"hide"`
	Cwd       string   `yaml:"cwd"`
	Tmp       string   `yaml:"tmp"`
	Dev       string   `yaml:"dev"`
	// HideInListings removes hidden names from directory listings as
	// well (each listing is then a routed call).
	HideInListings bool `yaml:"hide_in_listings"`
	// Deny lists globs ("**" for any depth) of paths that exist but may
	// not be used: EACCES.
	Deny []string `yaml:"deny"`
	// TmpSize, when set (e.g. "64M"), makes the private /tmp a tmpfs of
	// that size: writes beyond it fail with ENOSPC.
	TmpSize string `yaml:"tmp_size"`
	// Tmpfs lists guest paths that get a fresh, empty, private read-write
	// directory per run, removed at exit: "PATH", or "PATH:size=64M" for a
	// tmpfs of that size (ENOSPC when full), as Docker's --tmpfs writes it.
	Tmpfs []string `yaml:"tmpfs"`
	// Files are synthetic read-only files: guest path -> content.
	Files map[string]string `yaml:"files"`
}

// Memory is the policy on the guest's own memory.
type Memory struct {
	// WX: "allow" (default; JITs work) or "deny": no mapping both writable
	// and executable, and no making written memory executable (EACCES).
	WX string `yaml:"wx"`
	// ExecMappings: "any" (default) or "readonly": executable mappings of
	// files only from read-only mounts (not code the guest could write).
	ExecMappings string `yaml:"exec_mappings"`
	// Total caps the address space of all the sandbox's processes
	// together (e.g. "4G"): mmap, mremap, brk and fork beyond it fail with
	// ENOMEM. Setting it routes every mmap, mremap and brk.
	Total string `yaml:"total"`
}

// Limits bounds the sandbox's resources.
type Limits struct {
	// Processes is the most processes the sandbox may have at once;
	// fork beyond it fails with EAGAIN (default 1024; -1: no limit).
	Processes int `yaml:"processes"`
	// AddressSpace caps each guest process's mapped memory
	// (RLIMIT_AS, e.g. "2G"); allocations beyond it fail with ENOMEM.
	AddressSpace string `yaml:"address_space"`
	// Files is the most open files per process (RLIMIT_NOFILE; EMFILE).
	Files uint64 `yaml:"files"`
	// CPU is CPU seconds per process (RLIMIT_CPU; SIGXCPU, then SIGKILL).
	CPU uint64 `yaml:"cpu"`
	// FileSize caps the size of files a process writes (RLIMIT_FSIZE,
	// e.g. "100M"; SIGXFSZ).
	FileSize string `yaml:"file_size"`
	// Core caps core dumps (RLIMIT_CORE); default 0: no core files.
	Core string `yaml:"core"`
	// Memory caps the memory (resident and page cache) of all the
	// sandbox's processes together through a cgroup v2 memory.max (e.g.
	// "2G"); beyond it the kernel reclaims, then its OOM killer kills one.
	// Needs a delegated cgroup v2; else it is not enforced (a warning).
	Memory string `yaml:"memory"`
	// Pids caps the tasks (processes and threads) of the sandbox at once
	// through the cgroup's pids.max: clone beyond it fails with EAGAIN.
	// Needs a delegated cgroup v2, as Memory does.
	Pids int `yaml:"pids"`
}

// Bytes parses a size like "512M", "2G" or "1048576".
func Bytes(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	orig := s
	mul := uint64(1)
	if k := len(s) - 1; k > 0 {
		// Docker and mount(8) write sizes in lower case: both are taken.
		switch s[k] {
		case 'K', 'k':
			mul, s = 1<<10, s[:k]
		case 'M', 'm':
			mul, s = 1<<20, s[:k]
		case 'G', 'g':
			mul, s = 1<<30, s[:k]
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || n > (1<<63)/mul {
		return 0, fmt.Errorf("%q is not a size (like 512M or 2G)", orig)
	}
	return n * mul, nil
}

// ParseTmpfs splits a tmpfs entry, "PATH" or "PATH:size=SIZE", into the
// guest path and the size in bytes (0: no limit).
func ParseTmpfs(entry string) (path string, size uint64, err error) {
	path, opts, hasOpts := strings.Cut(entry, ":")
	if !filepath.IsAbs(path) {
		return "", 0, fmt.Errorf("tmpfs %q: path %q is not absolute", entry, path)
	}
	if !hasOpts {
		return filepath.Clean(path), 0, nil
	}
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(o, "=")
		if k != "size" {
			return "", 0, fmt.Errorf("tmpfs %q: unknown option %q (only size=SIZE)", entry, o)
		}
		if size, err = Bytes(v); err != nil {
			return "", 0, fmt.Errorf("tmpfs %q: %w", entry, err)
		}
	}
	return filepath.Clean(path), size, nil
}

// Environment is what the guest's environment is built from; everything
// else of the caller's environment is dropped (tokens, keys, sockets).
type Environment struct {
	// Pass names variables taken from the caller's environment; a trailing
	// "*" matches a prefix (LC_*).
	Pass []string `yaml:"pass"`
	// Set gives variables fixed values. HOME defaults to the guest's
	// working directory.
	Set map[string]string `yaml:"set"`
}

// Exec limits what the guest may execute.
type Exec struct {
	// Allow, when set, lists what may be executed after the program
	// itself: absolute paths, directory prefixes ending in "/", or globs.
	// An empty list allows only the program. Unset: anything the
	// filesystem view lets the guest execute.
	Allow *[]string `yaml:"allow"`
}

// Policy is one workload's rules.
type Policy struct {
	// Extends names a built-in policy or a file this one builds on: fields
	// set here replace the parent's (lists too), maps merge.
	Extends     string     `yaml:"extends"`
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Filesystem  Filesystem `yaml:"filesystem"`
	Network     string     `yaml:"network"`
	// NetworkAllow lists the destinations of network: allowlist, as
	// "ADDR:PORT[-PORT][/tcp|/udp]" (ADDR: CIDR, IP or host name).
	NetworkAllow []string    `yaml:"network_allow"`
	Limits       Limits      `yaml:"limits"`
	Memory       Memory      `yaml:"memory"`
	Environment  Environment `yaml:"environment"`
	Exec         Exec        `yaml:"exec"`
	// Hostname, when set, is the node name uname(2) reports to the guest.
	Hostname string `yaml:"hostname"`
	// Syscalls narrow what the sandbox allows (see SyscallRule).
	Syscalls []SyscallRule `yaml:"syscalls"`
}

// DefaultPass is the environment the default policy lets through.
var DefaultPass = []string{"PATH", "LANG", "LC_*", "TERM", "TZ"}

// BuildEnv makes the guest's environment from the caller's: the policy's
// pass list, then its set values, then extra K=V pairs; HOME is the
// guest's working directory unless set.
func (p *Policy) BuildEnv(caller []string, passExtra []string, setExtra []string, cwd string) []string {
	pass := append(append([]string(nil), p.Environment.Pass...), passExtra...)
	vals := map[string]string{}
	var order []string
	put := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, kv := range caller {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		for _, pat := range pass {
			if pat == k || (strings.HasSuffix(pat, "*") && strings.HasPrefix(k, strings.TrimSuffix(pat, "*"))) {
				put(k, v)
				break
			}
		}
	}
	if _, ok := p.Environment.Set["HOME"]; !ok {
		put("HOME", cwd)
	}
	keys := make([]string, 0, len(p.Environment.Set))
	for k := range p.Environment.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		put(k, p.Environment.Set[k])
	}
	for _, kv := range setExtra {
		if k, v, ok := strings.Cut(kv, "="); ok {
			put(k, v)
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out
}

// Names lists the built-in policies.
func Names() []string {
	ents, _ := builtin.ReadDir(".")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Load returns a built-in policy by name, or parses a file when nameOrFile
// contains a slash or ends in .yaml.
func Load(nameOrFile string) (*Policy, error) { return load(nameOrFile, 0) }

func load(nameOrFile string, depth int) (*Policy, error) {
	if nameOrFile == "" {
		nameOrFile = "default"
	}
	if strings.ContainsRune(nameOrFile, '/') || strings.HasSuffix(nameOrFile, ".yaml") || strings.HasSuffix(nameOrFile, ".yml") {
		data, err := os.ReadFile(nameOrFile)
		if err != nil {
			return nil, fmt.Errorf("open policy %s: %w", nameOrFile, err)
		}
		return parse(nameOrFile, data, depth)
	}
	data, err := builtin.ReadFile(nameOrFile + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no built-in policy %q (built-ins: %s)", nameOrFile, strings.Join(Names(), ", "))
	}
	return parse(nameOrFile, data, depth)
}

// Parse parses and validates a policy document.
func Parse(source string, data []byte) (*Policy, error) {
	return parse(source, data, 0)
}

func parse(source string, data []byte, depth int) (*Policy, error) {
	var head struct {
		Extends string `yaml:"extends"`
	}
	_ = yaml.Unmarshal(data, &head)
	var p Policy
	if head.Extends != "" {
		if depth > 8 {
			return nil, fmt.Errorf("policy %s: extends nests too deep (a cycle?)", source)
		}
		base, err := load(head.Extends, depth+1)
		if err != nil {
			return nil, fmt.Errorf("policy %s: extends: %w", source, err)
		}
		p = *base
		p.Name, p.Description = "", ""
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var typeErrs []string
	if err := dec.Decode(&p); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, fmt.Errorf("policy %s: %s", source, strings.ReplaceAll(err.Error(), "\n", `\n`))
		}
		// Unknown fields and wrong types: the rest of the document was
		// still decoded, so validate it too and report everything.
		for _, m := range te.Errors {
			typeErrs = append(typeErrs, fmt.Sprintf("policy %s: %s", source, strings.ReplaceAll(m, "\n", `\n`)))
		}
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	verr := p.validate(source, &root)
	if len(typeErrs) > 0 {
		if verr != nil {
			typeErrs = append(typeErrs, verr.Error())
		}
		return nil, errors.New(strings.Join(typeErrs, "\n"))
	}
	if verr != nil {
		return nil, verr
	}
	return &p, nil
}

// position finds the line:column of a key path in the document, for errors.
func position(root *yaml.Node, keys ...string) string {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return ""
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	if n == nil {
		return ""
	}
	return fmt.Sprintf(":%d:%d", n.Line, n.Column)
}

func (p *Policy) validate(src string, root *yaml.Node) error {
	var errs []string
	bad := func(keys []string, format string, a ...any) {
		errs = append(errs, fmt.Sprintf("%s%s: %s", src, position(root, keys...), fmt.Sprintf(format, a...)))
	}
	fs := &p.Filesystem
	for _, l := range []struct {
		key   string
		paths []string
	}{{"read_only", fs.ReadOnly}, {"read_write", fs.ReadWrite}, {"hide", fs.Hide}} {
		for _, x := range l.paths {
			if !filepath.IsAbs(x) {
				bad([]string{"filesystem", l.key}, "path %q is not absolute", x)
			}
		}
	}
	for _, t := range fs.Tmpfs {
		if _, _, err := ParseTmpfs(t); err != nil {
			bad([]string{"filesystem", "tmpfs"}, "%v", err)
		}
	}
	if fs.TmpSize != "" {
		if _, err := Bytes(fs.TmpSize); err != nil {
			bad([]string{"filesystem", "tmp_size"}, "%v", err)
		} else if fs.Tmp == "none" {
			bad([]string{"filesystem", "tmp_size"}, "tmp_size needs tmp: private")
		}
	}
	if fs.Cwd == "" {
		fs.Cwd = "read-write"
	}
	if fs.Tmp == "" {
		fs.Tmp = "private"
	}
	if fs.Dev == "" {
		fs.Dev = "minimal"
	}
	if p.Network == "" {
		p.Network = "none"
	}
	switch {
	case p.Limits.Processes == 0:
		p.Limits.Processes = 1024
	case p.Limits.Processes < -1:
		bad([]string{"limits", "processes"}, "%d is not a process count (-1 means no limit)", p.Limits.Processes)
	}
	if p.Limits.Pids < 0 {
		bad([]string{"limits", "pids"}, "%d is not a task count", p.Limits.Pids)
	}
	check := func(keys []string, v string, ok ...string) {
		for _, o := range ok {
			if v == o {
				return
			}
		}
		bad(keys, "%q is not one of %s", v, strings.Join(ok, ", "))
	}
	check([]string{"filesystem", "cwd"}, fs.Cwd, "read-write", "read-only", "none")
	check([]string{"filesystem", "tmp"}, fs.Tmp, "private", "none")
	check([]string{"filesystem", "dev"}, fs.Dev, "minimal", "none")
	check([]string{"network"}, p.Network, "none", "loopback", "allowlist")
	for _, a := range p.NetworkAllow {
		if err := CheckNetRule(a); err != nil {
			bad([]string{"network_allow"}, "%v", err)
		}
	}
	for f := range fs.Files {
		if !filepath.IsAbs(f) {
			bad([]string{"filesystem", "files"}, "path %q is not absolute", f)
		}
	}
	for _, d := range fs.Deny {
		if !strings.HasPrefix(d, "/") && !strings.HasPrefix(d, "**") {
			bad([]string{"filesystem", "deny"}, "%q: a deny pattern starts with / or **", d)
		}
	}
	if len(p.Hostname) > 64 || strings.ContainsAny(p.Hostname, "\x00/ ") {
		bad([]string{"hostname"}, "%q is not a host name", p.Hostname)
	}
	for i, r := range p.Syscalls {
		if len(r.Names) == 0 {
			bad([]string{"syscalls"}, "rule %d names no syscall", i)
		}
		for _, n := range r.Names {
			if _, ok := syscallNumber(n); !ok {
				bad([]string{"syscalls"}, "rule %d: unknown syscall %q", i, n)
			}
		}
		switch r.Action {
		case "allow", "errno", "trap", "kill", "log":
		case "emulate":
			bad([]string{"syscalls"}, "rule %d: emulate is the sandbox's own decision, not a policy action", i)
		default:
			bad([]string{"syscalls"}, "rule %d: action %q is not one of allow, errno, trap, kill, log", i, r.Action)
		}
		if _, err := errnoOf(r.Errno); err != nil {
			bad([]string{"syscalls"}, "rule %d: %v", i, err)
		}
		for _, a := range r.Args {
			if a.Index > 5 {
				bad([]string{"syscalls"}, "rule %d: argument index %d (0-5)", i, a.Index)
			}
			switch a.Op {
			case "eq", "ne", "lt", "le", "gt", "ge", "masked_eq":
			default:
				bad([]string{"syscalls"}, "rule %d: op %q", i, a.Op)
			}
		}
	}
	if p.Exec.Allow != nil {
		for _, e := range *p.Exec.Allow {
			if !filepath.IsAbs(e) {
				bad([]string{"exec", "allow"}, "%q is not an absolute path", e)
			} else if _, err := filepath.Match(e, "/"); err != nil {
				bad([]string{"exec", "allow"}, "%q: %v", e, err)
			}
		}
	}
	if p.Environment.Pass == nil {
		p.Environment.Pass = DefaultPass
	}
	for k := range p.Environment.Set {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			bad([]string{"environment", "set"}, "%q is not a variable name", k)
		}
	}
	if p.Memory.WX == "" {
		p.Memory.WX = "allow"
	}
	check([]string{"memory", "wx"}, p.Memory.WX, "allow", "deny")
	if p.Memory.ExecMappings == "" {
		p.Memory.ExecMappings = "any"
	}
	check([]string{"memory", "exec_mappings"}, p.Memory.ExecMappings, "any", "readonly")
	for key, v := range map[string]string{"address_space": p.Limits.AddressSpace, "file_size": p.Limits.FileSize, "core": p.Limits.Core, "memory": p.Limits.Memory} {
		if v != "" && v != "0" {
			if _, err := Bytes(v); err != nil {
				bad([]string{"limits", key}, "%v", err)
			}
		}
	}
	if p.Memory.Total != "" {
		if _, err := Bytes(p.Memory.Total); err != nil {
			bad([]string{"memory", "total"}, "%v", err)
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// CheckNetRule checks the syntax of a network_allow entry (host names are
// resolved only when a sandbox starts).
func CheckNetRule(a string) error {
	spec := strings.TrimSuffix(strings.TrimSuffix(a, "/tcp"), "/udp")
	i := strings.LastIndex(spec, ":")
	if i <= 0 {
		return fmt.Errorf("%q: want ADDR:PORT[-PORT][/tcp|/udp]", a)
	}
	host, ports := strings.Trim(spec[:i], "[]"), spec[i+1:]
	lo, hi, isRange := ports, ports, false
	if x, y, ok := strings.Cut(ports, "-"); ok {
		lo, hi, isRange = x, y, true
	}
	l, err1 := strconv.ParseUint(lo, 10, 16)
	h, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || (isRange && h < l) {
		return fmt.Errorf("%q: bad port %q", a, ports)
	}
	if strings.Contains(host, "/") {
		if _, _, err := net.ParseCIDR(host); err != nil {
			return fmt.Errorf("%q: bad CIDR %q", a, host)
		}
	}
	if host == "" {
		return fmt.Errorf("%q: no address", a)
	}
	return nil
}

// ExecAllowed tells whether guest path may be executed under allow (see
// Exec.Allow).
func ExecAllowed(allow []string, path string) bool {
	for _, a := range allow {
		if strings.HasSuffix(a, "/") && strings.HasPrefix(path, a) {
			return true
		}
		if ok, _ := filepath.Match(a, path); ok {
			return true
		}
	}
	return false
}

// syscallNumber looks a syscall name up on x86-64.
func syscallNumber(name string) (int, bool) {
	n, err := libseccomp.GetSyscallFromName(name)
	return int(n), err == nil
}
