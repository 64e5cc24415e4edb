/*
 * ofserver.h — public entry point of the update server library (of_server).
 */
#ifndef OPENFOTA_OFSERVER_H
#define OPENFOTA_OFSERVER_H

/* `openfota serve [options]`: runs until SIGINT/SIGTERM. argv[0] is "serve".
 * Returns the exit status (0 clean stop, 1 failure, 2 usage error). */
int server_cli_serve(int argc, char **argv);

#endif
