/* cwdrace: one thread flips the cwd between two writable directories while
 * another opens and closes a directory of a read-only mount, so that fd
 * numbers the sentry frees on chdir are reused at once; the main thread
 * creates directories relative to its cwd. None may land in the read-only
 * tree. Usage: cwdrace RW_A RW_B RO_DIR SECONDS */
#include "raw.h"
#include <pthread.h>
#include <time.h>

static volatile int stop;
static char **args;

static void *chdirs(void *x)
{
	(void)x;
	while (!stop) {
		R(SYS_chdir, args[1]);
		R(SYS_chdir, args[2]);
	}
	return NULL;
}

static void *opens(void *x)
{
	(void)x;
	while (!stop) {
		long fd = R(SYS_openat, AT_FDCWD, args[3], O_RDONLY | O_DIRECTORY);
		if (fd >= 0)
			R(SYS_close, fd);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: cwdrace RW_A RW_B RO_DIR SECONDS\n");
		return 2;
	}
	args = argv;
	pthread_t a, b;
	pthread_create(&a, NULL, chdirs, NULL);
	pthread_create(&b, NULL, opens, NULL);
	long n = 0, made = 0;
	time_t end = time(NULL) + atoi(argv[4]);
	while (time(NULL) < end) {
		/* Mostly EEXIST once made in both cwds: fast, so many tries. */
		n++;
		if (R(SYS_mkdirat, AT_FDCWD, "escape", 0755) == 0)
			made++;
	}
	stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("mkdirat calls %ld made %ld\n", n, made);
	return 0;
}
