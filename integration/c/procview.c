/* procview: what a process reads about itself in /proc, the way runtimes
 * do (glibc's pthread_getattr_np reads maps, ttyname and realpath read fd
 * links, JVMs and Rust read mountinfo). Prints facts that must match
 * native. */
#include "raw.h"
#include <fcntl.h>
#include <limits.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

static void c_self(void)
{
	char buf[PATH_MAX];
	long n = R(SYS_readlink, "/proc/self/exe", buf, sizeof buf - 1);
	printf("exe ends with /procview: %d\n", n > 0 && (buf[n] = 0, strstr(buf, "/procview") != NULL));
	n = R(SYS_readlink, "/proc/self/cwd", buf, sizeof buf - 1);
	char cwd[PATH_MAX];
	getcwd(cwd, sizeof cwd);
	printf("cwd link is getcwd: %d\n", n > 0 && (buf[n] = 0, strcmp(buf, cwd) == 0));
	int fd = open("data", O_RDONLY);
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = R(SYS_readlink, link, buf, sizeof buf - 1);
	printf("fd link names the file: %d\n", n > 0 && (buf[n] = 0, strcmp(buf + strlen(buf) - 5, "/data") == 0));
	/* ls -l /proc/self/fd: lstat describes the link (its mode says the
	 * fd's access mode), and the link has no xattrs. */
	struct stat lst;
	long r = R(SYS_lstat, link, &lst);
	printf("lstat(fd link) = %ld mode=%o size=%ld\n", r, r == 0 ? lst.st_mode : 0, r == 0 ? (long)lst.st_size : 0);
	r = R(SYS_stat, link, &lst);
	printf("stat(fd link) = %ld type=%o\n", r, r == 0 ? lst.st_mode & S_IFMT : 0);
	show("llistxattr(fd link)", R(SYS_llistxattr, link, buf, sizeof buf));
	int wfd = open("written", O_WRONLY | O_CREAT, 0644);
	snprintf(link, sizeof link, "/proc/self/fd/%d", wfd);
	r = R(SYS_lstat, link, &lst);
	printf("lstat(write-only fd link) = %ld mode=%o\n", r, r == 0 ? lst.st_mode : 0);
	r = R(SYS_lstat, "/proc/self", &lst);
	printf("lstat(/proc/self) = %ld mode=%o size=%ld\n", r, r == 0 ? lst.st_mode : 0, r == 0 ? (long)lst.st_size : 0);
	show("llistxattr(/proc/self)", R(SYS_llistxattr, "/proc/self", buf, sizeof buf));
	/* A listing of /proc/self/fd includes the fd it is read through. */
	DIR *dir = opendir("/proc/self/fd");
	int own = 0, wlisted = 0;
	char ownname[16], wname[16];
	snprintf(ownname, sizeof ownname, "%d", dir ? dirfd(dir) : -1);
	snprintf(wname, sizeof wname, "%d", wfd);
	for (struct dirent *de; dir && (de = readdir(dir));) {
		own |= strcmp(de->d_name, ownname) == 0;
		wlisted |= strcmp(de->d_name, wname) == 0;
	}
	printf("fd listing has its own fd: %d, the write-only fd: %d\n", own, wlisted);
	/* glibc reads /proc/self/maps for the main thread's stack. */
	pthread_attr_t a;
	size_t sz = 0;
	void *addr;
	printf("pthread_getattr_np: %d\n", pthread_getattr_np(pthread_self(), &a));
	pthread_attr_getstack(&a, &addr, &sz);
	printf("stack size > 0: %d\n", sz > 0);
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int pidline = 0;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "Pid:", 4) == 0)
			pidline = atoi(line + 4) == getpid();
	printf("status Pid is getpid: %d\n", pidline);
	f = fopen("/proc/self/mountinfo", "r");
	int root = 0;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, " / / "))
			root = 1;
	printf("mountinfo has /: %d\n", root);
	f = fopen("/proc/self/cmdline", "r");
	n = f ? (long)fread(buf, 1, sizeof buf, f) : 0;
	printf("cmdline ends with self: %d\n", n > 5 && strcmp(buf + strlen(buf) + 1, "self") == 0);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int worker_tid, go_on;
