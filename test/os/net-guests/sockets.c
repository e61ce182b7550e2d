/* Sockets between threads of one program: AF_UNIX pairs and paths, TCP and UDP on 127.0.0.1 and
 * ::1. Prints results and errno names, never port numbers (the host kernel picks different
 * ephemeral ports), so qemu-i386 on the host and the emulator print the same. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *en(int e) {
  switch (e) {
  case 0: return "OK";
  case EPIPE: return "EPIPE";
  case EAGAIN: return "EAGAIN";
  case EADDRINUSE: return "EADDRINUSE";
  case ECONNREFUSED: return "ECONNREFUSED";
  case ENOTCONN: return "ENOTCONN";
  case EISCONN: return "EISCONN";
  case EINVAL: return "EINVAL";
  case ENOENT: return "ENOENT";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case ENOTSOCK: return "ENOTSOCK";
  case EDESTADDRREQ: return "EDESTADDRREQ";
  case EAFNOSUPPORT: return "EAFNOSUPPORT";
  case EBADF: return "EBADF";
  case ENXIO: return "ENXIO";
  default: return "E?";
  }
}
#define R(call) do { errno = 0; long r_ = (long)(call); printf("%-62s -> %ld %s\n", #call, r_ < 0 ? -1L : r_, r_ < 0 ? en(errno) : "OK"); } while (0)

static long server_total;

static void echo_once(int fd) {
  char buf[4096];
  long total = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    ssize_t off = 0;
    while (off < n) { ssize_t w = write(fd, buf + off, n - off); if (w <= 0) return; off += w; }
    total += n;
  }
  server_total = total;
}

/* What the server thread saw, printed by main after joining it (output order stays fixed). */
static int accepted_family, accept_errno;

static void *server(void *arg) {
  int l = *(int *)arg;
  struct sockaddr_storage peer; socklen_t pl = sizeof peer;
  int c = accept(l, (struct sockaddr *)&peer, &pl);
  accept_errno = c < 0 ? errno : 0;
  if (c < 0) return NULL;
  accepted_family = peer.ss_family;
  echo_once(c);
  close(c);
  return NULL;
}

/* Client: sends `n` patterned bytes, half-closes, reads the echo back and checks it. */
static void client(int s, int n) {
  char *out = malloc(n), *in = malloc(n);
  for (int i = 0; i < n; i++) out[i] = (char)(i * 7 + 3);
  pthread_t th;
  struct { int s; char *p; int n; } w = {s, out, n};
  /* Write from a second thread so a full buffer cannot deadlock against our reads. */
  void *writer(void *a) {
    typeof(w) *x = a; int off = 0;
    while (off < x->n) { int k = write(x->s, x->p + off, x->n - off > 3000 ? 3000 : x->n - off); if (k <= 0) break; off += k; }
    shutdown(x->s, SHUT_WR);
    return NULL;
  }
  pthread_create(&th, NULL, writer, &w);
  int got = 0; ssize_t k;
  while ((k = read(s, in + got, n - got)) > 0) got += k;
  pthread_join(th, NULL);
  printf("client got %d bytes back, %s\n", got, memcmp(in, out, n) == 0 ? "identical" : "DIFFERENT");
  free(out); free(in);
}

