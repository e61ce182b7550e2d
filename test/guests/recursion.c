/* Recursion: Ackermann, naive Fibonacci, Towers of Hanoi, mutual recursion, a deep chain, and a
 * recursive descent expression evaluator (call/ret, push/pop, frame pointer work). */
#include "mini.h"

static uint32_t ack(uint32_t m, uint32_t n) {
  if (m == 0) return n + 1;
  if (n == 0) return ack(m - 1, 1);
  return ack(m - 1, ack(m, n - 1));
}
__attribute__((noinline)) static uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static uint32_t moves;
static void hanoi(int n, int from, int to, int via) {
  if (!n) return;
  hanoi(n - 1, from, via, to);
  moves += (uint32_t)(from * 3 + to);
  hanoi(n - 1, via, to, from);
}
static int is_odd(uint32_t n);
__attribute__((noinline)) static int is_even(uint32_t n) { return n == 0 ? 1 : is_odd(n - 1); }
__attribute__((noinline)) static int is_odd(uint32_t n) { return n == 0 ? 0 : is_even(n - 1); }
__attribute__((noinline)) static uint32_t deep(uint32_t n, volatile uint32_t *p) {
  volatile uint32_t local[4] = {n, n * 2, n * 3, n * 4};
  if (n == 0) return *p;
  return deep(n - 1, p) + local[n & 3];
}

static const char *src;
static int32_t expr(void);
static int32_t atom(void) {
  if (*src == '(') {
    src++;
    int32_t v = expr();
    src++;
    return v;
  }
  if (*src == '-') {
    src++;
    return -atom();
  }
  int32_t v = 0;
  while (*src >= '0' && *src <= '9') v = v * 10 + (*src++ - '0');
  return v;
}
static int32_t term(void) {
  int32_t v = atom();
  while (*src == '*' || *src == '/' || *src == '%') {
    char op = *src++;
    int32_t r = atom();
    v = op == '*' ? v * r : op == '/' ? (r ? v / r : 0) : (r ? v % r : 0);
  }
  return v;
}
static int32_t expr(void) {
  int32_t v = term();
  while (*src == '+' || *src == '-') {
    char op = *src++;
    int32_t r = term();
    v = op == '+' ? v + r : v - r;
  }
  return v;
}

int main(void) {
  kv_u32("ack(2,3)", ack(2, 3));
  kv_u32("ack(3,5)", ack(3, 5));
  kv_u32("fib(22)", fib(22));
  hanoi(14, 1, 3, 2);
  kv_u32("hanoi", moves);
  kv_u32("even(10001)", (uint32_t)is_even(10001));
  volatile uint32_t seed = 7;
  kv_u32("deep", deep(20000, &seed));
  static const char *exprs[] = {"1+2*3", "(1+2)*3", "-(4-10)*7%5", "100/7-3*(2+(8/3))",
                                "2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2*2", "((((((1))))))+-1"};
  for (unsigned i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
    src = exprs[i];
    out_str(exprs[i]);
    out_str(" = ");
    out_i32(expr());
    out_nl();
  }
  return 0;
}
