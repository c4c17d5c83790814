/* intr: a signal while a call blocks, as Linux answers it.
 *   fifo-eintr    SIGALRM (no SA_RESTART) while open(FIFO) waits: -EINTR.
 *   fifo-restart  SIGALRM with SA_RESTART: the open restarts and completes
 *                 when a writer comes. */
#include "raw.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile int handled;
static void on_alarm(int sig) { (void)sig; handled++; }

static void arm(int restart)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 0}, {0, 200000}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static void c_fifo_eintr(void)
{
	mkfifo("ff", 0600);
	arm(0);
	show("open(ff, O_RDONLY)", R(SYS_open, "ff", O_RDONLY));
	printf("handler ran %d\n", handled);
}

static void c_fifo_restart(void)
{
	mkfifo("ff", 0600);
	pid_t w = fork();
	if (w == 0) {
		usleep(600000);
		int fd = open("ff", O_WRONLY);
		write(fd, "x", 1);
		_exit(0);
	}
	arm(1);
	long fd = R(SYS_open, "ff", O_RDONLY);
	show("open(ff, O_RDONLY) under SA_RESTART", fd >= 0 ? 0 : fd);
	char c = 0;
	if (fd >= 0)
		read(fd, &c, 1);
	printf("read %c, handler ran %d\n", c, handled);
	waitpid(w, NULL, 0);
}

static const struct tcase cases[] = {
	{"fifo-eintr", c_fifo_eintr},
	{"fifo-restart", c_fifo_restart},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
