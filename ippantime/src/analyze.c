#include "cmds.h"
#include "common.h"
int cmd_analyze(int argc, char **argv) { (void)argc; (void)argv; ipt_err("analyze: not yet"); return 1; }
