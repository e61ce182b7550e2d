/* SQLite on an in-memory database (the amalgamation better-sqlite3 ships, built by bench/build.sh):
 * inserts in transactions, an index, point lookups, a join, GROUP BY and ORDER BY. Prints the
 * results' checksum. Argument: rows (default 20000). */
#include <stdio.h>
#include <stdlib.h>
#include "sqlite3.h"

static unsigned long sum;
static int add(void *u, int n, char **v, char **c) {
  (void)u;
  (void)c;
  for (int i = 0; i < n; i++)
    for (const char *p = v[i] ? v[i] : ""; *p; p++) sum = sum * 31 + (unsigned char)*p;
  return 0;
}

static void run(sqlite3 *db, const char *sql) {
  char *err = 0;
  if (sqlite3_exec(db, sql, add, 0, &err) != SQLITE_OK) {
    fprintf(stderr, "%s: %s\n", sql, err);
    exit(1);
  }
}

int main(int argc, char **argv) {
  int rows = argc > 1 ? atoi(argv[1]) : 20000;
  sqlite3 *db;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
  run(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, v REAL)");
  run(db, "CREATE TABLE g(k INTEGER PRIMARY KEY, label TEXT)");
  sqlite3_stmt *ins;
  sqlite3_prepare_v2(db, "INSERT INTO t(k, name, v) VALUES(?, ?, ?)", -1, &ins, 0);
  run(db, "BEGIN");
  unsigned x = 12345;
  char name[32];
  for (int i = 0; i < rows; i++) {
    x = x * 1103515245u + 12345u;
    snprintf(name, sizeof name, "row%u", x % 100000);
    sqlite3_bind_int(ins, 1, (int)(x >> 8) % 997);
    sqlite3_bind_text(ins, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(ins, 3, (x % 10000) / 7.0);
    sqlite3_step(ins);
    sqlite3_reset(ins);
  }
  for (int k = 0; k < 997; k++) {
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO g VALUES(%d, 'group%d')", k, k * 7 % 101);
    run(db, sql);
  }
  run(db, "COMMIT");
  sqlite3_finalize(ins);
  run(db, "CREATE INDEX t_k ON t(k)");
  run(db, "CREATE INDEX t_name ON t(name)");
  sqlite3_stmt *q;
  sqlite3_prepare_v2(db, "SELECT count(*), sum(v) FROM t WHERE k = ?", -1, &q, 0);
  for (int k = 0; k < 997; k += 3) {
    sqlite3_bind_int(q, 1, k);
    while (sqlite3_step(q) == SQLITE_ROW) sum = sum * 31 + (unsigned)sqlite3_column_int(q, 0);
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  run(db, "SELECT g.label, count(*), round(avg(t.v), 3) FROM t JOIN g ON t.k = g.k GROUP BY g.label ORDER BY 2 DESC, 1 LIMIT 20");
  run(db, "SELECT name, k FROM t WHERE name LIKE 'row1%' ORDER BY name, k LIMIT 50");
  run(db, "UPDATE t SET v = v * 2 WHERE k % 5 = 0");
  run(db, "DELETE FROM t WHERE k % 7 = 0");
  run(db, "SELECT count(*), round(sum(v), 2), min(name), max(name) FROM t");
  printf("%lu\n", sum);
  sqlite3_close(db);
  return 0;
}
