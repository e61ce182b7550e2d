/* A pre-forking TCP server on 127.0.0.1: the parent listens, forks 3 workers that share the
 * listening socket (each accepts and answers requests until told to quit, then exits with the number
 * of requests it served), then forks 2 clients that make 10 requests each over fresh connections and
 * exit with how many answers were right. The parent waits for everyone and prints only totals, so the
 * output does not depend on which worker served what. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 3
#define CLIENTS 2
#define REQUESTS 10

static struct sockaddr_in addr;

static int readline(int fd, char *buf, int max) {
  int n = 0;
  while (n < max - 1) {
    ssize_t k = read(fd, buf + n, 1);
    if (k <= 0) break;
    if (buf[n++] == '\n') break;
  }
  buf[n] = 0;
  return n;
}

static int worker(int l) {
  int served = 0;
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c < 0) { if (errno == EINTR) continue; return 100; }
    char req[128], resp[160];
    readline(c, req, sizeof req);
    if (strcmp(req, "quit\n") == 0) {
      write(c, "bye\n", 4);
      close(c);
      return served;
    }
    int len = snprintf(resp, sizeof resp, "echo %d: %s", (int)strlen(req), req);
    write(c, resp, len);
    close(c);
    served++;
  }
}

static int request(const char *msg, char *reply, int max) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) { close(s); return -1; }
  write(s, msg, strlen(msg));
  int n = readline(s, reply, max);
  close(s);
  return n;
}

static int client(int id) {
  int ok = 0;
  for (int i = 0; i < REQUESTS; i++) {
    char msg[64], want[96], got[128];
    snprintf(msg, sizeof msg, "client %d request %d\n", id, i);
    snprintf(want, sizeof want, "echo %d: %s", (int)strlen(msg), msg);
    if (request(msg, got, sizeof got) > 0 && strcmp(got, want) == 0) ok++;
  }
  return ok;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof addr;
  if (bind(l, (struct sockaddr *)&addr, al) < 0 || listen(l, 16) < 0) { perror("listen"); return 1; }
  getsockname(l, (struct sockaddr *)&addr, &al);
  pid_t workers[WORKERS], clients[CLIENTS];
  for (int i = 0; i < WORKERS; i++)
    if ((workers[i] = fork()) == 0) _exit(worker(l));
  for (int i = 0; i < CLIENTS; i++)
    if ((clients[i] = fork()) == 0) { close(l); _exit(client(i)); }
  for (int i = 0; i < CLIENTS; i++) {
    int st;
    waitpid(clients[i], &st, 0);
    printf("client %d: %d/%d answers right\n", i, WIFEXITED(st) ? WEXITSTATUS(st) : -1, REQUESTS);
  }
  char bye[16];
  for (int i = 0; i < WORKERS; i++) {
    int n = request("quit\n", bye, sizeof bye);
    printf("quit %d: %s", i, n > 0 ? bye : "no answer\n");
  }
  int total = 0, exited = 0;
  for (int i = 0; i < WORKERS; i++) {
    int st;
    waitpid(workers[i], &st, 0);
    if (WIFEXITED(st)) { exited++; total += WEXITSTATUS(st); }
  }
  printf("%d workers exited, %d requests served in total\n", exited, total);
  close(l);
  return 0;
}
