/* Issue 12, this round's item 3: FIFOs made with mkfifo (mknod S_IFIFO) in the guest's writable file
 * system. Two processes open one and pass data through it; the open rules of fs/pipe.c fifo_open:
 * a blocking reader waits for a writer and a writer for a reader, O_NONBLOCK readers open at once,
 * O_NONBLOCK writers without a reader get ENXIO, O_RDWR never waits; an open interrupted by a signal
 * is EINTR and gives its reader count back (a later O_NONBLOCK writer still gets ENXIO); a reader
 * opened O_NONBLOCK before any writer polls without POLLHUP until a writer came and went; bytes left
 * in a FIFO are gone once every end is closed; SIGPIPE goes to the writing thread (pending there
 * when it blocks it, never taken by another thread). Lines starting "L:" are where qemu-i386, root here,
 * departs from an unprivileged Linux caller (mknod of a device: EPERM without CAP_MKNOD). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHOW(label, expr)                                                                                         \
  do {                                                                                                            \
    errno = 0;                                                                                                    \
    long r_ = (long)(expr);                                                                                       \
    printf("%s: %ld errno %d\n", label, r_ < 0 ? -1L : r_, r_ < 0 ? errno : 0);                                   \
  } while (0)

static void on_alarm(int s) { (void)s; }

static volatile int sigpipes;
static void on_pipe(int s) {
  (void)s;
  sigpipes++;
}

/* Writes to a FIFO nobody reads with SIGPIPE blocked in this thread only: Linux sends SIGPIPE to
 * the writing thread, so it stays pending here and the main thread's handler never runs. */
static int broken_fd;
static void *blocked_writer(void *arg) {
  (void)arg;
  sigset_t set, pend;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  errno = 0;
  long r = write(broken_fd, "x", 1);
  int e = errno;
  sigpending(&pend);
  printf("thread write: %ld errno %d, pending in the writer: %d\n", r, e, sigismember(&pend, SIGPIPE));
  struct timespec zero = {0, 0};
  printf("taken by the writer: %d\n", sigtimedwait(&set, NULL, &zero) == SIGPIPE);
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char dir[] = "/tmp/fifoXXXXXX", f[64], g[64], h[64];
  if (!mkdtemp(dir)) return 1;
  snprintf(f, sizeof f, "%s/f", dir);
  snprintf(g, sizeof g, "%s/g", dir);
  snprintf(h, sizeof h, "%s/h", dir);
  umask(022);
  SHOW("mkfifo", mkfifo(f, 0666));
  struct stat st;
  SHOW("stat", stat(f, &st));
  printf("is fifo %d mode %o size %ld\n", S_ISFIFO(st.st_mode), st.st_mode & 07777, (long)st.st_size);
  SHOW("mkfifo again", mkfifo(f, 0600));
  SHOW("mknod S_IFIFO", mknod(g, S_IFIFO | 0640, 0));
  SHOW("mknodat regular", mknodat(AT_FDCWD, h, S_IFREG | 0600, 0));
  SHOW("stat regular", stat(h, &st) == 0 && S_ISREG(st.st_mode));
  SHOW("mknod directory", mknod(h, S_IFDIR | 0700, 0));
  SHOW("mknod bad type", mknod(h, 0170000 | 0600, 0));
  char d[64];
  snprintf(d, sizeof d, "%s/dev", dir);
  int dev = mknod(d, S_IFCHR | 0600, makedev(1, 3));
  printf("L: mknod char device: %d errno %d\n", dev, dev < 0 ? errno : 0);
  if (dev == 0) unlink(d);
  SHOW("mknod over existing char", mknod(h, S_IFCHR | 0600, makedev(1, 3)));

  /* Nonblocking opens with nobody at the other end. */
  SHOW("write nonblock no reader", open(f, O_WRONLY | O_NONBLOCK));
  int r = open(f, O_RDONLY | O_NONBLOCK);
  printf("read nonblock opens: %d\n", r >= 0);
  char buf[64] = {0};
  SHOW("read with no writer", read(r, buf, sizeof buf));
  struct pollfd pf = {r, POLLIN, 0};
  SHOW("poll before any writer", poll(&pf, 1, 0));
  printf("revents %#x\n", pf.revents);
  int w = open(f, O_WRONLY | O_NONBLOCK);
  printf("write nonblock with reader opens: %d\n", w >= 0);
  SHOW("write", write(w, "left over", 9));
  SHOW("fstat is fifo", fstat(w, &st) == 0 && S_ISFIFO(st.st_mode));
  close(w);
  SHOW("poll after the writer left", poll(&pf, 1, 0));
  printf("revents %#x\n", pf.revents);
  close(r);
  /* Every end closed: what was left is gone. */
  int rw = open(f, O_RDWR | O_NONBLOCK);
  SHOW("O_RDWR opens at once", rw >= 0);
  SHOW("left-over bytes gone", read(rw, buf, sizeof buf));
  close(rw);

  /* Two processes: the child writes, the parent reads; whichever opens first waits. */
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    int cw = open(f, O_WRONLY);
    const char *msg = "through the fifo";
    write(cw, msg, strlen(msg));
    close(cw);
    _exit(0);
  }
  int pr = open(f, O_RDONLY);
  printf("reader opened: %d\n", pr >= 0);
  memset(buf, 0, sizeof buf);
  size_t got = 0;
  ssize_t n;
  while ((n = read(pr, buf + got, sizeof buf - 1 - got)) > 0) got += n;
  printf("read '%s' then eof %zd\n", buf, n);
  close(pr);
  int stc;
  waitpid(c, &stc, 0);
  printf("writer status %#x\n", stc);

  /* The reader opens first and the writer later: the same. */
  fflush(stdout);
  c = fork();
  if (c == 0) {
    int cr = open(g, O_RDONLY);
    char b2[32] = {0};
    ssize_t m = read(cr, b2, sizeof b2 - 1);
    printf("child read %zd '%s'\n", m, b2);
    _exit(0);
  }
  int gw = open(g, O_WRONLY);
  printf("writer opened: %d\n", gw >= 0);
  write(gw, "second", 6);
  close(gw);
  waitpid(c, NULL, 0);

  /* A blocking open interrupted by a signal. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
  SHOW("open interrupted", open(f, O_RDONLY));
  SHOW("no reader left after it", open(f, O_WRONLY | O_NONBLOCK));

  /* Writing after the reader left, from a thread that blocks SIGPIPE: it is that thread's. */
  signal(SIGPIPE, on_pipe);
  int r3 = open(f, O_RDONLY | O_NONBLOCK);
  broken_fd = open(f, O_WRONLY | O_NONBLOCK);
  close(r3);
  pthread_t th;
  pthread_create(&th, NULL, blocked_writer, NULL);
  pthread_join(th, NULL);
  printf("handled by another thread: %d\n", sigpipes);
  close(broken_fd);

  /* Writing after the reader left: SIGPIPE ignored, EPIPE. */
  signal(SIGPIPE, SIG_IGN);
  int r2 = open(f, O_RDONLY | O_NONBLOCK);
  int w2 = open(f, O_WRONLY | O_NONBLOCK);
  close(r2);
  SHOW("write without reader", write(w2, "x", 1));
  close(w2);
  unlink(f);
  unlink(g);
  unlink(h);
  SHOW("rmdir", rmdir(dir));
  return 0;
}
