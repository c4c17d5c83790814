/* sigblk: block SIGUSR1 and the two real-time signals glibc reserves (32,
 * 33) with the raw call, then exec argv[1...]: the sandbox must hand its
 * guest the same mask. */
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
	execvp(argv[1], argv + 1);
	return 127;
}
