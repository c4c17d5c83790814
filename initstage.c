// The init stage: the process that becomes the guest. It runs in C, in the
// watchdog's child, before any Go runtime exists (watchdog.go): a Go
// runtime's start cost this short-lived stage 4-5 ms of CPU on the start-up
// path, on a machine where the filter compile wants the same CPU.
//
// It does, in order: the sized tmpfs mounts (before the spec, which the
// sentry builds from them); read the spec (init.go encodes it); no_new_privs;
// an IPC namespace; the Landlock ruleset over the host trees of the view;
// the mount namespace's binds; Landlock on; rlimits; every capability
// dropped; the filters (base, routing with the listener, narrowing); the
// report (pid, listener fd, flags); the exec. Any failure prints
// "sandbox: init: ..." and exits 127 (the sentry, watching, gives up).

#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "initstage.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif

// Fds of the hand-off (init.go).
enum { SPEC_FD = 3, REPORT_FD = 4, TMPFS_FD = 5 };

// Spec record tags (init.go, specTag*).
enum {
	TAG_FILTER_BASE = 1,
	TAG_FILTER_NOTIFY = 2,
	TAG_FILTER_EXTRA = 3,
	TAG_PATH = 4,
	TAG_ARG = 5,
	TAG_ENV = 6,
	TAG_LANDLOCK = 7,
	TAG_RLIMIT = 8,
	TAG_BIND = 9,
	TAG_IPC = 10,
	TAG_UMASK = 11,
	TAG_SIGNALS = 12,
};

enum { REPORT_BOUND = 1 }; // reportBound in init.go

// Landlock filesystem rights, by ABI version.
#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_V1 ((1ULL << 13) - 1) // EXECUTE .. MAKE_SYM
#define LL_REFER (1ULL << 13)     // v2
#define LL_TRUNCATE (1ULL << 14)  // v3
#define LL_IOCTL_DEV (1ULL << 15) // v5
#define LL_FILE_RIGHTS (LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE | LL_IOCTL_DEV)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) // v6
#define LL_SCOPE_SIGNAL (1ULL << 1)        // v6

#define SECCOMP_SET_MODE_FILTER_ 1
#define FLAG_NEW_LISTENER (1UL << 3)
#define FLAG_WAIT_KILLABLE_RECV (1UL << 5)

struct bind {
	int ro, nested;
	const char *host, *guest;
};

struct rule {
	int write;
	const char *path;
};

struct spec {
	struct sock_fprog *base, notify, *extra;
	int nbase, nextra;
	const char *path;
	char **argv, **envp;
	int argc, envc;
	struct rule *ll;
	int nll;
	struct {
		uint32_t res;
		uint64_t v;
	} *rl;
	int nrl;
	struct bind *binds;
	int nbinds;
	int ipc;
	int umask; // -1: none given
	int has_signals;
	uint64_t sigign, sigmask;
	uint32_t closedstd; // bit n: the caller had fd n closed
};

struct ruleset {
	int fd; // -1: the kernel has no Landlock
	int abi;
	uint64_t handled;
};

static void vfail(int code, const char *fmt, va_list ap) __attribute__((noreturn));

static void vfail(int code, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	dprintf(2, "sandbox: init: %s\n", msg);
	_exit(code);
}

// fail reports what went wrong and exits 127.
static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(127, fmt, ap);
}

static void fail_code(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

static void fail_code(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(code, fmt, ap);
}

// errstr is strerror in the Go runtime's spelling (lower case), which the
// sandbox's other messages use.
static const char *errstr(int e)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "%s", strerror(e));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		fail("out of memory");
	return p;
}

// mount_sized makes the guest's mount namespace and the sized tmpfs mounts
// listed in SANDBOX_TMPFS ("SIZE:HOSTPATH" lines), then reports "ok PID" or
// what failed on TMPFS_FD (tmpfs.go reads it).
static void mount_sized(void)
{
	const char *enc = getenv("SANDBOX_TMPFS");
	if (!enc || !*enc)
		return;
	if (!getenv("SANDBOX_USERNS") && unshare(CLONE_NEWNS) < 0) {
		// Root: a namespace of our own (in a user namespace, the clone
		// made one already).
		dprintf(TMPFS_FD, "mount namespace: %s\n", errstr(errno));
		goto out;
	}
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		dprintf(TMPFS_FD, "make the namespace private: %s\n", errstr(errno));
		goto out;
	}
	char *list = strdup(enc);
	if (!list)
		fail("out of memory");
	for (char *save = NULL, *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon) {
			dprintf(TMPFS_FD, "bad tmpfs entry %s\n", line);
			goto out;
		}
		*colon = 0;
		char opts[64];
		snprintf(opts, sizeof opts, "mode=1777,size=%s", line);
		if (mount("tmpfs", colon + 1, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
			dprintf(TMPFS_FD, "mount (%s): %s\n", opts, errstr(errno));
			goto out;
		}
	}
	dprintf(TMPFS_FD, "ok %d\n", (int)getpid());
