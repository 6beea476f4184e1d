/* Subcommand entry points: argc/argv start at the subcommand name. */
#ifndef IPT_CMDS_H
#define IPT_CMDS_H

int cmd_gen_targets(int argc, char **argv);
int cmd_check_targets(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_demo(int argc, char **argv);

#endif
