#include "spawn.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t ipt_spawn(char *const argv[], int logfd, int stdout_fd)
{
	pid_t pid;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO); /* never let ssh wait for a password on our tty */
		if (stdout_fd >= 0)
			dup2(stdout_fd, STDOUT_FILENO);
		else if (logfd >= 0)
			dup2(logfd, STDOUT_FILENO);
		if (logfd >= 0)
			dup2(logfd, STDERR_FILENO);
		execvp(argv[0], argv);
		fprintf(stderr, "ippantime: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

int ipt_wait(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

char *ipt_self_exe(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return xstrdup(buf);
}

int ipt_copy_file(const char *from, const char *to, int mode)
{
	size_t len;
	char *data = ipt_read_file(from, &len);
	int fd, rc = 0;
	if (!data)
		return -1;
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		rc = -1;
	if (fd >= 0 && close(fd))
		rc = -1;
	free(data);
	return rc;
}
