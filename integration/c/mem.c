/* mem: the address-space limits (memory.total, limits.address_space).
 *   fill      map 8 MiB chunks until refused; then grow one with mremap,
 *             the heap with brk, and map over one with MAP_FIXED
 *   forkbig   map 144 MiB, then fork: the child's copy counts too
 *   children  4 children each map 8 MiB chunks until refused; the parent
 *             prints what they got together
 *   threads   8 threads of one process do the same, all at once */
#include "raw.h"
#include <sys/mman.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#define CHUNK (8L << 20)

static int fill(long *last)
{
	int n = 0;
	for (;;) {
		long p = R(SYS_mmap, 0, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p < 0) {
			show("mmap(8 MiB) at the limit", p);
			return n;
		}
		*last = p;
		n++;
	}
}

static void c_fill(void)
{
	long last = 0;
	printf("chunks %d\n", fill(&last));
	show("mremap(+64 MiB)", R(SYS_mremap, last, CHUNK, CHUNK + (64L << 20), MREMAP_MAYMOVE) < 0 ? -ENOMEM : 0);
	long cur = R(SYS_brk, 0);
	long got = R(SYS_brk, cur + (64L << 20));
	printf("brk(+64 MiB) refused: %d\n", got < cur + (64L << 20));
	/* Over an existing chunk: replaces, adds nothing. */
	show("mmap(MAP_FIXED over a chunk)", R(SYS_mmap, last, CHUNK, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == last ? 0 : -1);
	/* Freed memory can be used again. */
	R(SYS_munmap, last, CHUNK);
	show("mmap(8 MiB) after munmap", R(SYS_mmap, 0, CHUNK, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) < 0 ? -ENOMEM : 0);
}

static void c_forkbig(void)
{
	long p = R(SYS_mmap, 0, 144L << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	show("mmap(144 MiB)", p < 0 ? p : 0);
	long pid = R(SYS_fork);
	if (pid == 0)
		_exit(0);
	show("fork", pid > 0 ? 0 : pid);
	if (pid > 0)
		waitpid(pid, 0, 0);
	R(SYS_munmap, p, 144L << 20);
	pid = R(SYS_fork);
	if (pid == 0)
		_exit(0);
	show("fork after munmap", pid > 0 ? 0 : pid);
	if (pid > 0)
		waitpid(pid, 0, 0);
}

static void c_children(void)
{
	int fds[2];
	pid_t kids[4];
	pipe(fds);
	for (int i = 0; i < 4; i++) {
		if ((kids[i] = fork()) == 0) {
			long last;
			int n = fill(&last);
			write(fds[1], &n, sizeof n);
			/* Hold the memory until every child is done. */
			pause();
			_exit(0);
		}
	}
	int total = 0;
	for (int i = 0; i < 4; i++) {
		int n = 0;
		read(fds[0], &n, sizeof n);
		total += n;
	}
	printf("children chunks %d\n", total);
	for (int i = 0; i < 4; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], 0, 0);
	}
}

static pthread_barrier_t start;

static void *filler(void *arg)
{
	long last;
	pthread_barrier_wait(&start);
	*(int *)arg = fill(&last);
	return NULL;
}

static void c_threads(void)
{
	pthread_t t[8];
	int got[8], total = 0;
	pthread_barrier_init(&start, NULL, 8);
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, filler, &got[i]);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		total += got[i];
	}
	printf("threads chunks %d\n", total);
}

static const struct tcase cases[] = {
	{"fill", c_fill},
	{"threads", c_threads},
	{"forkbig", c_forkbig},
	{"children", c_children},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
