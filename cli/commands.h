/*
 * commands.h — the subcommands of the `openfota` program.
 *
 * Each component library exports the entry points of its own subcommands, so
 * cli/main.c only dispatches. Every entry point takes the arguments after the
 * subcommand name (argv[0] is the subcommand itself), prints its own help for
 * --help, and returns the process exit status (0 success, 1 failure or
 * refusal, 2 usage error). None of them keeps pointers into argv after return.
 */
#ifndef OPENFOTA_CLI_COMMANDS_H
#define OPENFOTA_CLI_COMMANDS_H

/* server/ */
int server_cli_serve(int argc, char **argv);
int server_cli_backup(int argc, char **argv); /* openfota backup [--data DIR] DEST */
int db_cli_main(int argc, char **argv);     /* openfota db copy --from sqlite:DIR --to URI */

/* cli/ — admin client over the admin HTTP API */
int admin_cli_project(int argc, char **argv);
int admin_cli_firmware(int argc, char **argv);
int admin_cli_package(int argc, char **argv);
int admin_cli_device(int argc, char **argv);
int admin_cli_file(int argc, char **argv);
int admin_cli_status(int argc, char **argv);
int admin_cli_token(int argc, char **argv);   /* openfota token add|list|revoke */
int admin_cli_audit(int argc, char **argv);   /* openfota audit */

/* pkg/ — package formats */
int pkg_cli_luat(int argc, char **argv);    /* openfota luat inspect FILE */
int pkg_cli_sign(int argc, char **argv);    /* openfota package sign ... */
int pkg_cli_verify(int argc, char **argv);  /* openfota package verify ... */
int pkg_cli_keygen(int argc, char **argv);  /* openfota package keygen ... */

/* delta/ */
int delta_cli_main(int argc, char **argv);  /* openfota delta make|apply|info */

/* fleet/ — push channels and staged rollouts */
int fleet_cli_push(int argc, char **argv);     /* openfota push ... */
int fleet_cli_rollout(int argc, char **argv);  /* openfota rollout ... */

/* sim/ */
int sim_cli_main(int argc, char **argv);    /* openfota sim ... */

#endif
