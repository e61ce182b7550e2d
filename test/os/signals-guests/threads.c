/* Signals between threads: pthread_kill (tgkill) runs the handler on the target thread, per-thread
 * masks steer a process-directed kill() to the thread that does not block it, sigwait in one
 * thread for a signal another thread sends, and tkill on a thread blocked in a futex wait. */
#include "common.h"
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

static volatile int handler_tid;
static void on_usr1(int sig) {
  (void)sig;
  handler_tid = gettid_();
}

static sem_t ready, go, done;
static volatile int worker_tid;

static void *worker_unblocked(void *arg) {
  (void)arg;
  worker_tid = gettid_();
  sem_post(&ready);
  sem_wait(&go); /* signalled while waiting here: the handler runs in this thread, then sem_wait resumes */
  sem_post(&done);
  return 0;
}

static void *worker_unblocking(void *arg) {
  block(SIG_UNBLOCK, SIGUSR1);
  return worker_unblocked(arg);
}

static void *worker_waiter(void *arg) {
  (void)arg;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  worker_tid = gettid_();
  sem_post(&ready);
  int sig = 0;
  int r = sigwait(&s, &sig);
  logf_("waiter: sigwait=%d sig=%d in_waiter=%d\n", r, sig, gettid_() == worker_tid);
  return 0;
}

int main(void) {
  int main_tid = gettid_();
  install(SIGUSR1, on_usr1, SA_RESTART, 0);
  sem_init(&ready, 0, 0);
  sem_init(&go, 0, 0);
  sem_init(&done, 0, 0);

  printf("== pthread_kill runs the handler on the target thread\n");
  pthread_t th;
  pthread_create(&th, 0, worker_unblocked, 0);
  sem_wait(&ready);
  pthread_kill(th, SIGUSR1);
  /* The handler has run once the worker is scheduled; wait for it before releasing the worker. */
  while (!handler_tid) sched_yield();
  sem_post(&go);
  sem_wait(&done);
  pthread_join(th, 0);
  printf("handler ran in worker=%d main=%d\n", handler_tid == worker_tid, handler_tid == main_tid);

  printf("== a process-directed signal goes to a thread that does not block it\n");
  handler_tid = 0;
  block(SIG_BLOCK, SIGUSR1); /* main blocks it, the worker (inheriting that) unblocks it */
  pthread_create(&th, 0, worker_unblocking, 0);
  sem_wait(&ready);
  kill(getpid(), SIGUSR1);
  while (!handler_tid) sched_yield();
  sigset_t p;
  sigpending(&p);
  printf("still pending for main=%d\n", sigismember(&p, SIGUSR1));
  sem_post(&go);
  sem_wait(&done);
  pthread_join(th, 0);
  block(SIG_UNBLOCK, SIGUSR1);
  printf("kill handled by worker=%d main=%d\n", handler_tid == worker_tid, handler_tid == main_tid);

  printf("== a POSIX timer aimed at one thread (SIGEV_THREAD_ID)\n");
  handler_tid = 0;
  pthread_create(&th, 0, worker_unblocked, 0);
  sem_wait(&ready);
  block(SIG_BLOCK, SIGUSR1); /* not main's: only the target thread may take it */
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGUSR1;
  sev._sigev_un._tid = worker_tid;
  timer_t tm;
  printf("timer_create=%d\n", timer_create(CLOCK_MONOTONIC, &sev, &tm));
  struct itimerspec its = {{0, 0}, {0, 2000000}};
  timer_settime(tm, 0, &its, 0);
  while (!handler_tid) sched_yield();
  sem_post(&go);
  sem_wait(&done);
  pthread_join(th, 0);
  timer_delete(tm);
  block(SIG_UNBLOCK, SIGUSR1);
  printf("timer signal ran in worker=%d\n", handler_tid == worker_tid);

  printf("== sigwait in another thread\n");
  block(SIG_BLOCK, SIGUSR2); /* inherited: only sigwait takes it */
  pthread_create(&th, 0, worker_waiter, 0);
  sem_wait(&ready);
  pthread_kill(th, SIGUSR2);
  pthread_join(th, 0);
  flushlog();

  printf("== tgkill errors\n");
  long r = syscall(SYS_tgkill, getpid(), 999999, SIGUSR1);
  printf("tgkill(no such tid)=%ld %s\n", r, errno == ESRCH ? "ESRCH" : "?");
  r = syscall(SYS_tgkill, getpid() + 12345, main_tid, SIGUSR1);
  printf("tgkill(wrong tgid)=%ld %s\n", r, errno == ESRCH ? "ESRCH" : "?");
  r = syscall(SYS_tkill, 0, SIGUSR1);
  printf("tkill(0)=%ld %s\n", r, errno == EINVAL ? "EINVAL" : "?");
  return 0;
}