static char worker_self[64];

static void *worker(void *x)
{
	(void)x;
	prctl(PR_SET_NAME, "worker");
	long n = R(SYS_readlink, "/proc/thread-self", worker_self, sizeof worker_self - 1);
	worker_self[n > 0 ? n : 0] = 0;
	pthread_mutex_lock(&mu);
	worker_tid = (int)R(SYS_gettid);
	pthread_cond_broadcast(&cv);
	while (!go_on)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* /proc/<pid>/task: one directory per thread, with the thread's own stat
 * and comm; /proc/thread-self names the calling thread's. */
static void c_task(void)
{
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	pthread_mutex_lock(&mu);
	while (!worker_tid)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	int pid = getpid();
	char path[128], buf[256], want[64];
	snprintf(want, sizeof want, "%d/task/%d", pid, worker_tid);
	printf("worker's /proc/thread-self is <pid>/task/<tid>: %d\n", strcmp(worker_self, want) == 0);
	DIR *d = opendir("/proc/self/task");
	int n = 0, main_seen = 0, worker_seen = 0;
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		main_seen |= atoi(de->d_name) == pid;
		worker_seen |= atoi(de->d_name) == worker_tid;
	}
	printf("task entries %d, main %d, worker %d\n", n, main_seen, worker_seen);
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", worker_tid);
	FILE *f = fopen(path, "r");
	printf("worker comm: %s", f && fgets(buf, sizeof buf, f) ? buf : "(none)\n");
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", worker_tid);
	f = fopen(path, "r");
	printf("worker stat names it: %d\n", f && fgets(buf, sizeof buf, f) && atoi(buf) == worker_tid);
	printf("pthread_getname_np(worker) = %d ", pthread_getname_np(t, buf, sizeof buf));
	printf("%s\n", buf);
	snprintf(path, sizeof path, "/proc/self/task/%d/task", worker_tid);
	struct stat st;
	show("stat(task/<tid>/task)", R(SYS_stat, path, &st));
	snprintf(path, sizeof path, "/proc/self/task/%d", 1 << 30);
	show("stat(task/<not a thread>)", R(SYS_stat, path, &st));
	pthread_mutex_lock(&mu);
	go_on = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
}

static void *idle_thread(void *x)
{
	(void)x;
	struct timespec ts = {0, 50 * 1000 * 1000};
	R(SYS_nanosleep, &ts, NULL); /* no routed call: the sentry never met it */
	R(SYS_exit, 0);
	return NULL;
}

/* A child whose main thread (the one the sentry knows) exits first, while a
 * thread the sentry never met keeps the process alive; once the child is
 * reaped, its /proc entry and its pid are gone, as in Linux. */
static void c_reaped(void)
{
	char path[64];
	struct stat st;
	for (int round = 0; round < 3; round++) {
		long pid = R(SYS_fork);
		if (pid == 0) {
			pthread_t t;
			pthread_create(&t, NULL, idle_thread, NULL);
			R(SYS_exit, 0); /* this thread only */
		}
		snprintf(path, sizeof path, "/proc/%ld", pid);
		int status;
		waitpid(pid, &status, 0);
		long r = R(SYS_stat, path, &st);
		printf("round %d: stat(/proc/<reaped child>) = %s\n", round, r == -ENOENT ? "ENOENT" : r == 0 ? "0" : "other");
		printf("round %d: kill(<reaped child>, 0) = %s\n", round, R(SYS_kill, pid, 0) == -ESRCH ? "ESRCH" : "other");
		char buf[64];
		snprintf(path, sizeof path, "/proc/%ld/status", pid);
		printf("round %d: open(/proc/<reaped child>/status) = %s\n", round, R(SYS_open, path, O_RDONLY) == -ENOENT ? "ENOENT" : "other");
		(void)buf;
	}
}

/* selfopen: /proc/self and /proc/thread-self opened as directories (ls,
 * opendir, os.listdir do), and what their fds' links name. */
