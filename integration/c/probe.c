/*
 * probe.c - a small, statically linked file-system probe for the escape tests.
 *
 * Static so that it also runs under `--root DIR` where DIR holds nothing but
 * this binary and a few fixture files.  It takes a sequence of operations and
 * prints one line per operation:
 *
 *   <op> <path>: ok [detail]     or     <op> <path>: ENAME
 *
 * Operations:
 *   cat P          read P; detail is the C-escaped content (max 64 KiB)
 *   stat P         stat (follows symlinks); detail is type and permissions
 *   lstat P
 *   write P DATA   open(O_WRONLY|O_CREAT|O_TRUNC, 0644) + write DATA
 *   mkdir P
 *   unlink P
 *   rmdir P
 *   chmod P OCTAL
 *   truncate P LEN
 *   rename P NEW
 *   ls P           sorted names (without . and ..) joined by ','
 *   socket inet|inet6
 *
 * The exit status is always 0 unless the arguments are malformed: the test
 * judges the printed lines, not the status.
 */
#include "raw.h"
#include <dirent.h>
#include <sys/socket.h>

static void res(const char *op, const char *p, int r)
{
	if (r < 0)
		printf("%s %s: %s\n", op, p, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	else
		printf("%s %s: ok\n", op, p);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	static char buf[65536];
	for (int i = 1; i < argc; i++) {
		const char *op = argv[i];
		if (i + 1 >= argc)
			goto usage;
		const char *p = argv[++i];
		struct stat st;
		if (!strcmp(op, "cat")) {
			int fd = open(p, O_RDONLY);
			if (fd < 0) {
				res(op, p, -1);
				continue;
			}
			long n = 0, r;
			while (n < (long)sizeof buf && (r = read(fd, buf + n, sizeof buf - n)) > 0)
				n += r;
			int e = errno;
			close(fd);
			if (n == 0 && r < 0) {
				errno = e;
				res(op, p, -1);
				continue;
			}
			printf("%s %s: ok ", op, p);
			putesc(buf, n);
			putchar('\n');
		} else if (!strcmp(op, "stat") || !strcmp(op, "lstat")) {
			int r = op[0] == 'l' ? lstat(p, &st) : stat(p, &st);
			if (r < 0) {
				res(op, p, -1);
				continue;
			}
			printf("%s %s: ok type=%s perm=%04o\n", op, p, ftype(st.st_mode), st.st_mode & 07777);
		} else if (!strcmp(op, "write")) {
			if (i + 1 >= argc)
				goto usage;
			const char *data = argv[++i];
			int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0) {
				res(op, p, -1);
				continue;
			}
			int r = write(fd, data, strlen(data)) < 0 ? -1 : 0;
			int e = errno;
			close(fd);
			errno = e;
			res(op, p, r);
		} else if (!strcmp(op, "mkdir")) {
			res(op, p, mkdir(p, 0755));
		} else if (!strcmp(op, "unlink")) {
			res(op, p, unlink(p));
		} else if (!strcmp(op, "rmdir")) {
			res(op, p, rmdir(p));
		} else if (!strcmp(op, "chmod")) {
			if (i + 1 >= argc)
				goto usage;
			res(op, p, chmod(p, strtol(argv[++i], NULL, 8)));
		} else if (!strcmp(op, "truncate")) {
			if (i + 1 >= argc)
				goto usage;
			res(op, p, truncate(p, atol(argv[++i])));
		} else if (!strcmp(op, "rename")) {
			if (i + 1 >= argc)
				goto usage;
			res(op, p, rename(p, argv[++i]));
		} else if (!strcmp(op, "ls")) {
			DIR *d = opendir(p);
			if (!d) {
				res(op, p, -1);
				continue;
			}
			static char *names[4096];
			int n = 0;
			struct dirent *de;
			while ((de = readdir(d)) && n < 4096) {
				if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
					continue;
				names[n++] = strdup(de->d_name);
			}
			closedir(d);
			qsort(names, n, sizeof names[0], cmpstr);
			printf("%s %s: ok ", op, p);
			for (int j = 0; j < n; j++) {
				printf("%s%s", j ? "," : "", names[j]);
				free(names[j]);
			}
			putchar('\n');
		} else if (!strcmp(op, "socket")) {
			int fam = !strcmp(p, "inet6") ? AF_INET6 : AF_INET;
			int fd = socket(fam, SOCK_STREAM, 0);
			res(op, p, fd);
			if (fd >= 0)
				close(fd);
		} else {
			goto usage;
		}
	}
	fflush(stdout);
	return 0;
usage:
	fprintf(stderr, "probe: bad arguments\n");
	return 2;
}
