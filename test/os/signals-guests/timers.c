/* Timers and interrupted calls: alarm + pause, a periodic ITIMER_REAL counted with sigsuspend,
 * getitimer, a POSIX timer (SIGEV_SIGNAL with a value, sigwaitinfo, timer_gettime, overruns),
 * nanosleep interrupted (EINTR and the time left), a futex wait interrupted with and without
 * SA_RESTART. Nothing printed depends on how long anything took. */
#include "common.h"
#include <linux/futex.h>
#include <sys/time.h>
#include <time.h>

static volatile int alarms;
static void on_alarm(int sig) {
  alarms++;
  logf_("alarm: sig=%d n=%d\n", sig, alarms);
}

static volatile int futex_word;
static volatile int ticks;
static void on_tick(int sig) {
  (void)sig;
  ticks++;
  if (ticks == 2) futex_word = 1;
}

static void on_cont(int sig) { logf_("cont: sig=%d\n", sig); }

static long futex_wait(volatile int *w, int val) {
  return syscall(SYS_futex, w, FUTEX_WAIT, val, 0, 0, 0);
}

int main(void) {
  printf("== alarm and pause\n");
  install(SIGALRM, on_alarm, 0, 0);
  printf("alarm(0)=%u\n", alarm(1));
  printf("alarm again=%u\n", alarm(1)); /* the first has (almost) a second left: rounds to 1 */
  int r = pause();
  flushlog();
  printf("pause=%d errno=%s\n", r, errno == EINTR ? "EINTR" : "?");

  printf("== periodic ITIMER_REAL\n");
  struct itimerval it = {{0, 5000}, {0, 5000}}, cur;
  setitimer(ITIMER_REAL, &it, 0);
  getitimer(ITIMER_REAL, &cur);
  printf("interval=%ld value_ok=%d\n", (long)cur.it_interval.tv_usec,
         cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 5000);
  sigset_t none;
  sigemptyset(&none);
  block(SIG_BLOCK, SIGALRM);
  while (alarms < 4) sigsuspend(&none);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, &cur);
  /* An expiry between the last sigsuspend and the disarm may be pending: SIG_IGN discards it. */
  signal(SIGALRM, SIG_IGN);
  block(SIG_UNBLOCK, SIGALRM);
  install(SIGALRM, on_alarm, 0, 0);
  flushlog();
  printf("stopped: old interval=%ld\n", (long)cur.it_interval.tv_usec);
  getitimer(ITIMER_REAL, &cur);
  printf("disarmed=%d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);

  printf("== POSIX timer\n");
  timer_t tid;
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGRTMIN;
  sev.sigev_value.sival_int = 77;
  r = timer_create(CLOCK_MONOTONIC, &sev, &tid);
  printf("timer_create=%d\n", r);
  block(SIG_BLOCK, SIGRTMIN);
  struct itimerspec its = {{0, 0}, {0, 2000000}}, got;
  timer_settime(tid, 0, &its, 0);
  timer_gettime(tid, &got);
  printf("armed: value_ok=%d interval=%ld\n", got.it_value.tv_nsec > 0 && got.it_value.tv_nsec <= 2000000,
         got.it_interval.tv_nsec);
  sigset_t w;
  sigemptyset(&w);
  sigaddset(&w, SIGRTMIN);
  siginfo_t si;
  r = sigwaitinfo(&w, &si);
  printf("sigwaitinfo=%d code=%d value=%d overrun=%d\n", r - SIGRTMIN, si.si_code, si.si_value.sival_int,
         timer_getoverrun(tid));
  timer_gettime(tid, &got);
  printf("one-shot over: %d\n", got.it_value.tv_sec == 0 && got.it_value.tv_nsec == 0);
  r = timer_delete(tid);
  printf("timer_delete=%d\n", r);
  r = timer_delete(tid);
  printf("again=%d %s\n", r, errno == EINVAL ? "EINVAL" : "?");
  block(SIG_UNBLOCK, SIGRTMIN);

  printf("== delivered to a thread running user code\n");
  install(SIGALRM, on_tick, 0, 0);
  ticks = 0;
  struct itimerval fast = {{0, 1000}, {0, 1000}};
  setitimer(ITIMER_REAL, &fast, 0);
  volatile unsigned spins = 0;
  while (ticks < 3) spins++;
  setitimer(ITIMER_REAL, &off, 0);
  /* qemu runs on host time: one more tick may land before the disarm, so "at least". */
  printf("ticks>=3: %d spun=%d\n", ticks >= 3, spins > 0);
  install(SIGALRM, on_alarm, 0, 0);

  printf("== POSIX timer overruns while its signal is blocked\n");
  sev.sigev_value.sival_int = 5;
  timer_create(CLOCK_MONOTONIC, &sev, &tid);
  block(SIG_BLOCK, SIGRTMIN);
  struct itimerspec per1 = {{0, 1000000}, {0, 1000000}};
  timer_settime(tid, 0, &per1, 0);
  struct timespec nap = {0, 30000000};
  nanosleep(&nap, 0); /* ~30 expiries: one signal queued, the rest are overruns */
  r = sigwaitinfo(&w, &si);
  printf("got=%d value=%d overrun_many=%d getoverrun_same=%d\n", r - SIGRTMIN, si.si_value.sival_int,
         si.si_overrun > 10, timer_getoverrun(tid) == si.si_overrun);
  timer_delete(tid);
  block(SIG_UNBLOCK, SIGRTMIN);

  printf("== ITIMER_PROF while computing\n");
  install(SIGPROF, on_tick, 0, 0);
  ticks = 0;
  struct itimerval prof = {{0, 1000}, {0, 1000}};
  setitimer(ITIMER_PROF, &prof, 0);
  spins = 0;
  while (ticks < 3) spins++;
  setitimer(ITIMER_PROF, &off, 0);
  printf("prof ticks>=3: %d\n", ticks >= 3);

  printf("== stopped by SIGSTOP, continued by a timer's SIGCONT\n");
  install(SIGCONT, on_cont, 0, 0);
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGCONT;
  timer_create(CLOCK_MONOTONIC, &sev, &tid);
  struct itimerspec cont = {{0, 0}, {0, 50000000}}; /* after raise(SIGSTOP) even on a loaded host */
  timer_settime(tid, 0, &cont, 0);
  raise(SIGSTOP);
  flushlog();
  printf("resumed after stop\n");
  timer_delete(tid);

  printf("== nanosleep interrupted\n");
  struct itimerval once = {{0, 0}, {0, 3000}};
  setitimer(ITIMER_REAL, &once, 0);
  struct timespec req = {5, 0}, rem = {0, 0};
  r = nanosleep(&req, &rem);
  flushlog();
  printf("nanosleep=%d errno=%s rem_ok=%d\n", r, errno == EINTR ? "EINTR" : "?", rem.tv_sec >= 4 && rem.tv_sec <= 5);

  printf("== futex wait: EINTR without SA_RESTART\n");
  ticks = 0;
  futex_word = 0;
  install(SIGALRM, on_tick, 0, 0);
  /* 20 ms apart: long enough that, on qemu's host clock, the wait has begun before the first tick. */
  struct itimerval per = {{0, 20000}, {0, 20000}};
  setitimer(ITIMER_REAL, &per, 0);
  long fr = futex_wait(&futex_word, 0);
  printf("futex=%ld errno=%s ticks>=1: %d\n", fr, errno == EINTR ? "EINTR" : "?", ticks >= 1);
  setitimer(ITIMER_REAL, &off, 0);

  printf("== futex wait: restarted with SA_RESTART\n");
  ticks = 0;
  futex_word = 0;
  install(SIGALRM, on_tick, SA_RESTART, 0);
  setitimer(ITIMER_REAL, &per, 0);
  fr = futex_wait(&futex_word, 0); /* restarted after tick 1, sees the word changed after tick 2 */
  printf("futex=%ld errno=%s ticks>=2: %d\n", fr, errno == EAGAIN ? "EAGAIN" : "?", ticks >= 2);
  setitimer(ITIMER_REAL, &off, 0);
  return 0;
}
