/*
 * tls.c - TLS through OpenSSL: the server's context, each connection's
 * session, the checks of kotod -t, and the self-signed certificate.
 *
 * The loop drives sessions without blocking: a socket BIO on the
 * non-blocking socket, SSL_ERROR_WANT_READ / WANT_WRITE turned into the
 * events the loop polls for. Renegotiation is off, so a read needs the
 * socket writable (or a write readable) only in corner cases, which the
 * connection's tls_*_wants_* flags still carry to the loop.
 *
 * The context: TLS 1.2 at least, forward-secret AEAD ciphers for 1.2
 * (OpenSSL's own list for 1.3), compression and renegotiation off,
 * session cache on. A reload builds a new context and swaps it under
 * tls_mu; SSL_new takes its own reference, so open connections keep the
 * one they began with and the old context goes with the last of them.
 *
 * Everything runs on the loop thread except init, reload and the checks;
 * OpenSSL's error queue is per thread and cleared before each call.
 *
 * The same file is kotod.exe's (a static OpenSSL cross-built by
 * scripts/win-deps-openssl.sh): a socket's error is APR's netos error
 * (errno here, WSAGetLastError there), files are opened by OpenSSL's BIOs,
 * which take UTF-8 names on Windows too, and the self-signed pair is
 * written owner-only through kt_sys.h, as the token is.
 */
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_portable.h>

#include "kt_sys.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define CIPHERS_12                                                                          \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                            \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                            \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* ---- Private ---------------------------------------------------------- */

/* OpenSSL's last error as text ("" when none), and the queue emptied. */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    buf[0] = '\0';
    if (e)
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* BIO_new_file, not fopen: on Windows it opens the UTF-8 name as UTF-16
 * (_wfopen), so a path outside the ANSI code page works, as it does for
 * SSL_CTX_use_certificate_chain_file, which opens the same way. */
static X509 *read_cert(const char *path, char *err, apr_size_t errlen)
{
    errno = 0;
    BIO *f = BIO_new_file(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open the TLS certificate %s: %s", path, strerror(errno));
        ERR_clear_error();
        return NULL;
    }
    X509 *x = PEM_read_bio_X509(f, NULL, NULL, NULL);
    BIO_free(f);
    if (!x) {
        char why[200];
        snprintf(err, errlen, "%s is not a PEM certificate (%s)", path, ssl_reason(why, sizeof why));
    }
    return x;
}

static EVP_PKEY *read_key(const char *path, char *err, apr_size_t errlen)
{
    errno = 0;
    BIO *f = BIO_new_file(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open the TLS key %s: %s", path, strerror(errno));
        ERR_clear_error();
        return NULL;
    }
    /* An empty passphrase callback: an encrypted key fails here rather
     * than asking on a terminal a daemon does not have. */
    EVP_PKEY *k = PEM_read_bio_PrivateKey(f, NULL, NULL, (void *)"");
    BIO_free(f);
    if (!k) {
        char why[200];
        snprintf(err, errlen, "%s is not a PEM private key without a passphrase (%s)", path,
                 ssl_reason(why, sizeof why));
    }
    return k;
}

static void asn1_time_text(const ASN1_TIME *t, char *buf, size_t len)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm))
        strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
    else
        snprintf(buf, len, "?");
}

static void fingerprint_of(X509 *x, char out[96])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (!X509_digest(x, EVP_sha256(), md, &n))
        return;
    for (unsigned i = 0; i < n && i < 32; i++)
        snprintf(out + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X", md[i]);
}

