/* timerfd (#16 item 4): creation, arming, reading, polling and the checks on its arguments, with
 * output that holds on Linux whatever the host's timing (counts are printed as lower bounds where
 * a loaded host may add expirations). Compared line by line with qemu-i386. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct ts32 { int32_t sec, nsec; };
struct its32 { struct ts32 interval, value; };

static long long mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void show(const char *what, long r) {
  if (r < 0) printf("%s: %s\n", what, strerror(errno));
  else printf("%s: %ld\n", what, r);
}

static int settime(int fd, int flags, int32_t isec, int32_t insec, int32_t vsec, int32_t vnsec, struct its32 *old) {
  struct its32 its = {{isec, insec}, {vsec, vnsec}};
  return syscall(SYS_timerfd_settime, fd, flags, &its, old);
}

static long long readcount(int fd) {
  uint64_t n = 0;
  ssize_t r = read(fd, &n, sizeof n);
  return r == 8 ? (long long)n : -errno;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  show("create bad clock", timerfd_create(12345, 0));
  show("create bad flags", timerfd_create(CLOCK_MONOTONIC, 1));
  int fd = timerfd_create(CLOCK_MONOTONIC, 0);
  printf("create: %s\n", fd >= 0 ? "ok" : strerror(errno));
  struct its32 cur;
  syscall(SYS_timerfd_gettime, fd, &cur);
  printf("disarmed: %d.%09d %d.%09d\n", cur.interval.sec, cur.interval.nsec, cur.value.sec, cur.value.nsec);

  long long t0 = mono();
  show("arm 50 ms, every 20 ms", settime(fd, 0, 0, 20000000, 0, 50000000, NULL));
  syscall(SYS_timerfd_gettime, fd, &cur);
  printf("gettime: interval %d.%09d, value %s\n", cur.interval.sec, cur.interval.nsec,
         cur.value.sec == 0 && cur.value.nsec <= 50000000 && cur.value.nsec > 0 ? "in (0, 50 ms]" : "WRONG");
  long long n = readcount(fd);
  long long waited = mono() - t0;
  printf("first read: %s, after %s\n", n >= 1 ? ">= 1" : strerror(-n), waited >= 50000000 ? ">= 50 ms" : "WRONG");
  struct timespec nap = {0, 45000000};
  nanosleep(&nap, NULL);
  n = readcount(fd);
  printf("read after 45 ms: %s\n", n >= 2 ? ">= 2" : "WRONG");

  struct pollfd p = {fd, POLLIN, 0};
  show("poll, nothing pending", poll(&p, 1, 0));
  show("poll, waits for the next period", poll(&p, 1, -1));
  printf("revents %#x\n", p.revents);
  struct its32 old;
  show("disarm", settime(fd, 0, 0, 0, 0, 0, &old));
  printf("old interval %d.%09d\n", old.interval.sec, old.interval.nsec);
  show("poll disarmed (timeout 30 ms)", poll(&p, 1, 30));

  int nb = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  n = readcount(nb);
  printf("nonblocking read, disarmed: %s\n", n >= 0 ? "a count" : strerror(-n));
  char small[4];
  show("read of 4 bytes", read(nb, small, 4));
  show("settime nsec 1000000000", settime(nb, 0, 0, 0, 0, 1000000000, NULL));
  show("settime sec -1", settime(nb, 0, 0, 0, -1, 0, NULL));
  show("settime interval nsec -1", settime(nb, 0, 0, -1, 1, 0, NULL));
  show("settime bad flags", settime(nb, 4, 0, 0, 1, 0, NULL));
  int pipefd[2];
  pipe(pipefd);
  show("settime on a pipe", settime(pipefd[0], 0, 0, 0, 1, 0, NULL));
  show("settime on fd 999", settime(999, 0, 0, 0, 1, 0, NULL));
  show("gettime on a pipe", syscall(SYS_timerfd_gettime, pipefd[0], &cur));

  /* absolute, in the past: expires at once */
  show("arm REALTIME absolute {1, 0} (past)", settime(nb, TFD_TIMER_ABSTIME, 0, 0, 1, 0, NULL));
  show("poll (blocking) on it", poll(&(struct pollfd){nb, POLLIN, 0}, 1, -1));
  printf("count: %lld\n", readcount(nb));
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  show("arm MONOTONIC absolute now + 20 ms",
       settime(fd, TFD_TIMER_ABSTIME, 0, 0, (int32_t)now.tv_sec + (now.tv_nsec + 20000000) / 1000000000,
               (int32_t)((now.tv_nsec + 20000000) % 1000000000), NULL));
  printf("count: %lld\n", readcount(fd));

  /* far away */
  show("arm {0x7fffffff, 999999999}", settime(fd, 0, 0x7fffffff, 999999999, 0x7fffffff, 999999999, NULL));
  syscall(SYS_timerfd_gettime, fd, &cur);
  printf("gettime: interval %d.%09d, value %s\n", cur.interval.sec, cur.interval.nsec,
         cur.value.sec >= 0x7ffffffe ? ">= 0x7ffffffe s" : "WRONG");

  /* epoll */
  int ep = epoll_create1(0);
  struct epoll_event ev = {EPOLLIN, {.u32 = 7}};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  show("arm 10 ms", settime(fd, 0, 0, 0, 0, 10000000, NULL));
  show("epoll_wait", epoll_wait(ep, &ev, 1, -1));
  printf("event %#x data %u, count %lld\n", ev.events, ev.data.u32, readcount(fd));
  return 0;
}
