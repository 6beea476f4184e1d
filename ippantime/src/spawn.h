/* Running helper programs (ssh, rsync, ourselves) with output to a log, by pid. */
#ifndef IPT_SPAWN_H
#define IPT_SPAWN_H
#include <sys/types.h>

/* Start argv with stdout+stderr appended to logfd (-1: inherit). Returns the pid or -1. */
pid_t ipt_spawn(char *const argv[], int logfd, int stdout_fd);
/* Wait for pid; returns its exit code, 128+signal if killed, -1 on error. */
int ipt_wait(pid_t pid);
/* Path of the running binary (/proc/self/exe), caller frees. */
char *ipt_self_exe(void);
int ipt_copy_file(const char *from, const char *to, int mode);

#endif
