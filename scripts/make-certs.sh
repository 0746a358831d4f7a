#!/usr/bin/env bash
# Make the development certificates for Sluice with the openssl CLI (see certs/README.md).
#
#   scripts/make-certs.sh [DIR]      DIR defaults to $SLUICE_CERTS_DIR, else certs/ in the repo.
#
# Writes, each as NAME.pem + NAME-key.pem (EC P-256 keys, PKCS#8 PEM, mode 0600):
#   ca             dev CA, 10 years
#   server         CN=localhost, SAN DNS:localhost IP:127.0.0.1 IP:::1, EKU serverAuth
#   client         CN=sluice-client,  SAN DNS:client.sluice.test,  EKU clientAuth
#   client2        CN=sluice-client2, SAN DNS:client2.sluice.test, EKU clientAuth
#   other-ca       a second, unrelated CA (for negative TLS tests)
#   other-client   a client certificate signed by other-ca (must be rejected)
#   expired-client signed by the dev CA, validity entirely in the past (must be rejected)
#   Identity-mapping clients (all clientAuth, signed by the dev CA):
#   nosubject-a, nosubject-b   empty subject, SAN DNS:a.nosubject.test / DNS:b.nosubject.test
#   shared-a, shared-b         CN=sluice-shared, SAN DNS:a.shared.test / DNS:b.shared.test
#   spiffe-a, spiffe-b         CN=sluice-workload, SAN URI:spiffe://sluice.test/ns/a / .../ns/b
#   spiffe-two                 CN=sluice-workload, two URI SANs (refused by --principal-from san-uri)
#   nobody                     empty subject and no SAN (names nobody: always refused)
#
# Idempotent: a file set is made only when it is absent, unreadable, its key does not match,
# it no longer verifies against its CA, or it expires within a day. Making a CA anew remakes
# every certificate it signs. Nothing is made when all is in order, so a second run is instant.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-${SLUICE_CERTS_DIR:-$ROOT/certs}}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

CA_DAYS=3650    # the CAs
LEAF_DAYS=825   # server and client certificates (remade automatically when they near expiry)

