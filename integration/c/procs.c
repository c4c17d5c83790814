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
#include <pthread.h>
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

/* A group whose members made no routed call, one of them an orphan the
 * watchdog adopted: kill(-group) still reaches it. Then SIGSTOP and
 * SIGCONT to a group arrive in the order they were sent. */
static void c_groupkill2(void)
{
	int q[2], dead[2];
	pipe(q);
	pipe(dead);
	long a = R(SYS_fork);
	if (a == 0) {
		long b = R(SYS_fork);
		if (b == 0) {
			R(SYS_close, dead[0]); /* dead[1] closes when we die */
			for (;;)
				R(SYS_pause);
		}
		R(SYS_setpgid, b, b);
		write(q[1], &b, sizeof b);
		_exit(0);
	}
	R(SYS_close, dead[1]);
	long b;
	read(q[0], &b, sizeof b);
	waitpid(a, NULL, 0);
	long r = R(SYS_kill, -b, SIGTERM);
	char c;
	printf("kill(-orphan's group, SIGTERM) = %ld, orphan died: %d\n", r, read(dead[0], &c, 1) == 0);
	int stopped = 0;
	for (int i = 0; i < 50; i++) {
		long ch = R(SYS_fork);
		if (ch == 0) {
			R(SYS_setpgid, 0, 0);
			for (;;)
				R(SYS_pause);
		}
		R(SYS_setpgid, ch, ch);
		R(SYS_kill, -ch, SIGSTOP);
		R(SYS_kill, -ch, SIGCONT);
		int st;
		if (waitpid(ch, &st, WUNTRACED | WNOHANG) > 0 && WIFSTOPPED(st))
			; /* the stop was reported; the CONT must follow */
		usleep(2000);
		char path[64], line[256];
		snprintf(path, sizeof path, "/proc/%ld/stat", ch);
		FILE *f = fopen(path, "r");
		if (f && fgets(line, sizeof line, f) && strstr(line, ") T "))
			stopped++;
		if (f)
			fclose(f);
		R(SYS_kill, ch, SIGKILL);
		waitpid(ch, NULL, 0);
	}
	printf("left stopped after SIGSTOP then SIGCONT to its group: %d of 50\n", stopped);
}

static volatile int exec_go;
static void *exec_thread(void *x)
{
	while (!exec_go)
		;
	char *av[] = {(char *)x, NULL};
	execv((char *)x, av);
	return NULL;
}

/* Two threads exec at once; one wins, as in Linux: never killed. */
static void c_twoexec(void)
{
	int killed = 0;
	for (int i = 0; i < 10; i++) {
		long ch = R(SYS_fork);
		if (ch == 0) {
			pthread_t a, b;
			pthread_create(&a, NULL, exec_thread, "/usr/bin/true");
			pthread_create(&b, NULL, exec_thread, "/usr/bin/false");
			usleep(1000);
			exec_go = 1;
			pause();
		}
		int st;
		waitpid(ch, &st, 0);
		killed += WIFSIGNALED(st);
	}
	printf("two threads exec at once, 10 times: killed %d\n", killed);
}

static const struct tcase cases[] = {
	{"groupkill2", c_groupkill2},
	{"twoexec", c_twoexec},
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
