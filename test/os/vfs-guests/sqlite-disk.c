/* SQLite on an on-disk database in the current directory, with a rollback journal and temp files:
 * transactions, an index, a sort and a VACUUM large enough to spill to temporary files, a rollback,
 * and a reopen that reads the data back from the file. Prints query results only (deterministic). */
#define _FILE_OFFSET_BITS 64
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sqlite3.h"

static int row(void *tag, int n, char **v, char **names) {
  (void)names;
  printf("%s:", (const char *)tag);
  for (int i = 0; i < n; i++) printf(" %s", v[i] ? v[i] : "NULL");
  printf("\n");
  return 0;
}

static void exec(sqlite3 *db, const char *tag, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, row, (void *)tag, &err) != SQLITE_OK) {
    printf("%s: error: %s\n", tag, err);
    sqlite3_free(err);
  }
}

int main(int argc, char **argv) {
  int rows = argc > 1 ? atoi(argv[1]) : 400;
  sqlite3 *db;
  if (sqlite3_open("test.db", &db) != SQLITE_OK) { printf("open failed: %s\n", sqlite3_errmsg(db)); return 1; }
  exec(db, "pragma", "PRAGMA page_size=512; PRAGMA journal_mode=DELETE; PRAGMA temp_store=FILE; PRAGMA cache_size=10;");
  exec(db, "create", "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT);");
  char sql[256];
  exec(db, "begin", "BEGIN;");
  for (int i = 0; i < rows; i++) {
    snprintf(sql, sizeof sql, "INSERT INTO t(k, s) VALUES(%d, printf('%%.60c-%%d', char(65 + %d %% 26), %d));",
             (i * 7919) % 1009, i % 26, i);
    exec(db, "insert", sql);
  }
  exec(db, "commit", "COMMIT;");
  exec(db, "index", "CREATE INDEX tk ON t(k);");
  exec(db, "count", "SELECT count(*), sum(k), min(s), max(length(s)) FROM t;");
  exec(db, "group", "SELECT k % 5, count(*), sum(id) FROM t GROUP BY 1 ORDER BY 1;");
  exec(db, "sorted", "SELECT id, k FROM (SELECT id, k, s FROM t ORDER BY s DESC, k, id) LIMIT 3;");
  exec(db, "distinct", "SELECT count(DISTINCT s || k) FROM t;");
  exec(db, "temp", "CREATE TEMP TABLE big AS SELECT a.id AS x, b.id AS y FROM t a, t b WHERE a.id % 97 = b.id % 89 AND a.id < 300;");
  exec(db, "tempcount", "SELECT count(*), sum(x * 3 + y) FROM big;");
  exec(db, "rollback", "BEGIN; DELETE FROM t WHERE id % 2 = 0; ROLLBACK;");
  exec(db, "after", "SELECT count(*) FROM t;");
  exec(db, "delete", "DELETE FROM t WHERE id % 3 = 0;");
  exec(db, "vacuum", "VACUUM;");
  exec(db, "check", "PRAGMA integrity_check;");
  sqlite3_close(db);
  if (sqlite3_open("test.db", &db) != SQLITE_OK) { printf("reopen failed\n"); return 1; }
  exec(db, "reopened", "SELECT count(*), sum(k), max(id) FROM t;");
  exec(db, "pages", "PRAGMA page_count;");
  sqlite3_close(db);
  DIR *d = opendir(".");
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) if (e->d_name[0] != '.') { printf("file: %s\n", e->d_name); n++; }
  closedir(d);
  printf("%d files left\n", n);
  return 0;
}