out:
	close(TMPFS_FD);
}

static char *read_all(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = xcalloc(1, cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			if (!(buf = realloc(buf, cap)))
				fail("out of memory");
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail("read spec: %s", errstr(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

static uint32_t le32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return u[0] | u[1] << 8 | u[2] << 16 | (uint32_t)u[3] << 24;
}

static uint64_t le64(const char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

// cstr checks that a record's payload is one NUL-terminated string.
static const char *cstr(const char *p, uint32_t len)
{
	if (len == 0 || p[len - 1] != 0 || memchr(p, 0, len) != p + len - 1)
		fail("spec: a string record is malformed");
	return p;
}

static struct sock_fprog prog(const char *p, uint32_t len)
{
	if (len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		fail("bpf program of %u bytes is not a sock_filter array", len);
	struct sock_fprog f = {.len = (unsigned short)(len / sizeof(struct sock_filter))};
	f.filter = xcalloc(f.len, sizeof(struct sock_filter));
	memcpy(f.filter, p, len);
	return f;
}

// parse reads the records: tag and length (32 bits little-endian each),
// then the payload. Two passes: count, then fill.
static void parse(const char *buf, size_t len, struct spec *s)
{
	int counts[TAG_SIGNALS + 1] = {0};
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			s->base = xcalloc((size_t)counts[TAG_FILTER_BASE], sizeof *s->base);
			s->extra = xcalloc((size_t)counts[TAG_FILTER_EXTRA], sizeof *s->extra);
			s->argv = xcalloc((size_t)counts[TAG_ARG] + 1, sizeof *s->argv);
			s->envp = xcalloc((size_t)counts[TAG_ENV] + 1, sizeof *s->envp);
			s->ll = xcalloc((size_t)counts[TAG_LANDLOCK], sizeof *s->ll);
			s->rl = xcalloc((size_t)counts[TAG_RLIMIT], sizeof *s->rl);
			s->binds = xcalloc((size_t)counts[TAG_BIND], sizeof *s->binds);
		}
		size_t off = 0;
		while (off < len) {
			if (len - off < 8)
				fail("spec: truncated record");
			uint32_t tag = le32(buf + off), n = le32(buf + off + 4);
			const char *p = buf + off + 8;
			if (n > len - off - 8)
				fail("spec: truncated record");
			off += 8 + (size_t)n;
			if (tag == 0 || tag > TAG_SIGNALS)
				fail("spec: unknown record %u", tag);
			if (pass == 0) {
				counts[tag]++;
				continue;
			}
			switch (tag) {
			case TAG_FILTER_BASE:
				s->base[s->nbase++] = prog(p, n);
				break;
			case TAG_FILTER_NOTIFY:
				s->notify = prog(p, n);
				break;
			case TAG_FILTER_EXTRA:
				s->extra[s->nextra++] = prog(p, n);
				break;
			case TAG_PATH:
				s->path = cstr(p, n);
				break;
			case TAG_ARG:
				s->argv[s->argc++] = (char *)cstr(p, n);
				break;
			case TAG_ENV:
				s->envp[s->envc++] = (char *)cstr(p, n);
				break;
			case TAG_LANDLOCK:
				if (n < 2)
					fail("spec: malformed landlock record");
				s->ll[s->nll++] = (struct rule){p[0] != 0, cstr(p + 1, n - 1)};
				break;
			case TAG_RLIMIT:
				if (n != 12)
					fail("spec: malformed rlimit record");
				s->rl[s->nrl].res = le32(p);
				s->rl[s->nrl++].v = le64(p + 4);
				break;
			case TAG_BIND: {
				// ro, nested, host NUL guest NUL
				const char *end = p + n;
				if (n < 6 || end[-1] != 0)
					fail("spec: malformed bind record");
				const char *host = p + 2;
				const char *nul = memchr(host, 0, (size_t)(end - host));
				if (nul == end - 1)
					fail("spec: malformed bind record");
				s->binds[s->nbinds++] = (struct bind){p[0] != 0, p[1] != 0, host, cstr(nul + 1, (uint32_t)(end - nul - 1))};
				break;
			}
			case TAG_IPC:
				s->ipc = 1;
				break;
			case TAG_SIGNALS:
				if (n != 20)
					fail("spec: malformed signals record");
				s->has_signals = 1;
				s->sigign = le64(p);
				s->sigmask = le64(p + 8);
				s->closedstd = le32(p + 16);
				break;
			case TAG_UMASK:
				if (n != 4)
					fail("spec: malformed umask record");
				s->umask = (int)(le32(p) & 0777);
				break;
			}
		}
	}
	if (!s->path || s->argc == 0 || s->nbase == 0 || s->notify.len == 0)
		fail("spec: program, arguments or filters missing");
}

static void ll_prepare(struct ruleset *rs)
{
	rs->fd = -1;
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */);
	if (abi <= 0)
		return;
	struct {
		uint64_t fs, net, scoped;
	} attr = {LL_V1, 0, 0};
	if (abi >= 2)
		attr.fs |= LL_REFER;
	if (abi >= 3)
		attr.fs |= LL_TRUNCATE;
	if (abi >= 5)
		attr.fs |= LL_IOCTL_DEV;
	size_t size = sizeof attr;
	if (abi >= 6)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	else
		size = 8; // ABI 1-3 know handled_access_fs only; 4-5 also net (left 0)
	long fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		fail("landlock_create_ruleset: %s", errstr(errno));
	rs->fd = (int)fd;
	rs->abi = (int)abi;
	rs->handled = attr.fs;
}

// ll_add_fd allows the tree beneath fd: read and execute, or everything
// when write; a file gets only the rights that apply to files.
static void ll_add_fd(struct ruleset *rs, int fd, int write, const char *name)
{
	if (rs->fd < 0)
		return;
	struct stat st = {0};
	fstat(fd, &st);
	uint64_t allowed = write ? rs->handled : (LL_EXECUTE | LL_READ_FILE | LL_READ_DIR);
	if (!S_ISDIR(st.st_mode))
		allowed &= LL_FILE_RIGHTS;
	struct __attribute__((packed)) {
		uint64_t allowed;
		int32_t fd;
	} pb = {allowed & rs->handled, fd};
	if (syscall(SYS_landlock_add_rule, rs->fd, 1 /* PATH_BENEATH */, &pb, 0) < 0)
		fail("landlock_add_rule %s: %s", name, errstr(errno));
}

static void ll_add(struct ruleset *rs, const char *path, int write)
{
	if (rs->fd < 0)
		return;
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		fail("landlock rule %s: %s", path, errstr(errno));
	ll_add_fd(rs, fd, write, path);
	close(fd);
}

// mqueue_root returns a detached mount of the IPC namespace's mqueue
// filesystem (the superblock mq_open works in), or -1.
static int mqueue_root(void)
{
	int fs = (int)syscall(SYS_fsopen, "mqueue", 1 /* FSOPEN_CLOEXEC */);
	if (fs < 0)
		return -1;
	int m = -1;
	if (syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0) == 0)
		m = (int)syscall(SYS_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, 0);
	close(fs);
	return m;
}

// locked_flags are the flags a read-only remount of the bind at path must
// keep: in a user namespace, clearing nosuid, nodev or noexec that the
// source mount had is refused (EPERM).
static unsigned long locked_flags(const char *path)
{
	struct statfs fs;
	if (statfs(path, &fs) < 0)
		return 0;
	static const struct {
		unsigned long st, ms;
	} map[] = {
	    {ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC}, {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
	};
	unsigned long keep = 0;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if ((unsigned long)fs.f_flags & map[i].st)
			keep |= map[i].ms;
	return keep;
}

static void mkdir_all(const char *path)
{
	char *p = strdup(path);
	if (!p)
		fail("out of memory");
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	}
	mkdir(p, 0755);
	free(p);
}

// bind_all makes a mount namespace holding the binds, all or nothing (a
// half-built namespace could show the kernel an empty mount point where the
// sentry sees a mount), and allows their guest paths in the ruleset (nested
// ones have theirs already, by host path). It returns whether the binds
// were made; without them exec from those paths stays refused by the
// sentry, which checks what the kernel would run either way.
static int bind_all(struct spec *s, struct ruleset *rs)
{
	if (s->nbinds == 0)
		return 0;
	if (unshare(CLONE_NEWNS) < 0)
		return 0;
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 0;
	// Sources first, from inside the namespace (a bind takes only mounts
	// of the caller's own): a bind over /tmp hides a source below host /tmp.
	int *fds = xcalloc((size_t)s->nbinds, sizeof *fds);
	int opened = 0, done = 0, ok = 0;
	for (; opened < s->nbinds; opened++) {
		fds[opened] = open(s->binds[opened].host, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fds[opened] < 0)
			goto out;
	}
	for (; done < s->nbinds; done++) {
		struct bind *b = &s->binds[done];
		char src[64];
		snprintf(src, sizeof src, "/proc/self/fd/%d", fds[done]);
		if (b->nested)
			mkdir_all(b->guest); // a mount point inside a bound private directory
		if (mount(src, b->guest, NULL, MS_BIND | MS_REC, NULL) < 0)
			goto out;
		if (b->ro && mount("none", b->guest, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | locked_flags(b->guest), NULL) < 0) {
			done++; // bound: undone below
			goto out;
		}
	}
	ok = 1;
out:
	for (int i = 0; i < opened; i++)
		close(fds[i]);
	free(fds);
	if (!ok) {
		for (int i = done - 1; i >= 0; i--)
			umount2(s->binds[i].guest, MNT_DETACH);
		return 0;
	}
	for (int i = 0; i < s->nbinds; i++)
		if (!s->binds[i].nested)
			ll_add(rs, s->binds[i].guest, !s->binds[i].ro);
	return 1;
}

// drop_capabilities leaves the guest no capability in any set. The sentry
// performs the guest's file operations with its own credentials, so a root
// guest still reads and writes as root; what it loses is the kernel-side
// privilege of the calls that run natively (filesystem freeze and label
// ioctls, console redirection, raising hard limits...).
static void drop_capabilities(void)
{
	for (int c = 0; c <= 63; c++) {
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL || errno == EPERM)
				break; // past the last capability, or unprivileged: nothing to drop
			fail("drop capability %d from the bounding set: %s", c, errstr(errno));
		}
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{0}};
	if (syscall(SYS_capset, &h, d) < 0)
		fail("capset: %s", errstr(errno));
}