/* A context from the files, or NULL with err set. */
static SSL_CTX *make_ctx(const char *cert, const char *key, const char *client_ca, char *err,
                         apr_size_t errlen)
{
    char why[200], fp[96];
    if (kt_http_tls_check(cert, key, client_ca, fp, NULL, 0, err, errlen) != APR_SUCCESS)
        return NULL;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context (%s)", ssl_reason(why, sizeof why));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Partial writes and a moving buffer: the loop resends from where its
     * output stands, not from the pointer of the first try. Buffers are
     * given back while a keep-alive connection idles. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* Read ahead: a record's header and body (and what follows) in one
     * read(2), not two; what it buffers beyond the record is seen by
     * SSL_has_pending (kt__tls_pending), as the socket no longer will. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"kotod", 5);
    if (!SSL_CTX_set_cipher_list(ctx, CIPHERS_12) ||
        SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        snprintf(err, errlen, "cannot use the TLS certificate %s (%s)", cert,
                 ssl_reason(why, sizeof why));
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "cannot use the TLS key %s (%s)", key, ssl_reason(why, sizeof why));
        goto fail;
    }
    if (client_ca && *client_ca) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
        if (!names || SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
            if (names)
                sk_X509_NAME_pop_free(names, X509_NAME_free);
            snprintf(err, errlen, "cannot use the client CA %s (%s)", client_ca,
                     ssl_reason(why, sizeof why));
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static apr_status_t free_ctx(void *data)
{
    kt_http_t *s = data;
    SSL_CTX_free(s->tls_ctx);
    s->tls_ctx = NULL;
    return APR_SUCCESS;
}

static apr_status_t free_session(void *data)
{
    SSL_free(data);
    return APR_SUCCESS;
}

/* What SSL_get_error says, for the loop: APR_EAGAIN with the wait noted,
 * APR_EOF, or a failure (logged at debug with OpenSSL's reason). */
static apr_status_t io_result(kt__conn_t *c, int r, int writing)
{
    char why[200];
    int e = SSL_get_error(c->tls, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        if (writing)
            c->tls_write_wants_read = 1;
        return APR_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        if (!writing)
            c->tls_read_wants_write = 1;
        return APR_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return APR_EOF;
    case SSL_ERROR_SYSCALL: {
        apr_status_t ne = apr_get_netos_error();
        ERR_clear_error();
        if (APR_STATUS_IS_EAGAIN(ne))
            return APR_EAGAIN;
        kt_log(KT_LOG_DEBUG, "http: %s: TLS %s failed: %s", c->remote,
               writing ? "write" : "read", ne ? kt_strerror(ne, why, sizeof why) : "connection closed");
        return ne ? ne : APR_EOF;
    }
    default:
        kt_log(KT_LOG_DEBUG, "http: %s: TLS %s failed: %s", c->remote,
               writing ? "write" : "read", ssl_reason(why, sizeof why));
        return APR_EGENERAL;
    }
}

/* ---- Internal ---------------------------------------------------------- */

apr_status_t kt__tls_server_init(kt_http_t *s)
{
    char err[600];
    const kt_http_conf_t *conf = &s->conf;
    SSL_CTX *ctx = make_ctx(conf->tls_cert, conf->tls_key, conf->tls_client_ca, err, sizeof err);
    if (!ctx) {
        kt_log(KT_LOG_ERROR, "http: %s", err);
        return KT_ECONF;
    }
    apr_status_t rv = apr_thread_mutex_create(&s->tls_mu, APR_THREAD_MUTEX_DEFAULT, s->pool);
    if (rv != APR_SUCCESS) {
        SSL_CTX_free(ctx);
        return rv;
    }
    s->tls_ctx = ctx;
    s->tls = 1;
    apr_pool_cleanup_register(s->pool, s, free_ctx, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

apr_status_t kt__tls_conn_new(kt__conn_t *c)
{
    apr_os_sock_t fd;
    apr_status_t rv = apr_os_sock_get(&fd, c->sock);
    if (rv != APR_SUCCESS)
        return rv;
    ERR_clear_error();
    BIO *bio = BIO_new_socket((int)fd, BIO_NOCLOSE);
    if (!bio)
        return APR_ENOMEM;
    return kt__tls_conn_new_bio(c, bio);
}

apr_status_t kt__tls_conn_new_bio(kt__conn_t *c, void *bio)
{
    kt_http_t *s = c->s;
    ERR_clear_error();
    apr_thread_mutex_lock(s->tls_mu);
    SSL *ssl = SSL_new(s->tls_ctx);
    apr_thread_mutex_unlock(s->tls_mu);
    if (!ssl) {
        BIO_free(bio);
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(c->pool, ssl, free_session, apr_pool_cleanup_null);
    SSL_set_bio(ssl, bio, bio); /* the session owns it now */
    SSL_set_accept_state(ssl);
    c->tls = ssl;
    return APR_SUCCESS;
}

int kt__tls_handshake(kt__conn_t *c)
{
    c->tls_read_wants_write = c->tls_write_wants_read = 0;
    ERR_clear_error();
    apr_set_netos_error(0);
    int r = SSL_do_handshake(c->tls);
    if (r == 1) {
        kt_log(KT_LOG_DEBUG, "http: %s: %s %s", c->remote, SSL_get_version(c->tls),
               SSL_get_cipher_name(c->tls));
        return 1;
    }
    int e = SSL_get_error(c->tls, r);
    if (e == SSL_ERROR_WANT_READ)
        return 0;
    if (e == SSL_ERROR_WANT_WRITE) {
        c->tls_read_wants_write = 1; /* the handshake waits on output */
        return 0;
    }
    char why[200];
    apr_status_t ne = apr_get_netos_error();
    if (e == SSL_ERROR_SYSCALL && ne)
        kt_strerror(ne, why, sizeof why);
    else if (e == SSL_ERROR_SYSCALL)
        snprintf(why, sizeof why, "the client left");
    else
        ssl_reason(why, sizeof why);
    ERR_clear_error();
    kt_log(KT_LOG_DEBUG, "http: %s: TLS handshake failed: %s", c->remote, why);
    return -1;
}

apr_status_t kt__tls_recv(kt__conn_t *c, char *buf, apr_size_t *n)
{
    apr_size_t want = *n > INT_MAX ? INT_MAX : *n;
    *n = 0;
    c->tls_read_wants_write = 0;
    ERR_clear_error();
    apr_set_netos_error(0);
    int r = SSL_read(c->tls, buf, (int)want);
    if (r > 0) {
        *n = (apr_size_t)r;
        return APR_SUCCESS;
    }
    return io_result(c, r, 0);
}

apr_status_t kt__tls_send(kt__conn_t *c, const char *buf, apr_size_t *n)
{
    apr_size_t want = *n > INT_MAX ? INT_MAX : *n;
    *n = 0;
    c->tls_write_wants_read = 0;
    if (!want)
        return APR_SUCCESS;
    ERR_clear_error();
    apr_set_netos_error(0);
    int r = SSL_write(c->tls, buf, (int)want);
    if (r > 0) {
        *n = (apr_size_t)r;
        return APR_SUCCESS;
    }
    return io_result(c, r, 1);
}

int kt__tls_pending(kt__conn_t *c) { return c->tls ? SSL_has_pending(c->tls) : 0; }

void kt__tls_close_notify(kt__conn_t *c)
{
    if (!c->tls || !SSL_is_init_finished(c->tls))
        return;
    ERR_clear_error();
    SSL_shutdown(c->tls);
    ERR_clear_error();
}

/* ---- Public ------------------------------------------------------------ */

/* Built into kt_http (Windows): nothing to load. Built as the module,
 * tls_load.c's functions of these names are the ones kotod calls. */
apr_status_t kt_http_tls_load(const char *module, char *err, apr_size_t errlen)
{
    (void)module;
    (void)err;
    (void)errlen;
    return APR_SUCCESS;
}

int kt_http_is_tls(kt_http_t *s) { return s->tls; }

apr_status_t kt_http_tls_check(const char *cert, const char *key, const char *client_ca,
                               char fingerprint[96], char *info, apr_size_t infolen, char *err,
                               apr_size_t errlen)
{
    apr_status_t rv = KT_ECONF;
    EVP_PKEY *k = NULL;
    char when[64];
    if (!cert || !*cert || !key || !*key) {
        snprintf(err, errlen, "TLS needs both a certificate and a key file");
        return KT_ECONF;
    }
    ERR_clear_error();
    X509 *x = read_cert(cert, err, errlen);
    if (!x)
        return KT_ECONF;
    if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
        asn1_time_text(X509_get0_notAfter(x), when, sizeof when);
        snprintf(err, errlen, "the TLS certificate %s expired on %s", cert, when);
        goto done;
    }
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
        asn1_time_text(X509_get0_notBefore(x), when, sizeof when);
        snprintf(err, errlen, "the TLS certificate %s is not valid before %s", cert, when);
        goto done;
    }
    if (!(k = read_key(key, err, errlen)))
        goto done;
    if (X509_check_private_key(x, k) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "the TLS key %s does not match the certificate %s", key, cert);
        goto done;
    }
    if (client_ca && *client_ca) {
        X509 *ca = read_cert(client_ca, err, errlen);
        if (!ca)
            goto done;
        X509_free(ca);
    }
    if (fingerprint)
        fingerprint_of(x, fingerprint);
    if (info && infolen) {
        char subject[256];
        X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof subject);
        asn1_time_text(X509_get0_notAfter(x), when, sizeof when);
        snprintf(info, infolen, "%s, valid until %s", subject, when);
    }
    rv = APR_SUCCESS;
done:
    EVP_PKEY_free(k);
    X509_free(x);
    ERR_clear_error();
    return rv;
}

