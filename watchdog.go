package sandbox

/*
#cgo CFLAGS: -Wall -O2
#define _GNU_SOURCE
#include <dirent.h>
#include <linux/capability.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "initstage.h"

// The watchdog runs before the Go runtime exists (a constructor, as runc's
// nsexec does), so it may fork freely. In the init stage it splits in two:
// the child goes on to become the guest; the parent stays as a subreaper
// that outlives nothing: it mirrors the guest's exit status, relays the
// sentry's signals, and kills every guest process if the sentry dies, so a
// crashed or killed sentry never leaves a guest running with its routed
// calls failing.

static void kill_descendants(void)
{
	// As a subreaper, every orphaned guest process becomes our child:
	// kill children until none is left.
	for (int round = 0; round < 10000; round++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
		FILE *f = fopen(path, "r");
		int n = 0, pid;
		if (f) {
			while (fscanf(f, "%d", &pid) == 1) {
				kill(pid, SIGKILL);
				n++;
			}
			fclose(f);
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (n == 0 && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			return;
		usleep(1000);
	}
}

static void exit_like(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		struct rlimit no = {0, 0};
		setrlimit(RLIMIT_CORE, &no);
		signal(sig, SIG_DFL);
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, sig);
		sigprocmask(SIG_UNBLOCK, &s, NULL);
		kill(getpid(), sig);
		_exit(128 + sig);
	}
	_exit(WEXITSTATUS(status));
}

__attribute__((constructor)) static void sandbox_watchdog(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc < 2 || strcmp(argv[1], "__sandbox_init") != 0)
		return;
	const char *sp = getenv("SANDBOX_SENTRY_PID");
	if (!sp)
		return;
	pid_t sentry = (pid_t)atoi(sp);
	// exec.Cmd set PDEATHSIG; the watchdog must outlive the sentry long
	// enough to clean up, so it watches a pidfd instead.
	prctl(PR_SET_PDEATHSIG, 0);
	int pfd = (int)syscall(SYS_pidfd_open, sentry, 0);
	if (pfd < 0 || getppid() != sentry)
		_exit(127); // the sentry is already gone
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	sigset_t relay;
	sigemptyset(&relay);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCHLD, SIGCONT};
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaddset(&relay, sigs[i]);
	sigset_t old;
	sigprocmask(SIG_BLOCK, &relay, &old);
	pid_t self = getpid();
	pid_t guest = fork();
	if (guest < 0)
		_exit(127);
	if (guest == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(pfd);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self)
			_exit(127);
		sandbox_init_stage(); // initstage.c: never returns
	}
	// A process group of its own: a SIGKILL to the caller's job (kill -9
	// -PGID, a test harness's timeout) must not take the watchdog with
	// the sentry, or guest processes that left the job's group would
	// outlive both. It reads no terminal, so job control loses nothing.
	setpgid(0, 0);
	if (getenv("SANDBOX_USERNS")) {
		// In the guest's user namespace the stage got capabilities for
		// its binds; the watchdog needs none to kill its descendants.
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2] = {{0}};
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		syscall(SYS_capset, &h, d);
	}
	int sfd = signalfd(-1, &relay, SFD_CLOEXEC);
	// Nothing of ours should reach the guest's fd table. One close_range
	// above our two fds rather than a close per possible number: this runs
	// on the start-up path, beside the init stage.
	int top = pfd > sfd ? pfd : sfd;
	for (int fd = 3; fd < top; fd++)
		if (fd != pfd && fd != sfd)
			close(fd);
	if (syscall(SYS_close_range, top + 1, ~0U, 0) < 0)
		for (int fd = top + 1; fd < 1024; fd++)
			close(fd);
	int guest_status = -1;
	for (;;) {
		struct pollfd p[2] = {{.fd = pfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents) {
			kill_descendants();
			_exit(137);
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD &&
			    (pid_t)si.ssi_pid == sentry)
				kill(guest, (int)si.ssi_signo);
		}
		int st;
		pid_t w;
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			if (w == guest)
				guest_status = st;
		if (guest_status != -1) {
			// The guest's first process is gone: so is the sandbox.
			kill_descendants();
			exit_like(guest_status);
		}
	}
	kill_descendants();
	_exit(127);
}
*/
import "C"

// callerSignals returns the signals the process was started with ignored
// and blocked (bit n-1 for signal n), and the std fds it was started with
// closed (bit n for fd n), as seen before the Go runtime changed them
// (initstage.c).
func callerSignals() (ignored, blocked uint64, closedStd uint32) {
	return uint64(C.sandbox_caller_sigign()), uint64(C.sandbox_caller_sigmask()), uint32(C.sandbox_caller_closedstd())
}
