/* threads: many threads churning fds at once.
 *   churn T SECONDS: T threads each open a file of its own, dup, dup2 it to
 *   an fd of its own, check both name the same file (st_ino), read it back
 *   through /proc/self/fd, and close, until time is up. Prints "ok N" with the
 *   total iterations, or the first mismatch. */
#include "raw.h"
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static int g_argc;
static char **g_argv;
static volatile int failed;
static long total;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double deadline;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	long id = (long)arg, n = 0;
	char name[32], want[32];
	snprintf(name, sizeof name, "t%ld", id);
	snprintf(want, sizeof want, "thread %ld\n", id);
	int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	write(fd, want, strlen(want));
	close(fd);
	while (!failed && now() < deadline) {
		int a = open(name, O_RDONLY);
		int b = dup(a);
		int c = dup2(a, 500 + (int)id);
		struct stat sa, sb, sc;
		if (a < 0 || b < 0 || c != 500 + id || fstat(a, &sa) || fstat(b, &sb) || fstat(c, &sc) ||
		    sa.st_ino != sb.st_ino || sa.st_ino != sc.st_ino) {
			printf("mismatch in thread %ld: a=%d b=%d c=%d\n", id, a, b, c);
			failed = 1;
			break;
		}
		char link[64], buf[64] = {0};
		snprintf(link, sizeof link, "/proc/self/fd/%d", b);
		int r = open(link, O_RDONLY);
		if (r < 0 || read(r, buf, sizeof buf - 1) != (long)strlen(want) || strcmp(buf, want) != 0) {
			printf("reopen through %s in thread %ld: got %s\n", link, id, buf);
			failed = 1;
			break;
		}
		close(r);
		close(a);
		close(b);
		close(c);
		n++;
	}
	pthread_mutex_lock(&mu);
	total += n;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void c_churn(void)
{
	int t = g_argc > 2 ? atoi(g_argv[2]) : 64;
	deadline = now() + (g_argc > 3 ? atof(g_argv[3]) : 10);
	pthread_t th[256];
	for (long i = 0; i < t; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	if (!failed)
		printf("ok %s\n", total > 0 ? "iterations" : "none");
	fflush(stdout);
	/* Leave the fd table for the test to inspect from outside. */
	char c;
	read(0, &c, 1);
}

static char clonefs_stack[1 << 16];

static int clonefs_child(void *x)
{
	(void)x;
	long fd = R(SYS_open, "f", O_RDONLY);
	printf("child (CLONE_FS): open(f) = %ld\n", fd);
	fflush(stdout);
	return 0;
}

/* A child sharing our cwd (CLONE_FS) exits; our cwd must stay ours. */
static void c_clonefs(void)
{
	long fd = R(SYS_open, "f", O_RDONLY);
	printf("before: open(f) = %ld\n", fd);
	R(SYS_close, fd);
	fflush(stdout);
	int pid = clone(clonefs_child, clonefs_stack + sizeof clonefs_stack, CLONE_FS | SIGCHLD, NULL);
	waitpid(pid, NULL, 0);
	usleep(100 * 1000); /* the sentry's reaper runs */
	fd = R(SYS_open, "f", O_RDONLY);
	printf("after the CLONE_FS child exited: open(f) = %ld\n", fd);
	char buf[256];
	printf("getcwd works: %d\n", getcwd(buf, sizeof buf) != NULL);
}

static const struct tcase cases[] = {
	{"clonefs", c_clonefs},
	{"churn", c_churn},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	g_argc = argc;
	g_argv = argv;
	return dispatch(argc, argv, cases);
}
