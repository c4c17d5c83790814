/* execswap: make the kernel run a program the sentry did not check.
 *   execswap race ALLOWED OTHER N   a thread flips fd 10 between ALLOWED
 *                                   and OTHER while the main thread calls
 *                                   execveat(10, "", AT_EMPTY_PATH) N times
 *   execswap thread ALLOWED OTHER   a thread with a fd table of its own
 *                                   (clone without CLONE_FILES) runs
 *                                   execveat of its fd 3, which is OTHER
 *                                   there and ALLOWED in the leader's
 * OTHER, if it runs, prints what the caller checks for; ALLOWED is a #!
 * script whose interpreter is missing, so its exec fails and the loop
 * goes on. */
#include "raw.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>

static int a, b;
static volatile int go;

static void *flip(void *x)
{
	(void)x;
	for (;;) {
		R(SYS_dup2, a, 10);
		R(SYS_dup2, b, 10);
	}
	return NULL;
}

static char stack[1 << 16];
static const char *other;

static int thread_main(void *x)
{
	(void)x;
	while (!go)
		;
	/* fd 3 of its own table (the leader's fd 3 names ALLOWED) */
	long fd = R(SYS_openat, AT_FDCWD, other, O_RDONLY);
	char *av[] = {"other", NULL}, *ev[] = {NULL};
	R(SYS_execveat, fd, "", av, ev, AT_EMPTY_PATH);
	R(SYS_exit, 1);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "race") == 0) {
		a = open(argv[2], O_RDONLY);
		b = open(argv[3], O_RDONLY);
		dup2(a, 10);
		pthread_t t;
		pthread_create(&t, NULL, flip, NULL);
		char *av[] = {"other", NULL}, *ev[] = {NULL};
		for (int i = 0; i < atoi(argv[4]); i++)
			R(SYS_execveat, 10, "", av, ev, AT_EMPTY_PATH);
		printf("race: every exec failed or was refused\n");
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "thread") == 0) {
		other = argv[3];
		/* The tables part first: both opens then take fd 3. */
		clone(thread_main, stack + sizeof stack, CLONE_VM | CLONE_SIGHAND | CLONE_THREAD, NULL);
		long fd = R(SYS_openat, AT_FDCWD, argv[2], O_RDONLY);
		if (fd != 3)
			printf("SETUP FAILED: fd %ld\n", fd);
		go = 1;
		sleep(1);
		printf("thread: the leader is still here\n");
		return 0;
	}
	fprintf(stderr, "usage: execswap race ALLOWED OTHER N | thread ALLOWED OTHER\n");
	return 2;
}
