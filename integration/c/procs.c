/* procs: process-model workloads.
 *   forklimit N   fork N children that wait; print how many forks worked
 *                 and the first failure's errno.
 *   churn N K     N short-lived children that each make a routed call;
 *                 every K, print "checkpoint i" and wait for a line on stdin.
 *   forkexec N    N x (fork, execve /bin/true, wait). */
#include "raw.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static int arg(int i, int def);
static int g_argc;
static char **g_argv;

static void c_forklimit(void)
{
	int n = arg(2, 50), ok = 0, err = 0;
	int pipefd[2];
	pipe(pipefd);
	pid_t kids[4096];
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			char c;
			close(pipefd[1]);
			read(pipefd[0], &c, 1); /* until the parent closes the pipe */
			_exit(0);
		}
		if (p < 0) {
			if (!err)
				err = errno;
			continue;
		}
		kids[ok++] = p;
	}
	printf("forks ok=%d first_error=%s\n", ok, err ? strerror(err) : "none");
	fflush(stdout);
	close(pipefd[1]);
	for (int i = 0; i < ok; i++)
		waitpid(kids[i], NULL, 0);
}

static void c_churn(void)
{
	int n = arg(2, 1000), k = arg(3, 1000);
	for (int i = 1; i <= n; i++) {
		pid_t p = fork();
		if (p == 0) {
			int fd = open("/etc/hostname", O_RDONLY); /* routed: discovered */
			_exit(fd >= 0 ? 0 : 1);
		}
		int st;
		waitpid(p, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("child %d failed\n", i);
			return;
		}
		if (i % k == 0) {
			printf("checkpoint %d\n", i);
			fflush(stdout);
			char line[8];
			if (!fgets(line, sizeof line, stdin))
				return;
		}
	}
}

static void c_forkexec(void)
{
	int n = arg(2, 1000), ok = 0;
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			char *av[] = {"true", NULL};
			execve("/bin/true", av, environ);
			_exit(127);
		}
		int st;
		waitpid(p, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	printf("forkexec ok=%d of %d\n", ok, n);
}

static int arg(int i, int def) { return g_argc > i ? atoi(g_argv[i]) : def; }

static volatile sig_atomic_t usr1;
static void on_usr1(int s) { (void)s; usr1++; }

/* Group kills: the caller's own signal is delivered before kill returns
 * (POSIX), a child in another group dies by the signal, kill(0) reaches
 * the whole group, an empty group is ESRCH. */
static void c_groupkill(void)
{
	signal(SIGUSR1, on_usr1);
	long r = R(SYS_kill, 0, SIGUSR1);
	printf("kill(0, SIGUSR1) = %ld, handler ran before it returned: %d\n", r, usr1 == 1);
	long child = R(SYS_fork);
	if (child == 0) {
		R(SYS_setpgid, 0, 0);
		for (;;)
			pause();
	}
	R(SYS_setpgid, child, child);
	r = R(SYS_kill, -child, SIGTERM);
	int st;
	waitpid(child, &st, 0);
	printf("kill(-child group, SIGTERM) = %ld, child killed by SIGTERM: %d\n", r, WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	show("kill(-reaped group, 0)", R(SYS_kill, -child, 0));
	/* The child must not run our handler: SIGUSR1 stays blocked until it
	 * has the default action again. */
	sigset_t s1, old;
	sigemptyset(&s1);
	sigaddset(&s1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s1, &old);
	child = R(SYS_fork);
	if (child == 0) {
		signal(SIGUSR1, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		for (;;)
			pause();
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	usr1 = 0;
	r = R(SYS_kill, 0, SIGUSR1); /* our group: us (handled) and the child (killed) */
	waitpid(child, &st, 0);
	printf("kill(0, SIGUSR1) with a child = %ld, handler %d, child killed by SIGUSR1: %d\n", r, usr1 == 1,
	       WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1);
}

static const struct tcase cases[] = {
	{"groupkill", c_groupkill},
	{"forklimit", c_forklimit},
	{"churn", c_churn},
	{"forkexec", c_forkexec},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	g_argc = argc;
	g_argv = argv;
	return dispatch(argc, argv, cases);
}