static void link_is(const char *what, int fd, const char *want, const char *label)
{
	char link[64], buf[PATH_MAX];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	long n = R(SYS_readlink, link, buf, sizeof buf - 1);
	printf("%s: fd link is %s: %d\n", what, label, n > 0 && (buf[n] = 0, strcmp(buf, want) == 0));
}

static void c_selfopen(void)
{
	struct stat st0;
	char want[64];
	long pid = R(SYS_getpid), tid = R(SYS_gettid);
	long fd = R(SYS_open, "/proc/self", O_RDONLY | O_DIRECTORY);
	printf("open(/proc/self, O_DIRECTORY) ok: %d\n", fd >= 0);
	snprintf(want, sizeof want, "/proc/%ld", pid);
	link_is("/proc/self", (int)fd, want, "/proc/<pid>");
	fd = R(SYS_open, "/proc/thread-self", O_RDONLY);
	snprintf(want, sizeof want, "/proc/%ld/task/%ld", pid, tid);
	link_is("/proc/thread-self", (int)fd, want, "/proc/<pid>/task/<tid>");
	fd = R(SYS_open, "/proc/self/status", O_RDONLY);
	snprintf(want, sizeof want, "/proc/%ld/status", pid);
	link_is("/proc/self/status", (int)fd, want, "/proc/<pid>/status");
	show("open(/proc/self, O_NOFOLLOW)", R(SYS_open, "/proc/self", O_RDONLY | O_NOFOLLOW));
	DIR *d = opendir("/proc/self");
	int n = 0, status = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		n++;
		status += strcmp(de->d_name, "status") == 0;
	}
	printf("opendir(/proc/self): entries > 10: %d, status listed: %d\n", n > 10, status);
	/* Directory modes as procfs gives them. */
	const char *dirs[] = {"/proc", "/proc/self", "/proc/self/fd", "/proc/self/task"};
	for (unsigned i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		struct stat ds;
		long r = R(SYS_stat, dirs[i], &ds);
		printf("stat(%s) = %ld mode=%o\n", dirs[i], r, r == 0 ? (unsigned)ds.st_mode : 0u);
	}
	/* A closed fd has no /proc entry; statx follows an fd link to its
	 * file (size included). */
	show("stat(/proc/self/fd/77)", R(SYS_stat, "/proc/self/fd/77", &st0));
	show("open(/dev/fd/77)", R(SYS_open, "/dev/fd/77", O_RDONLY));
	long df = R(SYS_open, "procview.c.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	R(SYS_write, df, "twelve bytes", 12);
	char fl[64];
	snprintf(fl, sizeof fl, "/proc/self/fd/%ld", df);
	struct statx sx;
	long sr = R(SYS_statx, AT_FDCWD, fl, 0, STATX_SIZE, &sx);
	printf("statx(fd link) = %ld size=%llu\n", sr, sr == 0 ? (unsigned long long)sx.stx_size : 0ULL);
	R(SYS_unlink, "procview.c.data");
	/* A /proc file looked up again stays what the fd names. */
	fd = R(SYS_open, "/proc/cpuinfo", O_RDONLY);
	struct stat st;
	R(SYS_stat, "/proc/cpuinfo", &st);
	link_is("/proc/cpuinfo after a stat", (int)fd, "/proc/cpuinfo", "/proc/cpuinfo");
	/* readlinkat through the fd directory reads what readlink reads. */
	long dfd = R(SYS_open, "/proc/self/fd", O_RDONLY | O_DIRECTORY);
	char a[PATH_MAX], b[PATH_MAX];
	long na = R(SYS_readlink, "/proc/self/fd/1", a, sizeof a - 1);
	long nb = R(SYS_readlinkat, dfd, "1", b, sizeof b - 1);
	printf("readlinkat(fd dir, \"1\") is readlink(/proc/self/fd/1): %d\n", na > 0 && na == nb && memcmp(a, b, (size_t)na) == 0);
}

static const struct tcase cases[] = {
	{"self", c_self},
	{"selfopen", c_selfopen},
	{"reaped", c_reaped},
	{"task", c_task},
	{NULL, NULL},
};

int main(int argc, char **argv) { return dispatch(argc, argv, cases); }
