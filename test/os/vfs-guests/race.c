/* Path race guest (#16): opens d<j>/f<i> for every j < D and i < F (D and F from argv), reads
 * each, and counts what it got: "in" (the inside file's bytes), "out" (an outside file's marker),
 * "other" (any other bytes, or a failed read) and refused (open failed). Repeats the D x F round
 * until it has seen both an inside file and a refusal, or R rounds (argv[3]) have run: how far
 * the host swapper gets during one round depends on the host's scheduler, and a starved swapper
 * leaves every directory in one state for a whole round.
 * Prints "rounds N in N out N other N refused N". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int dirs = atoi(argv[1]), files = atoi(argv[2]), max_rounds = atoi(argv[3]);
  long in = 0, out = 0, other = 0, refused = 0;
  char path[64], buf[64];
  int rounds = 0;
  while (rounds < max_rounds && (rounds == 0 || in == 0 || refused == 0)) {
    rounds++;
    for (int i = 0; i < files; i++)
      for (int j = 0; j < dirs; j++) {
        snprintf(path, sizeof path, "d%d/f%d", j, i);
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
          refused++;
          continue;
        }
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        if (strcmp(buf, "in\n") == 0) in++;
        else if (strstr(buf, "OUT")) out++;
        else other++;
      }
  }
  printf("rounds %d in %ld out %ld other %ld refused %ld\n", rounds, in, out, other, refused);
  return 0;
}
