/* Exit status and argument passing: prints argv and exits with the status given as argv[1]. */
#include "mini.h"

int main(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    out_str("argv[");
    out_u32((uint32_t)i);
    out_str("]=");
    out_str(argv[i]);
    out_nl();
  }
  int code = 0;
  if (argc > 1)
    for (const char *p = argv[1]; *p >= '0' && *p <= '9'; p++) code = code * 10 + (*p - '0');
  err_str("exiting\n");
  return code;
}
