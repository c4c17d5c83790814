// Command sandbox runs an untrusted program under a seccomp filter whose
// routed syscalls are answered by an in-process Go sentry.
//
//	sandbox run [flags] -- PROGRAM [ARGS...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"go.yaml.in/yaml/v3"

	"sandbox"
	"sandbox/policies"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func usage() {
	fmt.Fprint(os.Stderr, `usage: sandbox run [flags] -- PROGRAM [ARGS...]
       sandbox policy list | show NAME|FILE | check FILE

Runs PROGRAM with its syscalls routed to the sandbox's sentry under a policy
(default: system directories read-only, the current directory read-write, a
private /tmp, a minimal /dev, everything else absent, no network).

run flags:
`)
}

func main() {
	sandbox.MaybeInit()
	if os.Getenv("GOMAXPROCS") == "" {
		// The sentry's hot waiter keeps a P while the guest runs
		// (sentry/wait.go): give the rest of the program its usual share.
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	}
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	switch os.Args[1] {
	case "run":
		os.Exit(run(os.Args[2:]))
	case "policy":
		os.Exit(policyCmd(os.Args[2:]))
	case "-h", "--help", "help":
		usage()
		runFlags(nil).PrintDefaults()
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "sandbox: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
}

type runOpts struct {
	policy, root, cwd, logLevel string
	verbose                     bool
	ro, rw, hide, env, envPass  listFlag
	tmpfs                       listFlag
	seccompProfile              string
	cgroupParent                string
	allowConnect                listFlag
	net                         string
	timeout                     time.Duration
	trace                       string
	summary                     bool
	logFormat                   string
}

// traceFlag is --trace[=FILE]: a bool flag that also takes a value.
type traceFlag struct{ dst *string }

func (f traceFlag) String() string { return "" }
func (f traceFlag) Set(v string) error {
	if v == "true" {
		v = "-"
	}
	*f.dst = v
	return nil
}
func (f traceFlag) IsBoolFlag() bool { return true }

func runFlags(o *runOpts) *flag.FlagSet {
	if o == nil {
		o = &runOpts{}
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&o.policy, "policy", "default", "built-in policy `NAME` or policy FILE")
	fs.StringVar(&o.root, "root", "", "host `DIR` to use as the guest's / (read-only)")
	fs.StringVar(&o.cwd, "cwd", "", "working `DIR` (host path; with --root, a guest path)")
	fs.Var(&o.ro, "ro", "show host `PATH` read-only (repeatable)")
	fs.Var(&o.rw, "rw", "show host `PATH` read-write (repeatable)")
	fs.Var(&o.hide, "hide", "make `PATH` look absent (repeatable)")
	fs.StringVar(&o.cgroupParent, "cgroup-parent", "", "make the sandbox's cgroup (limits.memory, pids.max) in cgroup v2 `DIR`")
	fs.StringVar(&o.seccompProfile, "seccomp-profile", "", "narrow the sandbox further with a Docker/OCI seccomp profile `FILE` (JSON)")
	fs.Var(&o.tmpfs, "tmpfs", "a private empty read-write directory at guest `PATH[:size=SIZE]` (with a size: a tmpfs, ENOSPC when full; repeatable)")
	fs.Var(&o.env, "env", "set `K=V` in the guest's environment (repeatable)")
	fs.Var(&o.envPass, "env-pass", "pass variable `K` from this environment (repeatable)")
	fs.StringVar(&o.net, "net", "", "network `MODE`: none, loopback or allowlist (overrides the policy)")
	fs.Var(&o.allowConnect, "allow-connect", "allow connecting to `ADDR:PORT[/tcp|/udp]` (a CIDR, IP or host name; repeatable)")
	fs.DurationVar(&o.timeout, "timeout", 0, "kill the whole sandbox after `DURATION` (exit status 124, like timeout(1))")
	fs.Var(traceFlag{&o.trace}, "trace", "print every routed syscall, strace-style, to stderr (or --trace=`FILE`; --trace=all routes and shows every syscall, at a cost)")
	fs.BoolVar(&o.summary, "summary", false, "at exit, print a per-syscall table like strace -c")
	fs.StringVar(&o.logFormat, "log-format", "text", "log `FORMAT`: text (for people) or json (for machines)")
	fs.BoolVar(&o.verbose, "v", false, "say what the sandbox does (info logs)")
	fs.StringVar(&o.logLevel, "log-level", "warn", "log `LEVEL`: debug, info, warn, error")
	return fs
}

func run(args []string) int {
	if path := os.Getenv("SANDBOX_CPUPROFILE"); path != "" {
		// For docs/performance.md: a CPU profile of the sentry (go tool
		// pprof bin/sandbox FILE).
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	var o runOpts
	fs := runFlags(&o)
	fs.Usage = func() { usage(); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprintln(os.Stderr, "sandbox run: no program given (usage: sandbox run [flags] -- PROGRAM [ARGS...])")
		return 2
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	lvl, err := logrus.ParseLevel(o.logLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox run: --log-level: %v\n", err)
		return 2
	}
	if o.verbose && lvl < logrus.InfoLevel {
		lvl = logrus.InfoLevel
	}
	log.SetLevel(lvl)
	switch o.logFormat {
	case "text":
	case "json":
		log.SetFormatter(&logrus.JSONFormatter{})
	default:
		fmt.Fprintf(os.Stderr, "sandbox run: --log-format %q: want text or json\n", o.logFormat)
		return 2
	}
	pol, err := policies.Load(o.policy)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox run: %v\n", err)
		return 2
	}
	switch o.net {
	case "":
	case "none", "loopback", "allowlist":
		pol.Network = o.net
	default:
		fmt.Fprintf(os.Stderr, "sandbox run: --net %q: want none, loopback or allowlist\n", o.net)
		return 2
	}
	for _, t := range o.tmpfs {
		if _, _, err := policies.ParseTmpfs(t); err != nil {
			fmt.Fprintf(os.Stderr, "sandbox run: --tmpfs: %v\n", err)
			return 2
		}
	}
	for _, a := range o.allowConnect {
		if err := policies.CheckNetRule(a); err != nil {
			fmt.Fprintf(os.Stderr, "sandbox run: --allow-connect %v\n", err)
			return 2
		}
	}
	cmd := sandbox.Command(context.Background(), pol, rest[0], rest[1:]...)
	cmd.AllowConnect = o.allowConnect
	if o.seccompProfile != "" {
		prof, err := policies.LoadOCIProfile(o.seccompProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sandbox run: %v\n", err)
			return 2
		}
		cmd.SeccompProfile = prof
	}
	cmd.Root, cmd.Dir, cmd.CgroupParent = o.root, o.cwd, o.cgroupParent
	cmd.ReadOnly, cmd.ReadWrite, cmd.Hide, cmd.Tmpfs = o.ro, o.rw, o.hide, o.tmpfs
	for _, kv := range o.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			fmt.Fprintf(os.Stderr, "sandbox run: --env %q: want K=V\n", kv)
			return 2
		}
	}
	cmd.EnvSet, cmd.EnvPass, cmd.Timeout = o.env, o.envPass, o.timeout
	switch o.trace {
	case "":
	case "-":
		cmd.Trace = os.Stderr
	case "all":
		cmd.Trace, cmd.TraceAll = os.Stderr, true
	default:
		f, err := os.Create(o.trace)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sandbox run: --trace: %v\n", err)
			return 2
		}
		defer f.Close()
		cmd.Trace = f
	}
	cmd.Summary = o.summary
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ForwardSignals = true
	cmd.Log = log
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox run: %v\n", err)
		var pe *sandbox.ProgramError
		if errors.As(err, &pe) && pe.NotFound() {
			return 127 // as shells and env say it
		}
		return 126
	}
	err = cmd.Wait()
	if o.summary {
		cmd.WriteSummary(os.Stderr)
	}
	if cmd.TimedOut {
		fmt.Fprintf(os.Stderr, "sandbox: timed out after %v; every process of the sandbox was killed\n", o.timeout)
		return 124
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "sandbox run: %v\n", err)
		return 126
	}
	hits := cmd.LimitsHit()
	if n := hits["processes"]; n > 0 {
		fmt.Fprintf(os.Stderr, "sandbox: %d fork(s) failed with EAGAIN: the sandbox reached limits.processes (%d)\n", n, pol.Limits.Processes)
	}
	if n := hits["files"]; n > 0 {
		fmt.Fprintf(os.Stderr, "sandbox: %d call(s) failed with EMFILE: a process reached its open-file limit (RLIMIT_NOFILE; limits.files: %s)\n", n, filesLimit(pol.Limits.Files))
	}
	if n := hits["memory"]; n > 0 {
		fmt.Fprintf(os.Stderr, "sandbox: %d allocation(s) failed with ENOMEM: the sandbox's processes together reached memory.total (%s)\n", n, pol.Memory.Total)
	}
	if n := hits["cgroup_memory"]; n > 0 {
		fmt.Fprintf(os.Stderr, "sandbox: the kernel's OOM killer killed %d process(es): the sandbox reached limits.memory (%s)\n", n, pol.Limits.Memory)
	}
	if n := hits["cgroup_pids"]; n > 0 {
		fmt.Fprintf(os.Stderr, "sandbox: %d clone(s) failed with EAGAIN: the sandbox reached limits.pids (%d tasks)\n", n, pol.Limits.Pids)
	}
	if n := hits["address_space"]; n > 0 {
		fmt.Fprintf(os.Stderr, "sandbox: %d allocation(s) failed with ENOMEM: a process reached its address-space limit (RLIMIT_AS; limits.address_space: %s)\n", n, pol.Limits.AddressSpace)
	}
	status := sandbox.ExitStatus(cmd.ProcessState)
	switch status - 128 {
	case int(syscall.SIGXCPU):
		fmt.Fprintf(os.Stderr, "sandbox: the guest used up its CPU time (limits.cpu: %d s)\n", pol.Limits.CPU)
	case int(syscall.SIGXFSZ):
		fmt.Fprintf(os.Stderr, "sandbox: the guest wrote past limits.file_size (%s)\n", pol.Limits.FileSize)
	}
	return status
}

func policyCmd(args []string) int {
	if len(args) == 2 && args[0] == "show" {
		p, err := policies.Load(args[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "sandbox policy show: %v\n", err)
			return 1
		}
		out, err := yaml.Marshal(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "sandbox policy show: %v\n", err)
			return 1
		}
		fmt.Printf("# effective policy %s (defaults filled in)\n%s", args[1], out)
		return 0
	}
	if len(args) == 2 && args[0] == "check" {
		if _, err := policies.Load(args[1]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%s: ok\n", args[1])
		return 0
	}
	if len(args) == 1 && args[0] == "list" {
		for _, n := range policies.Names() {
			p, err := policies.Load(n)
			if err != nil {
				fmt.Printf("%s\t(invalid: %v)\n", n, err)
				continue
			}
			fmt.Printf("%s\t%s\n", n, strings.TrimSpace(p.Description))
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "usage: sandbox policy list | show NAME|FILE | check FILE")
	return 2
}

// filesLimit names the open-file limit for the exit explanation.
func filesLimit(n uint64) string {
	if n == 0 {
		return "not set"
	}
	return fmt.Sprint(n)
}
