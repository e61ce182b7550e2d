/* poll, select, pselect, epoll (level and edge triggered, oneshot) and eventfd over pipes and
   between processes (vs qemu-i386). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define SHOW(label, expr) do { errno = 0; long r_ = (long)(expr); printf("%s %ld %d\n", label, r_, errno); } while (0)

int main(void) {
  int p[2];
  pipe(p);
  struct pollfd f[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {99, POLLIN, 0}};
  SHOW("poll empty", poll(f, 3, 0));
  printf("revents %x %x %x\n", f[0].revents, f[1].revents, f[2].revents);
  write(p[1], "abc", 3);
  SHOW("poll data", poll(f, 2, 10));
  printf("revents %x %x\n", f[0].revents, f[1].revents);
  int n = -1;
  SHOW("fionread", ioctl(p[0], FIONREAD, &n));
  printf("fionread bytes %d\n", n);
  struct termios tio;
  SHOW("tcgets", ioctl(p[0], TCGETS, &tio));
  struct winsize ws;
  SHOW("tiocgwinsz", ioctl(1, TIOCGWINSZ, &ws));

  fd_set rs, ws2;
  FD_ZERO(&rs); FD_ZERO(&ws2);
  FD_SET(p[0], &rs); FD_SET(p[1], &ws2);
  struct timeval tv = {0, 0};
  SHOW("select", select(p[1] + 1, &rs, &ws2, NULL, &tv));
  printf("isset %d %d\n", FD_ISSET(p[0], &rs), FD_ISSET(p[1], &ws2));
  char b[8];
  read(p[0], b, 3);
  FD_ZERO(&rs); FD_SET(p[0], &rs);
  tv.tv_sec = 0; tv.tv_usec = 20000;
  SHOW("select timeout", select(p[0] + 1, &rs, NULL, NULL, &tv));
  printf("tv left %ld %ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
  FD_ZERO(&rs); FD_SET(44, &rs);
  SHOW("select badf", select(45, &rs, NULL, NULL, &tv));
  struct timespec ts = {0, 1000000};
  FD_ZERO(&rs); FD_SET(p[0], &rs);
  SHOW("pselect timeout", pselect(p[0] + 1, &rs, NULL, NULL, &ts, NULL));

  /* A child writes later; the parent sleeps in poll until then. */
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) { usleep(5000); write(p[1], "late", 4); _exit(0); }
  f[0].revents = 0;
  SHOW("poll blocks until child writes", poll(f, 1, -1));
  SHOW("read", read(p[0], b, 8));
  waitpid(c, NULL, 0);

  /* epoll over two pipes and an eventfd. */
  int q[2];
  pipe(q);
  int ev = eventfd(0, EFD_NONBLOCK);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 0x1111222233334444ULL};
  SHOW("ctl add p", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
  SHOW("ctl add again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
  e.events = EPOLLIN | EPOLLET; e.data.u32 = 2;
  SHOW("ctl add q (ET)", epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &e));
  e.events = EPOLLIN | EPOLLONESHOT; e.data.u32 = 3;
  SHOW("ctl add eventfd (oneshot)", epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e));
  SHOW("ctl del missing", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
  struct epoll_event out[8];
  SHOW("wait none", epoll_wait(ep, out, 8, 0));
  write(p[1], "x", 1);
  write(q[1], "y", 1);
  uint64_t one = 5;
  write(ev, &one, 8);
  int k = epoll_wait(ep, out, 8, 100);
  printf("wait ready %d\n", k);
  for (int i = 0; i < k; i++) printf("  events %x data %llx\n", out[i].events, (unsigned long long)out[i].data.u64);
  k = epoll_wait(ep, out, 8, 0);
  printf("again (level p only) %d first %llx\n", k, k ? (unsigned long long)out[0].data.u64 : 0ULL);
  write(q[1], "z", 1);
  k = epoll_wait(ep, out, 8, 0);
  printf("after new q data %d\n", k);
  uint64_t got = 0;
  SHOW("eventfd read", read(ev, &got, 8));
  printf("eventfd value %llu\n", (unsigned long long)got);
  SHOW("eventfd empty", read(ev, &got, 8));
  SHOW("eventfd short", read(ev, &got, 4));

  /* An epoll loop serving three children that each write twice. */
  int r[2];
  pipe(r);
  int loop = epoll_create1(0);
  e.events = EPOLLIN; e.data.fd = r[0];
  epoll_ctl(loop, EPOLL_CTL_ADD, r[0], &e);
  fflush(stdout);
  for (int i = 0; i < 3; i++)
    if (fork() == 0) {
      char msg[16];
      for (int j = 0; j < 2; j++) { usleep(1000 * (i + 1)); int l = snprintf(msg, sizeof msg, "c%dm%d;", i, j); write(r[1], msg, l); }
      _exit(0);
    }
  close(r[1]);
  int total = 0, eof = 0;
  while (!eof) {
    struct epoll_event one_ev;
    if (epoll_wait(loop, &one_ev, 1, -1) != 1) break;
    char buf[64];
    ssize_t m = read(r[0], buf, sizeof buf);
    if (m == 0) eof = 1; else total += m;
  }
  while (wait(NULL) > 0) {}
  printf("loop read %d bytes then eof\n", total);
  return 0;
}
