/*  vigil-keygen: make a CURVE key pair for vigil's encrypted, authenticated
    tcp endpoints (CZMQ zcert format).  */
#include <czmq.h>
#include <stdio.h>

#include "cli.h"

static const char *USAGE =
    "usage: vigil-keygen [-n NAME] FILE\n"
    "\n"
    "Write a new CURVE certificate: FILE holds the public key (give it to\n"
    "peers, put clients' public files in the server's --curve-allow\n"
    "directory), FILE_secret holds the key pair (keep it private; mode 0600).\n"
    "Both are CZMQ zcert text files.\n"
    "\n"
    "  -n NAME           a name recorded in the certificate's metadata\n"
    "  -h, --help        this text;  --version  the version\n"
    "\n"
    "A server side uses --curve-server FILE [--curve-allow DIR]; a client\n"
    "side uses --curve-client FILE --curve-peer SERVER_PUBLIC_FILE.\n";

static int
s_opt (cli_t *cli, int c, const char *arg, void *ud)
{
    (void) cli;
    if (c != 'n')
        return -1;
    *(const char **) ud = arg;
    return 0;
}

int
main (int argc, char **argv)
{
    cli_t cli = {.prog = "vigil-keygen", .usage = USAGE};
    const char *name = NULL;
    int argi = cli_parse (&cli, argc, argv, "n:", NULL, s_opt, &name);
    if (argi != argc - 1)
        cli_usage_error (&cli, argi >= argc ? "missing FILE" : "too many arguments");
    const char *file = argv[argi];
    zsys_handler_set (NULL);
    zcert_t *cert = zcert_new ();
    if (!cert)
        cli_fatal (&cli, "cannot make a key pair");
    if (name)
        zcert_set_meta (cert, "name", "%s", name);
    int rc = zcert_save (cert, file);
    zcert_destroy (&cert);
    if (rc)
        cli_fatal (&cli, "cannot write '%s' or '%s_secret'", file, file);
    return 0;
}
