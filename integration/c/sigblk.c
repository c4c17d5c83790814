/* sigblk: block SIGUSR1 and the two real-time signals glibc reserves (32,
 * 33), and ignore 32 (make does), with raw calls, then exec argv[1...]:
 * the sandbox must hand its guest the same mask and dispositions. */
#include <stdint.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	uint64_t m = (1ULL << (SIGUSR1 - 1)) | (1ULL << 31) | (1ULL << 32);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &m, NULL, sizeof m);
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} ign = {SIG_IGN, 0, NULL, 0};
	syscall(SYS_rt_sigaction, 32, &ign, NULL, sizeof(uint64_t));
	execvp(argv[1], argv + 1);
	return 127;
}
