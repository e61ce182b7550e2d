/* Hostile-time guests (#16 "time that jumps"): each mode blocks every task for a long virtual time
 * and then reports, from the guest's own clock_gettime, how long it slept against what it asked
 * for. "ok" lines hold on Linux (qemu-i386) for any duration: a sleep lasts at least what was
 * asked, and not absurdly longer (SLACK_NS). Usage: sleepers MODE [SECONDS] */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* Allowed overshoot of a wake-up: scheduling rounds and syscall costs, far below any request. */
#define SLACK_NS 50000000LL

static long long mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void verdict(const char *what, long long asked, long long slept) {
  int ok = slept >= asked && slept - asked < SLACK_NS;
  printf("%s: asked %lld ns, slept %lld ns: %s\n", what, asked, slept, ok ? "ok" : "WRONG");
}

static volatile sig_atomic_t alarmed;
static void on_alarm(int sig) { (void)sig; alarmed = 1; }

struct waiter {
  int word;
  long long asked;
  long long slept;
  int err;
};

static void *spin(void *arg) {
  volatile unsigned n = 0;
  for (unsigned i = 0; i < 30000; i++) n++;
  return arg;
}

static void *futex_waiter(void *arg) {
  struct waiter *w = arg;
  struct timespec ts = {w->asked / 1000000000LL, w->asked % 1000000000LL};
  long long t0 = mono();
  long r = syscall(SYS_futex, &w->word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
  w->slept = mono() - t0;
  w->err = r < 0 ? errno : 0;
  return NULL;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "sleep";
  long long secs = argc > 2 ? atoll(argv[2]) : 1;
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!strcmp(mode, "sleep")) {
    long long t0 = mono();
    unsigned left = sleep((unsigned)secs);
    verdict("sleep", secs * 1000000000LL, mono() - t0);
    printf("sleep returned %u\n", left);
  } else if (!strcmp(mode, "nanosleep")) {
    /* a 32-bit timespec: tv_sec is a signed 32-bit time_t */
    struct timespec ts = {(time_t)secs, 999999999};
    long long t0 = mono();
    int r = nanosleep(&ts, NULL);
    if (r == 0) verdict("nanosleep", secs * 1000000000LL + 999999999, mono() - t0);
    else printf("nanosleep: %s\n", strerror(errno));
  } else if (!strcmp(mode, "alarm")) {
    signal(SIGALRM, on_alarm);
    long long t0 = mono();
    alarm((unsigned)secs);
    while (!alarmed) pause();
    verdict("alarm", secs * 1000000000LL, mono() - t0);
  } else if (!strcmp(mode, "timer")) {
    /* A POSIX timer (timer_create) far away, waited for in pause(). */
    timer_t id;
    struct sigevent sev;
    struct itimerspec its = {{0, 0}, {(time_t)secs, 0}};
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGALRM;
    signal(SIGALRM, on_alarm);
    timer_create(CLOCK_MONOTONIC, &sev, &id);
    long long t0 = mono();
    timer_settime(id, 0, &its, NULL);
    while (!alarmed) pause();
    verdict("timer", secs * 1000000000LL, mono() - t0);
  } else if (!strcmp(mode, "timerfd")) {
    /* A timerfd far away, read (blocking) when it expires. */
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{0, 0}, {(time_t)secs, 0}};
    unsigned long long n = 0;
    long long t0 = mono();
    timerfd_settime(fd, 0, &its, NULL);
    ssize_t r = read(fd, &n, sizeof n);
    printf("timerfd read %d bytes, %llu expiration(s)\n", (int)r, n);
    verdict("timerfd", secs * 1000000000LL, mono() - t0);
  } else if (!strcmp(mode, "poll") || !strcmp(mode, "epoll") || !strcmp(mode, "select")) {
    /* A descriptor nobody writes to, waited on with a timeout. */
    int fds[2], r;
    pipe(fds);
    long long t0 = mono();
    if (mode[0] == 'p') {
      struct pollfd p = {fds[0], POLLIN, 0};
      r = poll(&p, 1, (int)(secs * 1000));
    } else if (mode[0] == 'e') {
      int ep = epoll_create1(0);
      struct epoll_event ev = {EPOLLIN, {0}};
      epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
      r = epoll_wait(ep, &ev, 1, (int)(secs * 1000));
    } else {
      fd_set rs;
      struct timeval tv = {(time_t)secs, 0};
      FD_ZERO(&rs);
      FD_SET(fds[0], &rs);
      r = select(fds[0] + 1, &rs, NULL, NULL, &tv);
    }
    long long slept = mono() - t0;
    printf("%s returned %d\n", mode, r);
    verdict(mode, secs * 1000000000LL, slept);
  } else if (!strcmp(mode, "futex")) {
    /* Three threads and the main thread all wait on futexes nobody wakes, with timeouts. */
    enum { N = 3 };
    struct waiter w[N + 1];
    pthread_t th[N];
    for (int i = 0; i <= N; i++) {
      memset(&w[i], 0, sizeof w[i]);
      w[i].asked = secs * 1000000000LL * (i + 1) / (N + 1) + 123456789LL * i;
    }
    for (int i = 0; i < N; i++) pthread_create(&th[i], NULL, futex_waiter, &w[i]);
    futex_waiter(&w[N]);
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL);
    for (int i = 0; i <= N; i++) {
      char what[32];
      snprintf(what, sizeof what, "futex %d (%s)", i, w[i].err == ETIMEDOUT ? "ETIMEDOUT" : strerror(w[i].err));
      verdict(what, w[i].asked, w[i].slept);
    }
  } else if (!strcmp(mode, "spin-after")) {
    /* A sleep of SECONDS + 0.999999999 s, then five threads that compete for up to four CPUs
     * (their schedule shows where the timer ticks fall after the sleep). */
    struct timespec ts = {(time_t)secs, 999999999};
    pthread_t th[4];
    nanosleep(&ts, NULL);
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, spin, NULL);
    spin(NULL);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    puts("spun");
  } else if (!strcmp(mode, "busy")) {
    /* Runs for ever without a system call (stopped from outside). */
    volatile unsigned n = 0;
    puts("busy");
    for (;;) n++;
  } else if (!strcmp(mode, "ticking")) {
    /* Idle for ever, woken every microsecond by a timer whose signal is ignored: rounds go by
     * with almost no instruction retired. */
    struct itimerval it = {{0, 1}, {0, 1}};
    signal(SIGALRM, SIG_IGN);
    setitimer(ITIMER_REAL, &it, NULL);
    puts("ticking");
    for (;;) pause();
  } else if (!strcmp(mode, "forever")) {
    /* Every task blocked with no timeout: Linux would wait for ever. */
    pause();
    printf("pause returned\n");
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return 0;
}