/* Adds "DNS:name" or "IP:addr" for each name of list to san. */
static void add_names(char *san, size_t len, const char *list, apr_pool_t *pool)
{
    char *last, *copy = apr_pstrdup(pool, list ? list : "");
    for (char *t = apr_strtok(copy, ", ", &last); t; t = apr_strtok(NULL, ", ", &last)) {
        int ip = strspn(t, "0123456789.") == strlen(t) || strchr(t, ':');
        if (strlen(san) + strlen(t) + 6 < len)
            snprintf(san + strlen(san), len - strlen(san), ",%s:%s", ip ? "IP" : "DNS", t);
    }
}

/* Writes the PEM text to path through a temporary file renamed over it,
 * made owner-only as the token is (kt_sys_create_secret: mode 0600; on
 * Windows a protected DACL for SYSTEM and Administrators, which the rename
 * keeps). */
static apr_status_t write_file(const char *path, BIO *mem, apr_pool_t *pool)
{
    char *data;
    long len = BIO_get_mem_data(mem, &data);
    const char *tmp = apr_pstrcat(pool, path, ".new", NULL);
    apr_file_remove(tmp, pool); /* one left by a crash: made anew, never reused */
    apr_status_t rv = kt_sys_create_secret(tmp, data, (apr_size_t)len, pool);
    if (rv == APR_SUCCESS)
        rv = apr_file_rename(tmp, path, pool);
    if (rv != APR_SUCCESS)
        apr_file_remove(tmp, pool);
    return rv;
}