static void tcp(int family) {
  printf("--- TCP %s\n", family == AF_INET ? "IPv4" : "IPv6");
  int l = socket(family, SOCK_STREAM, 0);
  int one = 1;
  R(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
  int v = 0; socklen_t vl = sizeof v;
  R(getsockopt(l, SOL_SOCKET, SO_REUSEADDR, &v, &vl)); printf("SO_REUSEADDR %d len %d\n", v != 0, vl);
  R(getsockopt(l, SOL_SOCKET, SO_TYPE, &v, &vl)); printf("SO_TYPE %d\n", v);
  struct sockaddr_storage a; memset(&a, 0, sizeof a); socklen_t al;
  if (family == AF_INET) {
    struct sockaddr_in *s4 = (void *)&a; s4->sin_family = AF_INET; s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK); al = sizeof *s4;
  } else {
    struct sockaddr_in6 *s6 = (void *)&a; s6->sin6_family = AF_INET6; s6->sin6_addr = in6addr_loopback; al = sizeof *s6;
  }
  R(bind(l, (struct sockaddr *)&a, al));
  R(bind(l, (struct sockaddr *)&a, al));
  socklen_t gl = sizeof a;
  R(getsockname(l, (struct sockaddr *)&a, &gl)); printf("sockname len %d\n", gl);
  int c0 = socket(family, SOCK_STREAM, 0);
  R(connect(c0, (struct sockaddr *)&a, gl)); /* bound but not listening: refused */
  close(c0);
  R(listen(l, 8));
  R(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl)); printf("SO_ACCEPTCONN %d\n", v);
  int fl = fcntl(l, F_GETFL);
  fcntl(l, F_SETFL, fl | O_NONBLOCK);
  R(accept(l, NULL, NULL));
  fcntl(l, F_SETFL, fl);
  pthread_t th; pthread_create(&th, NULL, server, &l);
  int c = socket(family, SOCK_STREAM, 0);
  R(send(c, "x", 1, MSG_NOSIGNAL));
  R(connect(c, (struct sockaddr *)&a, gl));
  R(connect(c, (struct sockaddr *)&a, gl));
  R(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one));
  struct sockaddr_storage me, peer; socklen_t ml = sizeof me, pl = sizeof peer;
  getsockname(c, (struct sockaddr *)&me, &ml);
  getpeername(c, (struct sockaddr *)&peer, &pl);
  printf("peer is the listener: %s\n", pl == gl && memcmp(&peer, &a, gl) == 0 ? "yes" : "no");
  printf("client port differs from server's: %s\n",
         ((struct sockaddr_in *)&me)->sin_port != ((struct sockaddr_in *)&a)->sin_port ? "yes" : "no");
  client(c, 300000);
  pthread_join(th, NULL);
  printf("server: accept %s, peer family %d, echoed %ld bytes, then EOF\n", en(accept_errno), accepted_family, server_total);
  R(recv(c, &v, 1, 0));
  R(send(c, "x", 1, MSG_NOSIGNAL));
  close(c);
  close(l);
}

static void udp(void) {
  printf("--- UDP\n");
  int r = socket(AF_INET, SOCK_DGRAM, 0), s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  R(bind(r, (struct sockaddr *)&a, al));
  getsockname(r, (struct sockaddr *)&a, &al);
  R(send(s, "nowhere", 7, 0));
  R(sendto(s, "first", 5, 0, (struct sockaddr *)&a, al));
  R(sendto(s, "second!", 7, 0, (struct sockaddr *)&a, al));
  char buf[64] = {0};
  struct sockaddr_in from; socklen_t fl = sizeof from;
  R(recvfrom(r, buf, 3, 0, (struct sockaddr *)&from, &fl)); printf("got [%s]\n", buf);
  struct sockaddr_in sn; socklen_t sl = sizeof sn;
  getsockname(s, (struct sockaddr *)&sn, &sl);
  printf("from sender's port: %s, from 127.0.0.1: %s\n", from.sin_port == sn.sin_port ? "yes" : "no",
         from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) ? "yes" : "no");
  memset(buf, 0, sizeof buf);
  struct iovec iov = {buf, 4};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  R(recvmsg(r, &m, 0)); printf("got [%s] truncated %d\n", buf, (m.msg_flags & MSG_TRUNC) != 0);
  R(recv(r, buf, sizeof buf, MSG_DONTWAIT));
  R(connect(s, (struct sockaddr *)&a, al));
  R(send(s, "connected", 9, 0));
  memset(buf, 0, sizeof buf);
  R(recv(r, buf, sizeof buf, 0)); printf("got [%s]\n", buf);
  struct timeval tmo = {0, 250000};
  R(setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo));
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  R(recv(r, buf, sizeof buf, 0));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double waited = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("SO_RCVTIMEO waited at least 0.25 s: %d\n", waited >= 0.25);
  close(r); close(s);
}

