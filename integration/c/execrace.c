/* execrace: the exec TOCTOU attack. A thread flips a path buffer between a
 * program the guest may run and one it must never reach, while the main
 * thread calls execve on the buffer. Run in many children; print how each
 * ended. Usage: execrace ALLOWED FORBIDDEN N
 * ALLOWED exits 0; FORBIDDEN exits 42 (so its success is visible). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[4096];
static const char *paths[2];

static volatile unsigned flips;

static void *flipper(void *arg)
{
	(void)arg;
	for (unsigned i = 0;; i++) {
		strcpy(buf, paths[i & 1]);
		flips = i;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	paths[0] = argv[1];
	paths[1] = argv[2];
	int n = atoi(argv[3]);
	int ok = 0, forbidden = 0, failed = 0;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			strcpy(buf, paths[0]);
			pthread_t th;
			pthread_create(&th, NULL, flipper, NULL);
			while (flips < 1000)
				; /* let the flipper get going first */
			char *av[] = {buf, NULL};
			for (int k = 0; k < 50; k++)
				execve(buf, av, environ);
			_exit(1);
		}
		int st;
		waitpid(pid, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 42)
			forbidden++;
		else
			failed++;
	}
	printf("ok=%d forbidden=%d failed=%d\n", ok, forbidden, failed);
	return 0;
}
