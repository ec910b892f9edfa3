/* The same certificate summary as inbound-certs builds, made with the OpenSSL C library, to
 * compare speeds honestly. Build and run with benches/openssl_compare.sh.
 *
 * For every certificate of a PEM bundle (parsed to DER first, outside the timing): d2i_X509,
 * SHA-256 fingerprint, subject and issuer as RFC 2253 strings, serial as hex, validity dates,
 * signature algorithm name, key type and size, CA flag, self-issued, subject alternative
 * names as strings, extended key usage OIDs and the client-auth flag. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *name_string(const X509_NAME *name) {
    BIO *bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *data;
    long length = BIO_get_mem_data(bio, &data);
    char *copy = strndup(data, (size_t)length);
    BIO_free(bio);
    return copy;
}

static size_t summarise(const unsigned char *der, long length) {
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, length);
    if (!x) return 0;
    size_t work = 0;
    unsigned char md[32];
    unsigned int md_length = 0;
    X509_digest(x, EVP_sha256(), md, &md_length);
    char *subject = name_string(X509_get_subject_name(x));
    char *issuer = name_string(X509_get_issuer_name(x));
    work += strlen(subject) + strlen(issuer) + md_length;
    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *serial_hex = BN_bn2hex(serial);
    work += strlen(serial_hex);
    struct tm not_before, not_after;
    ASN1_TIME_to_tm(X509_get0_notBefore(x), &not_before);
    ASN1_TIME_to_tm(X509_get0_notAfter(x), &not_after);
    work += (size_t)not_after.tm_year;
    char signature[80];
    OBJ_obj2txt(signature, sizeof signature, OBJ_nid2obj(X509_get_signature_nid(x)), 0);
    work += strlen(signature);
    EVP_PKEY *key = X509_get0_pubkey(x);
    if (key) work += (size_t)EVP_PKEY_get_bits(key) + (size_t)EVP_PKEY_get_base_id(key);
    work += (size_t)X509_check_ca(x);
    work += X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        int type;
        ASN1_STRING *text = GENERAL_NAME_get0_value(name, &type);
        if (type == GEN_DNS || type == GEN_EMAIL || type == GEN_URI) {
            char *copy = strndup((const char *)ASN1_STRING_get0_data(text), (size_t)ASN1_STRING_length(text));
            work += strlen(copy);
            free(copy);
        }
    }
    GENERAL_NAMES_free(names);
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    int client_auth = eku == NULL;
    for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku); i++) {
        char oid[80];
        ASN1_OBJECT *object = sk_ASN1_OBJECT_value(eku, i);
        OBJ_obj2txt(oid, sizeof oid, object, 1);
        int nid = OBJ_obj2nid(object);
        client_auth |= nid == NID_client_auth || nid == NID_anyExtendedKeyUsage;
        work += strlen(oid);
    }
    work += (size_t)client_auth;
    EXTENDED_KEY_USAGE_free(eku);
    OPENSSL_free(serial_hex);
    BN_free(serial);
    free(subject);
    free(issuer);
    X509_free(x);
    return work;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/etc/ssl/certs/ca-certificates.crt";
    int rounds = argc > 2 ? atoi(argv[2]) : 200;
    FILE *file = fopen(path, "r");
    if (!file) { perror(path); return 1; }
    unsigned char *ders[4096];
    long lengths[4096];
    int count = 0;
    X509 *x;
    while (count < 4096 && (x = PEM_read_X509(file, NULL, NULL, NULL))) {
        ders[count] = NULL;
        lengths[count] = i2d_X509(x, &ders[count]);
        X509_free(x);
        count++;
    }
    fclose(file);
    size_t sink = 0;
    for (int i = 0; i < count; i++) sink += summarise(ders[i], lengths[i]); /* warm up */
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int round = 0; round < rounds; round++)
        for (int i = 0; i < count; i++) sink += summarise(ders[i], lengths[i]);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("openssl C summary: %d certificates x %d rounds: %.2f us per certificate (sink %zu)\n",
           count, rounds, seconds * 1e6 / ((double)count * rounds), sink % 10);
    return 0;
}
