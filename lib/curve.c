/*  curve: CURVE encryption and authentication for the frame endpoints
    (CZMQ zcert + zauth).  A server side (the side that binds, normally) loads
    its secret certificate and, with an allow directory, starts one zauth
    actor per process that admits only clients whose public certificate is in
    that directory.  A client loads its own secret certificate and the
    server's public one.  With no certificate named, sockets stay plain.  */
#include <czmq.h>

#include "frame.h"

static zactor_t *s_auth;        //  one authenticator per process

static void
s_auth_stop (void)
{
    zactor_destroy (&s_auth);
}

int
    frame_curve_apply (zsock_t *sock, const frame_opts_t *opts, char *err);

int
frame_curve_apply (zsock_t *sock, const frame_opts_t *opts, char *err)
{
    if (!opts || (!opts->curve_server && !opts->curve_client))
        return 0;
    //  A stage given both sides (it binds its input, connects its outputs)
    //  is the server on its PULL socket and a client on its PUSH sockets.
    bool server = opts->curve_server
               && !(opts->curve_client && zsock_type (sock) == ZMQ_PUSH);
    if (server) {
        zcert_t *cert = zcert_load (opts->curve_server);
        if (!cert)
            return errf (err, "cannot load certificate '%s'", opts->curve_server);
        if (opts->curve_allow && !s_auth) {
            s_auth = zactor_new (zauth, NULL);
            zstr_sendx (s_auth, "CURVE", opts->curve_allow, NULL);
            zsock_wait (s_auth);
            atexit (s_auth_stop);
        }
        else if (!opts->curve_allow && !s_auth) {
            s_auth = zactor_new (zauth, NULL);
            zstr_sendx (s_auth, "CURVE", CURVE_ALLOW_ANY, NULL);
            zsock_wait (s_auth);
            atexit (s_auth_stop);
        }
        zcert_apply (cert, sock);
        zsock_set_curve_server (sock, 1);
        zsock_set_zap_domain (sock, "vigil");
        zcert_destroy (&cert);
    }
    else {
        zcert_t *cert = zcert_load (opts->curve_client);
        if (!cert)
            return errf (err, "cannot load certificate '%s'", opts->curve_client);
        if (!opts->curve_peer) {
            zcert_destroy (&cert);
            return errf (err, "--curve-client needs --curve-peer (the server's public certificate)");
        }
        zcert_t *peer = zcert_load (opts->curve_peer);
        if (!peer) {
            zcert_destroy (&cert);
            return errf (err, "cannot load certificate '%s'", opts->curve_peer);
        }
        zcert_apply (cert, sock);
        zsock_set_curve_serverkey (sock, zcert_public_txt (peer));
        zcert_destroy (&cert);
        zcert_destroy (&peer);
    }
    return 0;
}
