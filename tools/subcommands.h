/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef NETSEG_SUBCOMMANDS_H
#define NETSEG_SUBCOMMANDS_H

/* argv[0] is the subcommand's own name. */
int doctor_main(int argc, char **argv);
int lab_main(int argc, char **argv);
int analyze_main(int argc, char **argv);
int measure_main(int argc, char **argv);

#endif