apr_status_t kt_http_tls_self_signed(const char *cert, const char *key, const char *names,
                                     int *made, char *err, apr_size_t errlen, apr_pool_t *pool)
{
    char why[200], fp[96];
    *made = 0;
    if (kt_http_tls_check(cert, key, NULL, fp, NULL, 0, err, errlen) == APR_SUCCESS)
        return APR_SUCCESS;
    apr_status_t rv = KT_ECONF;
    X509 *x = NULL;
    BIO *kb = NULL, *cb = NULL;
    ERR_clear_error();
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k || !(x = X509_new()))
        goto ssl_fail;
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1)
        goto ssl_fail;
    serial[0] &= 0x7f; /* a positive serial */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    if (!ok || !X509_set_version(x, 2) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600) || !X509_set_pubkey(x, k))
        goto ssl_fail;
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"koto", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"kotod", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    char san[1024] = "DNS:localhost,IP:127.0.0.1,IP:::1";
    add_names(san, sizeof san, names, pool);
    const struct {
        int nid;
        const char *value;
    } exts[] = {{NID_basic_constraints, "critical,CA:FALSE"},
                {NID_key_usage, "critical,digitalSignature"},
                {NID_ext_key_usage, "serverAuth"},
                {NID_subject_alt_name, san}};
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    for (size_t i = 0; i < KT_ARRAY_SIZE(exts); i++) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);
        if (!e) {
            snprintf(err, errlen, "cannot make the self-signed certificate: bad name in %s",
                     exts[i].value);
            goto done;
        }
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    if (!X509_sign(x, k, EVP_sha256()))
        goto ssl_fail;
    kb = BIO_new(BIO_s_mem());
    cb = BIO_new(BIO_s_mem());
    if (!kb || !cb || !PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(cb, x))
        goto ssl_fail;
    char e2[128];
    apr_status_t st;
    if ((st = write_file(key, kb, pool)) != APR_SUCCESS) {
        snprintf(err, errlen, "cannot write the TLS key %s: %s", key, kt_strerror(st, e2, sizeof e2));
        goto done;
    }
    if ((st = write_file(cert, cb, pool)) != APR_SUCCESS) {
        snprintf(err, errlen, "cannot write the TLS certificate %s: %s", cert,
                 kt_strerror(st, e2, sizeof e2));
        goto done;
    }
    *made = 1;
    rv = APR_SUCCESS;
    goto done;
ssl_fail:
    snprintf(err, errlen, "cannot make a self-signed certificate (%s)", ssl_reason(why, sizeof why));
done:
    BIO_free(kb);
    BIO_free(cb);
    X509_free(x);
    EVP_PKEY_free(k);
    ERR_clear_error();
    return rv;
}

apr_status_t kt_http_tls_reload(kt_http_t *s, const char *cert, const char *key,
                                const char *client_ca, char *err, apr_size_t errlen)
{
    if (!s->tls) {
        snprintf(err, errlen, "this listener does not speak TLS");
        return KT_ESTATE;
    }
    SSL_CTX *ctx = make_ctx(cert, key, client_ca, err, errlen);
    if (!ctx)
        return KT_ECONF;
    apr_thread_mutex_lock(s->tls_mu);
    SSL_CTX *old = s->tls_ctx;
    s->tls_ctx = ctx;
    apr_thread_mutex_unlock(s->tls_mu);
    SSL_CTX_free(old); /* sessions still open hold their own references */
    return APR_SUCCESS;
}
