/* placeholder until the server component lands; replaced by its real sources */
#include <stdio.h>
int server_cli_serve(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "openfota: this command is not built yet\n"); return 1; }