command -v openssl >/dev/null || { echo "make-certs: openssl not found (run scripts/install-deps.sh)" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
umask 077   # keys and scratch files are private; certificates are chmod'ed 0644 below

made=()     # what this run made, for the closing line

log() { echo "make-certs: $*"; }

# --- checks -------------------------------------------------------------------------------

# key_matches NAME: NAME.pem's public key is NAME-key.pem's.
key_matches() {
    local a b
    a="$(openssl x509 -in "$DIR/$1.pem" -noout -pubkey 2>/dev/null)" || return 1
    b="$(openssl pkey -in "$DIR/$1-key.pem" -pubout 2>/dev/null)" || return 1
    [[ -n "$a" && "$a" == "$b" ]]
}

# valid_for_a_day NAME: NAME.pem does not expire within 24 hours.
valid_for_a_day() {
    openssl x509 -in "$DIR/$1.pem" -noout -checkend 86400 >/dev/null 2>&1
}

# pair_ok NAME: both files present, parseable, matching.
pair_ok() {
    [[ -s "$DIR/$1.pem" && -s "$DIR/$1-key.pem" ]] && key_matches "$1"
}

# signed_by NAME CA [openssl verify options...]: NAME.pem chains to CA.pem.
signed_by() {
    local name="$1" ca="$2"; shift 2
    openssl verify "$@" -CAfile "$DIR/$ca.pem" "$DIR/$name.pem" >/dev/null 2>&1
}

# --- making -------------------------------------------------------------------------------

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# install_pair NAME: move the freshly made $TMP/NAME{,-key}.pem into place.
install_pair() {
    chmod 0644 "$TMP/$1.pem"
    chmod 0600 "$TMP/$1-key.pem"
    mv -f "$TMP/$1-key.pem" "$DIR/$1-key.pem"
    mv -f "$TMP/$1.pem" "$DIR/$1.pem"
    made+=("$1")
}

# make_ca NAME CN
make_ca() {
    local name="$1" cn="$2"
    new_key "$TMP/$name-key.pem"
    cat >"$TMP/$name.ext" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
    openssl req -new -x509 -config "$TMP/$name.ext" -extensions v3_ca \
        -key "$TMP/$name-key.pem" -subj "/O=Sluice Dev/CN=$cn" \
        -days "$CA_DAYS" -sha256 -out "$TMP/$name.pem"
    install_pair "$name"
}

# leaf_ext FILE EKU SAN: write an x509v3 extension file for a leaf certificate.
leaf_ext() {
    cat >"$1" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = $2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
    if [[ -n "$3" ]]; then echo "subjectAltName = $3" >>"$1"; fi
}

# make_leaf NAME CA CN EKU SAN: a leaf signed by CA, valid from now for LEAF_DAYS.
make_leaf() {
    local name="$1" ca="$2" cn="$3" eku="$4" san="$5"
    new_key "$TMP/$name-key.pem"
    local subject="/CN=$cn"
    [[ -z "$cn" ]] && subject="/"
    openssl req -new -key "$TMP/$name-key.pem" -subj "$subject" -out "$TMP/$name.csr"
    leaf_ext "$TMP/$name.ext" "$eku" "$san"
    # A random 127-bit serial: unique without a serial file to keep.
    openssl x509 -req -in "$TMP/$name.csr" -CA "$DIR/$ca.pem" -CAkey "$DIR/$ca-key.pem" \
        -set_serial "0x$(openssl rand -hex 16 | sed 's/^./7/')" \
        -days "$LEAF_DAYS" -sha256 -extfile "$TMP/$name.ext" -out "$TMP/$name.pem" 2>/dev/null
    install_pair "$name"
}

# make_expired NAME CA CN SAN: a client certificate whose whole validity lies in the past.
#
# Debian 12's openssl 3.0 `x509 -req` has no -not_before/-not_after (those came in 3.4) and
# faketime is not available, but `openssl ca` has always taken explicit -startdate/-enddate.
# It needs a throwaway CA database (index.txt, serial), kept in $TMP and discarded.
make_expired() {
    local name="$1" ca="$2" cn="$3" san="$4" db="$TMP/ca-db"
    mkdir -p "$db/new"
    : >"$db/index.txt"
    openssl rand -hex 16 | sed 's/^./7/' >"$db/serial"
    cat >"$db/ca.cnf" <<EOF
[ca]
default_ca = dev
[dev]
database      = $db/index.txt
new_certs_dir = $db/new
serial        = $db/serial
certificate   = $DIR/$ca.pem
private_key   = $DIR/$ca-key.pem
default_md    = sha256
policy        = anything
unique_subject = no
copy_extensions = none
[anything]
organizationName = optional
commonName       = supplied
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = clientAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
    new_key "$TMP/$name-key.pem"
    openssl req -new -key "$TMP/$name-key.pem" -subj "/CN=$cn" -out "$TMP/$name.csr"
    # Valid from 30 days ago until yesterday (UTC, GeneralizedTime: YYYYMMDDHHMMSSZ).
    openssl ca -batch -notext -config "$db/ca.cnf" -extensions leaf \
        -startdate "$(date -u -d '30 days ago' +%Y%m%d%H%M%SZ)" \
        -enddate "$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)" \
        -in "$TMP/$name.csr" -out "$TMP/$name.pem" 2>"$db/err" \
        || { cat "$db/err" >&2; return 1; }
    install_pair "$name"
}

# --- the set ------------------------------------------------------------------------------

# ensure_ca NAME CN: make the CA if it is not in order; returns 0 when it was made anew.
ensure_ca() {
    if pair_ok "$1" && valid_for_a_day "$1"; then return 1; fi
    log "making $1"
    make_ca "$1" "$2"
    return 0
}

# ensure_leaf FORCE NAME CA CN EKU SAN
ensure_leaf() {
    local force="$1"; shift
    local name="$1" ca="$2"
    if [[ "$force" == 0 ]] && pair_ok "$name" && signed_by "$name" "$ca" && valid_for_a_day "$name"; then
        return 0
    fi
    log "making $name"
    make_leaf "$@"
}

# ensure_expired FORCE NAME CA CN SAN: present, signed by CA (ignoring time), and expired.
ensure_expired() {
    local force="$1"; shift
    local name="$1" ca="$2"
    if [[ "$force" == 0 ]] && pair_ok "$name" && signed_by "$name" "$ca" -no_check_time \
        && ! openssl x509 -in "$DIR/$name.pem" -noout -checkend 0 >/dev/null 2>&1; then
        return 0
    fi
    log "making $name"
    make_expired "$@"
}

fresh=0; ensure_ca ca "Sluice Dev CA" && fresh=1
ensure_leaf "$fresh" server  ca localhost      serverAuth "DNS:localhost, IP:127.0.0.1, IP:::1"
ensure_leaf "$fresh" client  ca sluice-client  clientAuth "DNS:client.sluice.test"
ensure_leaf "$fresh" client2 ca sluice-client2 clientAuth "DNS:client2.sluice.test"
ensure_leaf "$fresh" nosubject-a ca "" clientAuth "critical, DNS:a.nosubject.test"
ensure_leaf "$fresh" nosubject-b ca "" clientAuth "critical, DNS:b.nosubject.test"
ensure_leaf "$fresh" shared-a ca sluice-shared clientAuth "DNS:a.shared.test"
ensure_leaf "$fresh" shared-b ca sluice-shared clientAuth "DNS:b.shared.test"
ensure_leaf "$fresh" spiffe-a ca sluice-workload clientAuth "URI:spiffe://sluice.test/ns/a"
ensure_leaf "$fresh" spiffe-b ca sluice-workload clientAuth "URI:spiffe://sluice.test/ns/b"
ensure_leaf "$fresh" spiffe-two ca sluice-workload clientAuth "URI:spiffe://sluice.test/ns/a, URI:spiffe://sluice.test/ns/b"
ensure_leaf "$fresh" nobody ca "" clientAuth ""
ensure_expired "$fresh" expired-client ca sluice-expired-client "DNS:expired-client.sluice.test"

fresh=0; ensure_ca other-ca "Sluice Other CA (untrusted)" && fresh=1
ensure_leaf "$fresh" other-client other-ca sluice-other-client clientAuth "DNS:other-client.sluice.test"

if ((${#made[@]})); then
    log "made ${made[*]} in $DIR"
else
    log "certificates in $DIR are present and valid"
fi