static long load(struct sock_fprog *f, unsigned long flags)
{
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER_, flags, f);
	if (r < 0)
		fail("seccomp(SET_MODE_FILTER): %s", errstr(errno));
	return r;
}

void sandbox_init_stage(void)
{
	// Nothing of the sandbox's beyond the hand-off fds may reach the
	// guest, whatever a concurrent open in the sentry left inheritable.
	const char *tmpfs = getenv("SANDBOX_TMPFS");
	int first = tmpfs && *tmpfs ? TMPFS_FD + 1 : TMPFS_FD; // mount_sized reports on it
	if (syscall(SYS_close_range, first, ~0U, 0) < 0)
		fail("close_range: %s", errstr(errno));
	mount_sized();
	size_t len;
	char *buf = read_all(SPEC_FD, &len);
	close(SPEC_FD);
	if (len == 0)
		_exit(127); // the sentry gave up before sending the spec (and kills us)
	struct spec s = {.umask = -1};
	parse(buf, len, &s);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("no_new_privs: %s", errstr(errno));
	if (s.ipc && unshare(CLONE_NEWIPC) < 0)
		fail("IPC namespace: %s", errstr(errno));
	// The ruleset names inodes, so it is built from host paths before the
	// mount namespace can hide any of them; the binds add their guest paths.
	struct ruleset rs;
	ll_prepare(&rs);
	for (int i = 0; i < s.nll; i++)
		ll_add(&rs, s.ll[i].path, s.ll[i].write);
	if (s.ipc) {
		// POSIX message queues live in the IPC namespace's mqueue
		// filesystem, which the kernel reaches by path: Landlock must
		// allow that tree (a detached mount of it names the same inodes).
		int mq = mqueue_root();
		if (mq >= 0) {
			ll_add_fd(&rs, mq, 1, "mqueue");
			close(mq);
		}
	}
	int flags = 0;
	if (bind_all(&s, &rs))
		flags |= REPORT_BOUND;
	if (rs.fd >= 0) {
		if (syscall(SYS_landlock_restrict_self, rs.fd, 0) < 0)
			fail("landlock_restrict_self: %s", errstr(errno));
		close(rs.fd);
		flags |= rs.abi << 8; // the ABI enforced, for the sentry's log
	}
	uint64_t as = 0;
	int has_as = 0;
	for (int i = 0; i < s.nrl; i++) {
		if (s.rl[i].res == RLIMIT_AS) {
			// Last, right before the exec.
			as = s.rl[i].v;
			has_as = 1;
			continue;
		}
		struct rlimit lim = {s.rl[i].v, s.rl[i].v};
		if (s.rl[i].res == RLIMIT_CPU)
			lim.rlim_max = s.rl[i].v + 1; // SIGXCPU at the soft limit, SIGKILL a second later
		if (setrlimit((int)s.rl[i].res, &lim) < 0)
			fail("limits: resource %u to %llu: %s", s.rl[i].res, (unsigned long long)s.rl[i].v, errstr(errno));
	}
	drop_capabilities();
	if (s.umask < 0 || !s.has_signals)
		fail("spec: no umask or signal state");
	umask((mode_t)s.umask); // the sandbox runs with 0; the guest gets the caller's
	int pid = (int)getpid();
	// From here on, only pass-class calls until the sentry holds the
	// listener; and the sentry never needs our help to take it. Narrowing
	// filters last: one that denies seccomp(2) must not stop ours from
	// loading (precedence does not depend on the order).
	for (int i = 0; i < s.nbase; i++)
		load(&s.base[i], 0);
	int lfd = (int)load(&s.notify, FLAG_NEW_LISTENER | FLAG_WAIT_KILLABLE_RECV);
	for (int i = 0; i < s.nextra; i++)
		load(&s.extra[i], 0);
	// The report: pid, the listener's fd number, and flags, each 32 bits
	// little-endian.
	unsigned char rep[12];
	for (int i = 0; i < 4; i++) {
		rep[i] = (unsigned char)(pid >> (8 * i));
		rep[4 + i] = (unsigned char)(lfd >> (8 * i));
		rep[8 + i] = (unsigned char)(flags >> (8 * i));
	}
	// With --trace=all this write is routed, the sentry takes the
	// listener by scanning our fds instead and closes the pipe: EPIPE,
	// whose SIGPIPE must not kill us (nor stay pending for the guest; the
	// caller's mask is set below).
	sigset_t pipe;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe, NULL);
	if (write(REPORT_FD, rep, sizeof rep) < 0 && errno == EPIPE) {
		struct timespec zero = {0, 0};
		sigtimedwait(&pipe, NULL, &zero);
	}
	// Routed from here: these wait until the sentry serves them. The
	// listener is close-on-exec, so the guest never holds it.
	close(REPORT_FD);
	if (has_as) {
		struct rlimit lim = {as, as};
		if (syscall(SYS_prlimit64, 0, RLIMIT_AS, &lim, NULL) < 0)
			fail("limits: address space to %llu: %s", (unsigned long long)as, errstr(errno));
	}
	// The caller's ignored signals stay ignored (nohup, a shell's
	// background job) and its mask is the guest's, as across a plain
	// execve; the sandbox's own processes had to change both. Raw calls:
	// glibc refuses the signals it reserves (32, 33).
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} ign = {SIG_IGN, 0, NULL, 0};
	for (int sig = 1; sig <= 64; sig++)
		if ((s.sigign >> (sig - 1)) & 1 && sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &ign, NULL, sizeof ign.mask);
	uint64_t mask = s.sigmask;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, sizeof mask);
	// The std fds the caller had closed (the Go runtime opened /dev/null
	// on them), closed again.
	for (int fd = 0; fd <= 2; fd++)
		if ((s.closedstd >> fd) & 1)
			close(fd);
	execve(s.path, s.argv, s.envp);
	int e = errno;
	if (e == ENOEXEC) {
		// As execvp does: a file the kernel cannot run is a shell script.
		char **argv = xcalloc((size_t)s.argc + 2, sizeof *argv);
		argv[0] = "/bin/sh";
		argv[1] = (char *)s.path;
		for (int i = 1; i < s.argc; i++)
			argv[i + 1] = s.argv[i];
		execve("/bin/sh", argv, s.envp);
		fail_code(126, "execve %s: %s; as a shell script: /bin/sh: %s", s.path, errstr(ENOEXEC), errstr(errno));
	}
	// As shells and env say it: 127 not found, 126 found but not run.
	fail_code(e == ENOENT ? 127 : 126, "execve %s: %s", s.path, errstr(e));
}

static uint64_t caller_sigign, caller_sigmask;
static uint32_t caller_closedstd;

// Runs before the Go runtime in every process of this binary but the init
// stage (the watchdog and the stage need none of it: 70 calls saved on the
// start-up path).
__attribute__((constructor)) static void sandbox_capture_caller(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "__sandbox_init") == 0)
		return;
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
			caller_closedstd |= 1U << fd;
	uint64_t blocked;
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &blocked, sizeof blocked) == 0)
		caller_sigmask = blocked;
	for (int sig = 1; sig <= 64; sig++) {
		struct sigaction sa;
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			caller_sigign |= 1ULL << (sig - 1);
	}
}

uint64_t sandbox_caller_sigign(void) { return caller_sigign; }
uint64_t sandbox_caller_sigmask(void) { return caller_sigmask; }
uint32_t sandbox_caller_closedstd(void) { return caller_closedstd; }
