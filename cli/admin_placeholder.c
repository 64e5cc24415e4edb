/* placeholder until the admin client lands */
#include <stdio.h>
#include "commands.h"
int admin_cli_project(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
int admin_cli_firmware(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
int admin_cli_package(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
int admin_cli_device(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
int admin_cli_file(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
int admin_cli_status(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
