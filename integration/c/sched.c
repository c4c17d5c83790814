/* sched: priority, affinity and scheduling calls on the caller and on its
 * own child, which the sandbox lets through by the kernel's own rules, and
 * the kernel's errors for malformed calls. Compared with a native run. */
#include "raw.h"
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static void c_own(void)
{
	unsigned long cpu0 = 1, got = 0;
	struct sched_param sp = {0};
	long attr[14] = {0}; /* struct sched_attr, v1 (56 bytes) */
	struct timespec ts;

	show("setpriority(PROCESS, 0, 3)", R(SYS_setpriority, PRIO_PROCESS, 0, 3));
	show("getpriority(PROCESS, 0)", R(SYS_getpriority, PRIO_PROCESS, 0));
	show("setpriority(PROCESS, getpid(), 4)", R(SYS_setpriority, PRIO_PROCESS, getpid(), 4));
	show("setpriority(PROCESS, gettid(), 5)", R(SYS_setpriority, PRIO_PROCESS, R(SYS_gettid), 5));
	show("setpriority(99, 0, 5)", R(SYS_setpriority, 99, 0, 5));
	show("setpriority(PROCESS, -5, 5)", R(SYS_setpriority, PRIO_PROCESS, -5, 5));
	show("sched_setaffinity(0, cpu0)", R(SYS_sched_setaffinity, 0, sizeof cpu0, &cpu0));
	show("sched_getaffinity(0) bytes", R(SYS_sched_getaffinity, 0, sizeof got, &got));
	printf("affinity mask %lx\n", got);
	show("sched_setaffinity(0, NULL)", R(SYS_sched_setaffinity, 0, sizeof cpu0, NULL));
	show("sched_setaffinity(-1, cpu0)", R(SYS_sched_setaffinity, -1, sizeof cpu0, &cpu0));
	show("sched_setparam(0, 0)", R(SYS_sched_setparam, 0, &sp));
	show("sched_setparam(-1, 0)", R(SYS_sched_setparam, -1, &sp));
	show("sched_setscheduler(0, BATCH)", R(SYS_sched_setscheduler, 0, SCHED_BATCH, &sp));
	show("sched_getscheduler(0)", R(SYS_sched_getscheduler, 0));
	show("sched_getattr(0, 56)", R(SYS_sched_getattr, 0, attr, 56, 0));
	printf("sched_attr policy %ld nice %d\n", attr[0] >> 32, (int)attr[2]);
	show("sched_getattr(0, 10)", R(SYS_sched_getattr, 0, attr, 10, 0));
	show("sched_rr_get_interval(0)", R(SYS_sched_rr_get_interval, 0, &ts) == 0 ? 0 : -1);
	show("ioprio_set(PROCESS, 0, BE/4)", R(SYS_ioprio_set, 1, 0, (2 << 13) | 4));
	show("ioprio_get(PROCESS, 0)", R(SYS_ioprio_get, 1, 0));
	show("ioprio_set(9, 0, BE/4)", R(SYS_ioprio_set, 9, 0, (2 << 13) | 4));

	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	show("setpriority(PROCESS, child, 7)", R(SYS_setpriority, PRIO_PROCESS, child, 7));
	show("getpriority(PROCESS, child)", R(SYS_getpriority, PRIO_PROCESS, child));
	show("sched_setaffinity(child, cpu0)", R(SYS_sched_setaffinity, child, sizeof cpu0, &cpu0));
	show("ioprio_set(PROCESS, child, BE/6)", R(SYS_ioprio_set, 1, child, (2 << 13) | 6));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	show("setpriority(PROCESS, reaped child, 7)", R(SYS_setpriority, PRIO_PROCESS, child, 7));
}

static const struct tcase cases[] = {
	{"own", c_own},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
