/* ipc: System V IPC and POSIX message queues.
 *   all      a shared memory segment, a semaphore and a message queue of
 *            System V, then a POSIX queue: create, use, remove
 *   probe K  whether SysV key K (hex) names a segment: the host's must not
 *            be visible in the sandbox */
#include "raw.h"
#include <mqueue.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

static char *probe_key;

static void c_all(void)
{
	int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	show("shmget", shm < 0 ? -errno : 0);
	char *p = shmat(shm, 0, 0);
	show("shmat", p == (void *)-1 ? -errno : 0);
	strcpy(p, "shared");
	printf("shm holds %s\n", p);
	show("shmdt", shmdt(p) ? -errno : 0);
	show("shmctl(RMID)", shmctl(shm, IPC_RMID, 0) ? -errno : 0);

	int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	show("semget", sem < 0 ? -errno : 0);
	struct sembuf up = {0, 2, 0};
	show("semop(+2)", semop(sem, &up, 1) ? -errno : 0);
	printf("sem value %d\n", semctl(sem, 0, GETVAL));
	show("semctl(RMID)", semctl(sem, 0, IPC_RMID) ? -errno : 0);

	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	show("msgget", q < 0 ? -errno : 0);
	struct { long type; char text[16]; } m = {1, "message"}, r = {0};
	show("msgsnd", msgsnd(q, &m, sizeof m.text, 0) ? -errno : 0);
	show("msgrcv", msgrcv(q, &r, sizeof r.text, 0, 0) < 0 ? -errno : 0);
	printf("received %s\n", r.text);
	show("msgctl(RMID)", msgctl(q, IPC_RMID, 0) ? -errno : 0);

	struct mq_attr a = {.mq_maxmsg = 4, .mq_msgsize = 16};
	mqd_t mq = mq_open("/sbx-ipc-test", O_CREAT | O_RDWR, 0600, &a);
	show("mq_open", mq == (mqd_t)-1 ? -errno : 0);
	show("mq_send", mq_send(mq, "posix", 6, 0) ? -errno : 0);
	char buf[16] = "";
	show("mq_receive", mq_receive(mq, buf, sizeof buf, 0) < 0 ? -errno : 0);
	printf("mq received %s\n", buf);
	show("mq_unlink", mq_unlink("/sbx-ipc-test") ? -errno : 0);
}

static void c_probe(void)
{
	key_t k = (key_t)strtoul(probe_key, 0, 16);
	show("shmget(host key)", shmget(k, 0, 0) < 0 ? -errno : 0);
}

static const struct tcase cases[] = {
	{"all", c_all},
	{"probe", c_probe},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	if (argc > 2)
		probe_key = argv[2];
	return dispatch(argc, argv, cases);
}
