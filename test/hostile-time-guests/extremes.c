/* Time syscalls at their extremes (#16 item 4): every call here returns at once on Linux (an
 * error, a time in the past, a ready descriptor, or a timer armed and read back), so the output
 * is compared line for line with qemu-i386. Raw syscalls: the kernel's answer, not libc's. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct ts32 { int32_t sec, nsec; };
struct ts64 { int64_t sec; int64_t nsec; };
struct tv32 { int32_t sec, usec; };
struct itv32 { struct tv32 interval, value; };
struct its32 { struct ts32 interval, value; };

static void show(const char *what, long r) {
  if (r < 0) printf("%s: %s\n", what, strerror(errno));
  else printf("%s: %ld\n", what, r);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct ts32 t;
  struct ts64 t64;
  /* nanosleep: tv_sec is a signed 32-bit time_t; tv_nsec 0..999999999 */
  t = (struct ts32){-1, 999999999};
  show("nanosleep {0xffffffff, 999999999}", syscall(SYS_nanosleep, &t, NULL));
  t = (struct ts32){INT32_MIN, 0};
  show("nanosleep {INT32_MIN, 0}", syscall(SYS_nanosleep, &t, NULL));
  t = (struct ts32){0, 1000000000};
  show("nanosleep {0, 1000000000}", syscall(SYS_nanosleep, &t, NULL));
  t = (struct ts32){0, -1};
  show("nanosleep {0, -1}", syscall(SYS_nanosleep, &t, NULL));
  t = (struct ts32){0, 0};
  show("nanosleep {0, 0}", syscall(SYS_nanosleep, &t, NULL));
  /* clock_nanosleep returns the error number itself (not -1/errno) */
  t = (struct ts32){-1, 0};
  show("clock_nanosleep MONOTONIC {-1, 0}", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &t, NULL));
  t = (struct ts32){0, 0};
  show("clock_nanosleep MONOTONIC ABSTIME {0, 0} (past)",
       syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL));
  t = (struct ts32){1, 0};
  show("clock_nanosleep REALTIME ABSTIME {1, 0} (past)",
       syscall(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, &t, NULL));
#ifdef SYS_clock_nanosleep_time64
  t64 = (struct ts64){-1, 0};
  show("clock_nanosleep_time64 {-1, 0}", syscall(SYS_clock_nanosleep_time64, CLOCK_MONOTONIC, 0, &t64, NULL));
  t64 = (struct ts64){INT64_MIN, 0};
  show("clock_nanosleep_time64 {INT64_MIN, 0}",
       syscall(SYS_clock_nanosleep_time64, CLOCK_MONOTONIC, 0, &t64, NULL));
  t64 = (struct ts64){0, 1000000000};
  show("clock_nanosleep_time64 {0, 1000000000}",
       syscall(SYS_clock_nanosleep_time64, CLOCK_MONOTONIC, 0, &t64, NULL));
  t64 = (struct ts64){0, 0};
  show("clock_nanosleep_time64 REALTIME ABSTIME {0, 0} (past)",
       syscall(SYS_clock_nanosleep_time64, CLOCK_REALTIME, TIMER_ABSTIME, &t64, NULL));
