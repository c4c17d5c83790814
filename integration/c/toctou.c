/*
 * toctou.c - time-of-check/time-of-use race on a path argument.
 *
 * usage: toctou OK_PATH SECRET_PATH ITERATIONS
 *
 * A second thread keeps rewriting one path buffer between OK_PATH and
 * SECRET_PATH while the main thread calls open()/openat() on that buffer.  A
 * seccomp-notify sentry that checks the path it read from guest memory and
 * then lets the kernel re-read the (now changed) buffer would open the secret.
 * Every successful open's content is compared with OK_PATH's content; anything
 * else is reported as a LEAK line (C-escaped).  The summary counts let the
 * test check that the loop really ran.
 */
#include "raw.h"
#include <pthread.h>

static char pathbuf[4096];
static const char *paths[2];
static size_t lens[2];
static volatile int stop;

static void *flipper(void *arg)
{
	(void)arg;
	while (!stop) {
		for (int i = 0; i < 2; i++) {
			memcpy(pathbuf, paths[i], lens[i] + 1);
			__asm__ volatile("" ::: "memory");
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static char okdata[4096], got[4096];
	if (argc != 4) {
		fprintf(stderr, "usage: toctou OK SECRET N\n");
		return 2;
	}
	paths[0] = argv[1];
	paths[1] = argv[2];
	lens[0] = strlen(argv[1]);
	lens[1] = strlen(argv[2]);
	long iters = atol(argv[3]);

	long fd = must("open ok", R(SYS_open, paths[0], O_RDONLY));
	long oklen = must("read ok", R(SYS_read, fd, okdata, sizeof okdata));
	R(SYS_close, fd);
	memcpy(pathbuf, paths[0], lens[0] + 1);

	pthread_t th;
	if (pthread_create(&th, NULL, flipper, NULL) != 0) {
		printf("SETUP FAILED: pthread_create\n");
		return 100;
	}
	long ok = 0, enoent = 0, othererr = 0, leaked = 0;
	for (long i = 0; i < iters; i++) {
		fd = (i & 1) ? R(SYS_open, pathbuf, O_RDONLY)
			     : R(SYS_openat, AT_FDCWD, pathbuf, O_RDONLY);
		if (fd < 0) {
			if (fd == -ENOENT)
				enoent++;
			else
				othererr++;
			continue;
		}
		long n = R(SYS_read, fd, got, sizeof got);
		R(SYS_close, fd);
		if (n == oklen && memcmp(got, okdata, n) == 0) {
			ok++;
			continue;
		}
		leaked++;
		if (leaked <= 3) {
			/* Only a prefix: enough to identify the file without
			 * copying a whole secret (e.g. /etc/shadow) into logs. */
			printf("LEAK %ld bytes: ", n);
			putesc(got, n < 0 ? 0 : (n > 16 ? 16 : n));
			putchar('\n');
		}
	}
	stop = 1;
	pthread_join(th, NULL);
	printf("opens=%ld ok=%ld enoent=%ld othererr=%ld leaked=%ld\n", iters, ok, enoent, othererr, leaked);
	return leaked ? 1 : 0;
}
