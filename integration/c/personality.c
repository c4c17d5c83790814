/* personality: calls a Docker-style profile allows only for some arguments,
 * and one the sandbox emulates (mkdir), for the narrowing tests. */
#include "raw.h"
#include <sys/personality.h>

static void c_calls(void)
{
	show("personality(query)", R(SYS_personality, 0xffffffff) >= 0 ? 0 : -1);
	show("personality(READ_IMPLIES_EXEC)", R(SYS_personality, READ_IMPLIES_EXEC) >= 0 ? 0 : R(SYS_personality, READ_IMPLIES_EXEC));
	show("mkdir(d)", R(SYS_mkdir, "d", 0755));
}

static const struct tcase cases[] = {
	{"calls", c_calls},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