#endif
  /* futex: the timeout is checked before the word */
  int word = 1;
  t = (struct ts32){-1, 0};
  show("futex WAIT {-1, 0}, word differs", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0));
  t = (struct ts32){0, 1000000000};
  show("futex WAIT {0, 1000000000}", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, &t, NULL, 0));
  t = (struct ts32){0, 0};
  show("futex WAIT {0, 0}", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, &t, NULL, 0));
  t = (struct ts32){0, 0};
  show("futex WAIT_BITSET ABSTIME {0, 0} (past)",
       syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 1, &t, NULL, FUTEX_BITSET_MATCH_ANY));
  t = (struct ts32){1, 0};
  show("futex WAIT_BITSET REALTIME {1, 0} (past)",
       syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 1, &t, NULL,
               FUTEX_BITSET_MATCH_ANY));
  /* interval timers far away: armed, read back (seconds only: the rest is elapsed time), disarmed */
  struct itv32 it = {{0, 0}, {0x7fffffff, 999999}}, old;
  show("setitimer REAL {0x7fffffff, 999999}", syscall(SYS_setitimer, ITIMER_REAL, &it, NULL));
  memset(&old, 0, sizeof old);
  syscall(SYS_getitimer, ITIMER_REAL, &old);
  printf("getitimer: value %s 0x7ffffffe s, interval %d.%06d\n",
         old.value.sec >= 0x7ffffffe ? ">=" : "<", old.interval.sec, old.interval.usec);
  it = (struct itv32){{0, 0}, {0, 1000000}};
  show("setitimer REAL {0, 1000000}", syscall(SYS_setitimer, ITIMER_REAL, &it, NULL));
  it = (struct itv32){{0, 0}, {-1, 0}};
  show("setitimer REAL {-1, 0}", syscall(SYS_setitimer, ITIMER_REAL, &it, NULL));
  it = (struct itv32){{0, 0}, {0, 0}};
  show("setitimer REAL disarm", syscall(SYS_setitimer, ITIMER_REAL, &it, NULL));
  show("alarm(0xffffffff)", syscall(SYS_alarm, 0xffffffffu));
  /* 4294967295 reads as -1 through syscall(): print the raw value */
  printf("alarm(0) returns %lu\n", (unsigned long)syscall(SYS_alarm, 0));
  /* POSIX timer far away */
  timer_t id;
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_NONE;
  show("timer_create", syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, &id));
  struct its32 its = {{0, 0}, {0x7fffffff, 999999999}}, got;
  show("timer_settime {0x7fffffff, 999999999}", syscall(SYS_timer_settime, id, 0, &its, NULL));
  memset(&got, 0, sizeof got);
  syscall(SYS_timer_gettime, id, &got);
  printf("timer_gettime: value %s 0x7ffffffe s\n", got.value.sec >= 0x7ffffffe ? ">=" : "<");
  its = (struct its32){{0, 0}, {0, 1000000000}};
  show("timer_settime {0, 1000000000}", syscall(SYS_timer_settime, id, 0, &its, NULL));
  its = (struct its32){{-1, 0}, {1, 0}};
  show("timer_settime interval {-1, 0}", syscall(SYS_timer_settime, id, 0, &its, NULL));
  /* waits with huge timeouts on a ready descriptor return at once */
  int fds[2];
  pipe(fds);
  write(fds[1], "x", 1);
  struct pollfd pfd = {fds[0], POLLIN, 0};
  show("poll INT32_MAX ms, ready", syscall(SYS_poll, &pfd, 1, INT32_MAX));
  t = (struct ts32){0x7fffffff, 999999999};
  show("ppoll {0x7fffffff, 999999999}, ready", syscall(SYS_ppoll, &pfd, 1, &t, NULL, 8));
  t = (struct ts32){-1, 0};
  show("ppoll {-1, 0}", syscall(SYS_ppoll, &pfd, 1, &t, NULL, 8));
  t = (struct ts32){0, 1000000000};
  show("ppoll {0, 1000000000}", syscall(SYS_ppoll, &pfd, 1, &t, NULL, 8));
  show("poll -5 ms (no timeout), ready", syscall(SYS_poll, &pfd, 1, -5));
  fd_set rs;
  struct tv32 tv = {-1, 0};
  FD_ZERO(&rs);
  FD_SET(fds[0], &rs);
  show("select {-1, 0}", syscall(SYS__newselect, fds[0] + 1, &rs, NULL, NULL, &tv));
  tv = (struct tv32){0, -1};
  FD_ZERO(&rs);
  FD_SET(fds[0], &rs);
  show("select {0, -1}", syscall(SYS__newselect, fds[0] + 1, &rs, NULL, NULL, &tv));
  tv = (struct tv32){0x7fffffff, 999999};
  FD_ZERO(&rs);
  FD_SET(fds[0], &rs);
  show("select {0x7fffffff, 999999}, ready", syscall(SYS__newselect, fds[0] + 1, &rs, NULL, NULL, &tv));
  printf("select left: %s\n", tv.sec >= 0x7ffffffe ? ">= 0x7ffffffe s" : "less");
  tv = (struct tv32){0, 2000000};
  FD_ZERO(&rs);
  FD_SET(fds[0], &rs);
  show("select {0, 2000000} (usec normalized), ready", syscall(SYS__newselect, fds[0] + 1, &rs, NULL, NULL, &tv));
  t = (struct ts32){-1, 0};
  FD_ZERO(&rs);
  FD_SET(fds[0], &rs);
  show("pselect6 {-1, 0}", syscall(SYS_pselect6, fds[0] + 1, &rs, NULL, NULL, &t, NULL));
  int ep = epoll_create1(0);
  struct epoll_event ev = {EPOLLIN, {0}}, got_ev;
  epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
  show("epoll_wait -7 ms (no timeout), ready", syscall(SYS_epoll_wait, ep, &got_ev, 1, -7));
  show("epoll_wait INT32_MAX ms, ready", syscall(SYS_epoll_wait, ep, &got_ev, 1, INT32_MAX));
  return 0;
}
