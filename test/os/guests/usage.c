/* Issue 12, this round's item 1: getrusage and times report the machine's own counters. Printed for
 * the test to check against the run's instruction count (one process, one CPU: every instruction is
 * its user time) and against what the program did (three sleeps: three voluntary switches, nothing
 * to be preempted for). Host figures differ from run to run, so qemu is no oracle here. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <time.h>

static volatile unsigned sink;

int main(void) {
  struct timespec ts = {0, 1000000};
  for (int i = 0; i < 3; i++) nanosleep(&ts, NULL);
  for (unsigned i = 0; i < 2000000; i++) sink += i;
  struct rusage ru;
  struct tms tm;
  getrusage(RUSAGE_SELF, &ru);
  times(&tm);
  printf("%ld %ld %ld %ld %ld\n", ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec,
         ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec, ru.ru_nvcsw, ru.ru_nivcsw, (long)tm.tms_utime);
  return 0;
}
