/* bigbss: an image whose 160 MiB bss is mapped by execve itself; built
 * without libc (-nostdlib), it makes no routed call at all: it sleeps a
 * second and exits 0. */
static char big[160 << 20];

static long sys(long nr, long a, long b)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

void _start(void)
{
	long ts[2] = {1, 0};
	big[0] = 1;
	sys(35, (long)ts, 0); /* nanosleep */
	sys(60, big[0] - 1, 0); /* exit */
	for (;;)
		;
}
