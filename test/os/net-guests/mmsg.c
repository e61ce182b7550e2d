/* sendmmsg/recvmmsg (#12 leftovers): on a UDP loopback pair and an AF_UNIX datagram socketpair,
 * several messages in one call, msg_len of each, a short vector, an empty queue (EAGAIN), a
 * truncated message (MSG_TRUNC in msg_flags), MSG_WAITFORONE, vlen 0, a bad pointer (EFAULT), the
 * socketcall(2) path (calls 19 and 20) and a recvmmsg that blocks until a thread sends. Prints
 * no port numbers. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *texts[3] = {"one", "two!", "three"};

static void outvec(struct mmsghdr *m, struct iovec *v, int n) {
  memset(m, 0, sizeof(*m) * n);
  for (int i = 0; i < n; i++) {
    v[i].iov_base = (void *)texts[i % 3];
    v[i].iov_len = strlen(texts[i % 3]);
    m[i].msg_hdr.msg_iov = &v[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
}

static char bufs[8][16];
static void invec(struct mmsghdr *m, struct iovec *v, int n, int size) {
  memset(m, 0, sizeof(*m) * n);
  for (int i = 0; i < n; i++) {
    v[i].iov_base = bufs[i];
    v[i].iov_len = size;
    m[i].msg_hdr.msg_iov = &v[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
}

static void show(const char *name, const char *what, int n, struct mmsghdr *m) {
  printf("%s %s %d", name, what, n);
  if (n < 0) printf(" %s", strerror(errno));
  for (int i = 0; i < n; i++)
    printf(" [%.*s len %u%s]", (int)(m[i].msg_len < 16 ? m[i].msg_len : 16), bufs[i], m[i].msg_len,
           m[i].msg_hdr.msg_flags & MSG_TRUNC ? " trunc" : "");
  printf("\n");
}

static int sender;
static void *later(void *arg) {
  (void)arg;
  usleep(20000);
  struct mmsghdr out[2];
  struct iovec ov[2];
  outvec(out, ov, 2);
  sendmmsg(sender, out, 2, 0);
  return 0;
}

static void run(int a, int b, const char *name) {
  struct mmsghdr out[3], in[4];
  struct iovec ov[3], iv[4];
  outvec(out, ov, 3);
  int n = sendmmsg(a, out, 3, 0);
  printf("%s sendmmsg %d lens %u %u %u\n", name, n, out[0].msg_len, out[1].msg_len, out[2].msg_len);
  invec(in, iv, 4, 16);
  show(name, "recvmmsg", recvmmsg(b, in, 4, MSG_DONTWAIT, NULL), in);
  show(name, "empty", recvmmsg(b, in, 4, MSG_DONTWAIT, NULL), in);
  sendmmsg(a, out, 2, 0);
  invec(in, iv, 4, 16);
  show(name, "waitforone", recvmmsg(b, in, 4, MSG_WAITFORONE, NULL), in);
  sendmmsg(a, out, 3, 0);
  invec(in, iv, 2, 2);
  show(name, "truncated", recvmmsg(b, in, 2, MSG_DONTWAIT, NULL), in);
  invec(in, iv, 4, 16);
  show(name, "rest", recvmmsg(b, in, 4, MSG_DONTWAIT, NULL), in);
  printf("%s zero %d\n", name, sendmmsg(a, out, 0, 0));
  n = sendmmsg(a, (struct mmsghdr *)8, 1, 0);
  printf("%s efault %d %s\n", name, n, n < 0 ? strerror(errno) : "");
  long sargs[4] = {a, (long)out, 2, 0};
  printf("%s socketcall sendmmsg %ld\n", name, syscall(SYS_socketcall, 20, sargs));
  invec(in, iv, 4, 16);
  long rargs[5] = {b, (long)in, 4, MSG_DONTWAIT, 0};
  show(name, "socketcall recvmmsg", (int)syscall(SYS_socketcall, 19, rargs), in);
  pthread_t th;
  sender = a;
  pthread_create(&th, 0, later, 0);
  invec(in, iv, 2, 16);
  show(name, "blocking", recvmmsg(b, in, 2, 0, NULL), in);
  pthread_join(th, 0);
}

int main(void) {
  int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  bind(b, (struct sockaddr *)&sa, sizeof sa);
  getsockname(b, (struct sockaddr *)&sa, &len);
  connect(a, (struct sockaddr *)&sa, sizeof sa);
  run(a, b, "udp");
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  run(sv[0], sv[1], "unix");
  return 0;
}