static void unix_sockets(void) {
  printf("--- AF_UNIX\n");
  int sv[2];
  R(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  R(write(sv[0], "ping", 4));
  char buf[64] = {0};
  R(read(sv[1], buf, sizeof buf)); printf("got [%s]\n", buf);
  R(shutdown(sv[0], SHUT_WR));
  R(read(sv[1], buf, sizeof buf));
  R(write(sv[1], "back", 4));
  memset(buf, 0, sizeof buf);
  R(read(sv[0], buf, sizeof buf)); printf("got [%s]\n", buf);
  close(sv[1]);
  R(send(sv[0], "x", 1, MSG_NOSIGNAL));
  close(sv[0]);
  R(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
  R(send(sv[0], "one", 3, 0));
  R(send(sv[0], "two", 3, 0));
  R(recv(sv[1], buf, 2, 0));
  R(recv(sv[1], buf, sizeof buf, 0));
  R(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
  close(sv[0]); close(sv[1]);
  R(socketpair(AF_INET, SOCK_STREAM, 0, sv));

  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, "srv.sock");
  R(connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, sizeof a));
  R(listen(l, 4));
  R(bind(l, (struct sockaddr *)&a, sizeof a));
  struct stat st;
  R(stat("srv.sock", &st)); printf("is a socket: %d\n", S_ISSOCK(st.st_mode));
  int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
  R(bind(l2, (struct sockaddr *)&a, sizeof a));
  close(l2);
  R(open("srv.sock", O_RDONLY));
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  R(connect(c, (struct sockaddr *)&a, sizeof a));
  R(listen(l, 4));
  pthread_t th; pthread_create(&th, NULL, server, &l);
  R(connect(c, (struct sockaddr *)&a, sizeof a));
  struct sockaddr_un pn; socklen_t pl = sizeof pn;
  R(getpeername(c, (struct sockaddr *)&pn, &pl)); printf("peer [%s] len %d\n", pn.sun_path, pl);
  pl = sizeof pn;
  R(getsockname(c, (struct sockaddr *)&pn, &pl)); printf("own name len %d\n", pl);
  client(c, 100000);
  pthread_join(th, NULL);
  printf("server: accept %s, peer family %d, echoed %ld bytes, then EOF\n", en(accept_errno), accepted_family, server_total);
  close(c);
  close(l);
  int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
  R(connect(c2, (struct sockaddr *)&a, sizeof a));
  R(unlink("srv.sock"));
  R(connect(c2, (struct sockaddr *)&a, sizeof a));
  close(c2);

  /* datagrams to a bound path, and SCM_RIGHTS over a socketpair */
  int d = socket(AF_UNIX, SOCK_DGRAM, 0);
  strcpy(a.sun_path, "dgram.sock");
  R(bind(d, (struct sockaddr *)&a, sizeof a));
  int ds = socket(AF_UNIX, SOCK_DGRAM, 0);
  R(sendto(ds, "hi", 2, 0, (struct sockaddr *)&a, sizeof a));
  struct sockaddr_un from; socklen_t fl = sizeof from;
  memset(buf, 0, sizeof buf);
  R(recvfrom(d, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl)); printf("got [%s] from len %d\n", buf, fl);
  close(d); close(ds);
  unlink("dgram.sock");
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int p[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, p);
  write(p[0], "via passed fd", 13);
  char cbuf[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = {"F", 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET; cm->cmsg_type = SCM_RIGHTS; cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
  R(sendmsg(sv[0], &m, 0));
  close(p[1]);
  char rb[4] = {0}; char rc[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec riov = {rb, sizeof rb};
  struct msghdr rm = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rc, .msg_controllen = sizeof rc};
  R(recvmsg(sv[1], &rm, 0));
  struct cmsghdr *rcm = CMSG_FIRSTHDR(&rm);
  int passed = -1;
  if (rcm && rcm->cmsg_type == SCM_RIGHTS) memcpy(&passed, CMSG_DATA(rcm), sizeof(int));
  memset(buf, 0, sizeof buf);
  R(read(passed, buf, sizeof buf)); printf("read through passed fd: [%s]\n", buf);
  close(passed); close(p[0]); close(sv[0]); close(sv[1]);
}

static volatile int pipes;
static void onpipe(int s) { (void)s; pipes++; }

/* SIGPIPE on a stream whose peer is gone: ignored, handled, suppressed (main ends with the default). */
static void sigpipe(void) {
  printf("--- SIGPIPE\n");
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  close(sv[1]);
  signal(SIGPIPE, SIG_IGN);
  R(write(sv[0], "x", 1));
  signal(SIGPIPE, onpipe);
  R(write(sv[0], "x", 1));
  printf("handler ran %d time(s)\n", pipes);
  R(send(sv[0], "x", 1, MSG_NOSIGNAL));
  printf("handler ran %d time(s)\n", pipes);
  close(sv[0]);
}

static int dead[2];

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  /* Before any thread exists: qemu-i386 loses errno after a signal handler in threaded guests. */
  sigpipe();
  unix_sockets();
  tcp(AF_INET);
  if (getenv("NO_IPV6") == NULL) tcp(AF_INET6);
  udp();
  /* Last: the default action ends the program. */
  signal(SIGPIPE, SIG_DFL);
  socketpair(AF_UNIX, SOCK_STREAM, 0, dead);
  close(dead[1]);
  write(dead[0], "x", 1);
  printf("not reached\n");
  return 0;
}
