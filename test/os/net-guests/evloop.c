/* An epoll event loop serving TCP clients: a nonblocking listener and connections in one epoll set,
 * accept4(SOCK_NONBLOCK), reads until EAGAIN, echo back; 3 forked clients make 5 exchanges each over
 * one connection and exit with how many echoes were right. Then poll() readiness on a socketpair
 * (POLLOUT, POLLIN with data, POLLIN|POLLHUP after the peer closes) and select() on a UDP socket.
 * Prints only totals and readiness bits, which do not depend on scheduling. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS 3
#define ROUNDS 5

static struct sockaddr_in addr;

static int client(int id) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) return 100;
  int ok = 0;
  for (int i = 0; i < ROUNDS; i++) {
    char msg[32], got[32] = {0};
    int n = snprintf(msg, sizeof msg, "c%d-m%d;", id, i);
    write(s, msg, n);
    int have = 0;
    while (have < n) { int k = read(s, got + have, n - have); if (k <= 0) break; have += k; }
    if (have == n && memcmp(got, msg, n) == 0) ok++;
  }
  close(s);
  return ok;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof addr;
  bind(l, (struct sockaddr *)&addr, al);
  listen(l, 8);
  getsockname(l, (struct sockaddr *)&addr, &al);
  pid_t kids[CLIENTS];
  for (int i = 0; i < CLIENTS; i++)
    if ((kids[i] = fork()) == 0) { close(l); _exit(client(i)); }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  int accepted = 0, closed = 0, echoed = 0, eagain = 0;
  while (closed < CLIENTS) {
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, 8, 5000);
    if (n <= 0) { printf("epoll_wait: %d\n", n); break; }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == l) {
        int c;
        while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
          accepted++;
        }
        if (errno == EAGAIN) eagain++;
        continue;
      }
      char buf[256];
      for (;;) {
        ssize_t k = read(fd, buf, sizeof buf);
        if (k > 0) { write(fd, buf, k); echoed += k; continue; }
        if (k == 0) { epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL); close(fd); closed++; }
        break;
      }
    }
  }
  int right = 0;
  for (int i = 0; i < CLIENTS; i++) {
    int st;
    waitpid(kids[i], &st, 0);
    right += WIFEXITED(st) ? WEXITSTATUS(st) : 0;
  }
  printf("accepted %d, closed %d, echoed %d bytes, accept ended with EAGAIN: %d\n", accepted, closed, echoed, eagain > 0);
  printf("clients got %d/%d echoes right\n", right, CLIENTS * ROUNDS);

  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct pollfd p = {.fd = sv[0], .events = POLLIN | POLLOUT};
  int r = poll(&p, 1, 0);
  printf("poll empty: %d revents %#x\n", r, p.revents);
  write(sv[1], "x", 1);
  r = poll(&p, 1, 0);
  printf("poll data: %d revents %#x\n", r, p.revents);
  close(sv[1]);
  p.events = POLLIN | POLLRDHUP;
  r = poll(&p, 1, 0);
  printf("poll peer closed: %d revents %#x\n", r, p.revents);
  close(sv[0]);

  int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t ul = sizeof ua;
  bind(u, (struct sockaddr *)&ua, ul);
  getsockname(u, (struct sockaddr *)&ua, &ul);
  fd_set rs;
  FD_ZERO(&rs); FD_SET(u, &rs);
  struct timeval tv = {0, 0};
  printf("select idle: %d\n", select(u + 1, &rs, NULL, NULL, &tv));
  sendto(v, "dgram", 5, 0, (struct sockaddr *)&ua, ul);
  FD_ZERO(&rs); FD_SET(u, &rs);
  tv.tv_sec = 1;
  r = select(u + 1, &rs, NULL, NULL, &tv);
  printf("select ready: %d isset %d\n", r, FD_ISSET(u, &rs) != 0);
  return 0;
}
