/* Native (x86-64) helper of the path race tests (#16): swaps each pair of paths given
 * (A1 B1 A2 B2 ...) with renameat2(RENAME_EXCHANGE), round robin, until killed. Prints "ready"
 * once every pair has been swapped once. Dies with its parent (PR_SET_PDEATHSIG) and after 60 s
 * at most, so a failed test never leaves it running. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3 || argc % 2 != 1) return 2;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int pairs = (argc - 1) / 2;
  time_t end = time(0) + 60;
  for (long n = 0;; n++) {
    int p = (int)(n % pairs);
    if (syscall(SYS_renameat2, AT_FDCWD, argv[1 + 2 * p], AT_FDCWD, argv[2 + 2 * p], 2) != 0) {
      perror("renameat2");
      return 1;
    }
    if (n + 1 == pairs) {
      puts("ready");
      fflush(stdout);
    }
    if ((n & 4095) == 0 && (time(0) > end || getppid() == 1)) return 0;
  }
}
