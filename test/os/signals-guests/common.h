/* Shared helpers for the signal test guests: a log that handlers append to (printed by main, so the
 * output order is the delivery order), and raw syscalls where the test needs exact registers. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>

static char logbuf[16384];
static volatile int loglen;

static void logf_(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(logbuf + loglen, sizeof logbuf - loglen, fmt, ap);
  va_end(ap);
  if (n > 0 && loglen + n < (int)sizeof logbuf) loglen += n;
}

static void flushlog(void) {
  fwrite(logbuf, 1, loglen, stdout);
  loglen = 0;
  fflush(stdout);
}

static int gettid_(void) { return (int)syscall(SYS_gettid); }

static void install(int sig, void *handler, int flags, const int *mask_sigs) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  if (flags & SA_SIGINFO)
    sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))handler;
  else
    sa.sa_handler = (void (*)(int))handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (mask_sigs)
    for (; *mask_sigs; mask_sigs++) sigaddset(&sa.sa_mask, *mask_sigs);
  if (sigaction(sig, &sa, 0) != 0) {
    printf("sigaction(%d) failed: %s\n", sig, strerror(errno));
    exit(2);
  }
}

static void block(int how, int sig) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  sigprocmask(how, &s, 0);
}
