/* Times one syscall shape in a loop and prints the median ns per call over
 * several rounds. Run natively and under the sandbox by bench/main.go. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: loop getppid|openat|idle|forkexec N\n");
		return 2;
	}
	long n = atol(argv[2]);
	if (argc > 3 && strcmp(argv[3], "floor") == 0) {
		/* The cost of any seccomp filter at all: one RET_ALLOW insn. */
		struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
		struct sock_fprog prog = {1, allow};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
			perror("seccomp");
			return 1;
		}
	}
	int rounds = strcmp(argv[1], "forkexec") == 0 ? 5 : 15;
	enum { ROUNDS = 15 };
	double per[ROUNDS];
	for (int r = 0; r < rounds; r++) {
		double t0 = now();
		if (strcmp(argv[1], "getppid") == 0) {
			for (long i = 0; i < n; i++)
				syscall(SYS_getppid);
		} else if (strcmp(argv[1], "openat") == 0) {
			for (long i = 0; i < n; i++) {
				int fd = openat(AT_FDCWD, "/etc/hostname", O_RDONLY);
				if (fd < 0) {
					perror("openat");
					return 1;
				}
				close(fd);
			}
		} else if (strcmp(argv[1], "idle") == 0) {
			/* A routed call after 1 ms of sleep, as programs that compute
			 * between syscalls make them; only the call is timed. */
			double in = 0;
			struct timespec gap = {0, 1000000};
			for (long i = 0; i < n; i++) {
				nanosleep(&gap, NULL);
				double a = now();
				syscall(SYS_umask, 022);
				in += now() - a;
			}
			per[r] = in / n;
			continue;
		} else if (strcmp(argv[1], "forkexec") == 0) {
			for (long i = 0; i < n; i++) {
				pid_t p = fork();
				if (p == 0) {
					char *av[] = {"true", NULL};
					execve("/bin/true", av, NULL);
					_exit(127);
				}
				waitpid(p, NULL, 0);
			}
		} else {
			fprintf(stderr, "unknown shape %s\n", argv[1]);
			return 2;
		}
		per[r] = (now() - t0) / n;
	}
	qsort(per, rounds, sizeof per[0], cmp);
	printf("%.1f %.1f\n", per[rounds / 2], per[0]);
	return 0;
}
