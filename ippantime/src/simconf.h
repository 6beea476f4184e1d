/* The simulated fleet's model: per-node clocks and faults, and the config file that sets them. */
#ifndef IPT_SIMCONF_H
#define IPT_SIMCONF_H
#include <stdint.h>

enum fault {
	F_NONE, F_TIMEOUT, F_CLOSE, F_DOWN, F_HTTP500, F_NONJSON, F_MISSING, F_TIME_ONLY, F_STRING,
	F_BADSTRING, F_NEGSTRING, F_FLOAT, F_NEGATIVE, F_BOOL, F_NULL, F_ARRAY, F_HUGE, F_SLOW,
	F_REDIR_SAME, F_REDIR_OTHER, F__COUNT
};
extern const char *const fault_names[F__COUNT];

struct simnode {
	int64_t offset_us, jitter_us, step_at_ms, step_at_req, step_us, delay_ms;
	double drift_ppm;
	enum fault fault;
	long fault_every;
	long requests;
	int step_mode; /* 0 none, 1 at step_at_ms after start, 2 after step_at_req replies */
	int split_writes; /* headers and body in two write()s, Nagle on */
	long served;   /* clock values served so far */
	int lfd;
	uint64_t rng;
};

struct sim {
	struct simnode *nodes;
	long n, base_port;
	char *field, *status_path;
	int64_t start_mono;
};

/* Reads the config file into s->nodes (allocated here); --nodes/--base-port given on the
 * command line win over the file's. Prints one line "sim: FILE:LINE: ..." and returns -1 on
 * a bad line. */
int sim_load_config(struct sim *s, const char *path, int nodes_given, int port_given);
void sim_default_nodes(struct sim *s);

#endif
