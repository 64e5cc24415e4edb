/* placeholder until the signed-package commands land (pkg_cli_luat is real: luat_cli.c) */
#include <stdio.h>
int pkg_cli_sign(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
int pkg_cli_verify(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
int pkg_cli_keygen(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
