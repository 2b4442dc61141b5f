#!/usr/bin/env bash
# Installs Store Appliance on a fresh Debian box: a system user, a virtualenv in /opt/appliance,
# the home in /var/lib/appliance, and a systemd service. Run as root from a checkout.
#   deploy/install.sh                    # then: systemctl start appliance
#   deploy/install.sh --tls self-signed  # HTTPS on the shop LAN with a certificate made here (docs/security.md)
#   deploy/install.sh --role primary     # box-a of a pair; --role standby on box-b, --role witness on the witness
# Behind Caddy or nginx instead: deploy/caddy/Caddyfile, deploy/nginx/appliance.conf.
# A pair (docs/failover.md "Installing a pair"): nothing of failover is switched on here; the installer
# puts the files in place and prints what to edit (addresses), then what to enable.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: deploy/install.sh [--role single|primary|standby|witness] [--tls self-signed] [--print-failover-config]
  --role single     one box, no failover (the default)
  --role primary    box-a of a pair: the appliance, etcd member box-a, keepalived, the lease holder and follow units
  --role standby    box-b of a pair: the same with etcd member box-b (its follow unit keeps the warm copy)
  --role witness    the witness (a Raspberry Pi, the NAS, a small VPS): etcd member witness only
  --tls self-signed HTTPS on the shop LAN with a certificate made on this box (not for a witness)
  --print-failover-config
                    print the commented [failover] section the role appends to appliance.toml, install nothing
Nothing of a pair is enabled with example addresses: edit them first (docs/failover.md "Installing a pair").
EOF
}

ROLE=single
TLS=""
PRINT_FAILOVER=""
while [ $# -gt 0 ]; do
    case "$1" in
        --tls) [ $# -ge 2 ] || { echo "--tls needs a value" >&2; usage >&2; exit 2; }; TLS=$2; shift 2 ;;
        --role) [ $# -ge 2 ] || { echo "--role needs a value" >&2; usage >&2; exit 2; }; ROLE=$2; shift 2 ;;
        --print-failover-config) PRINT_FAILOVER=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$ROLE" in
    single|primary|standby|witness) ;;
    *) echo "--role takes single, primary, standby or witness (got '$ROLE')" >&2; usage >&2; exit 2 ;;
esac
if [ -n "$TLS" ] && [ "$TLS" != "self-signed" ]; then
    echo "--tls takes 'self-signed' (a proxy: see deploy/caddy/ and deploy/nginx/)" >&2; exit 2
fi
if [ "$ROLE" = witness ] && [ -n "$TLS" ]; then
    echo "a witness runs etcd only: it serves nothing, so --tls does not apply" >&2; exit 2
fi

# The pair's boxes: box-a is the intended primary, box-b the standby; the witness is the third etcd member.
case "$ROLE" in
    primary) MEMBER=box-a; HINT=primary ;;
    standby) MEMBER=box-b; HINT=standby ;;
    witness) MEMBER=witness; HINT="" ;;
    *) MEMBER=""; HINT="" ;;
esac

failover_section() {
    # Commented out: failover stays off until the addresses are real (docs/failover.md "Installing a pair").
    cat <<EOF

# [failover] -- this box is $MEMBER of a pair (docs/failover.md "Installing a pair"). Once the three
# etcd members run with their real addresses, uncomment the section on both boxes with those addresses,
# then: systemctl enable --now appliance-failover && systemctl restart appliance
# (and on the standby: systemctl enable --now appliance-follow).
#[failover]
#enabled = true
#role = "$HINT"
#name = "$MEMBER"
#etcd_endpoints = ["http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"]
EOF
}

if [ -n "$PRINT_FAILOVER" ]; then
    case "$ROLE" in
        primary|standby) failover_section; exit 0 ;;
        *) echo "--print-failover-config needs --role primary or --role standby" >&2; exit 2 ;;
    esac
fi
[ "$(id -u)" = 0 ] || { echo "run deploy/install.sh as root" >&2; exit 1; }

SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/appliance
HOME_DIR=/var/lib/appliance

install_etcd_member() {
    # Debian's etcd-server, with this machine's member config in /etc/default/etcd (deploy/etcd/).
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
    if grep -q '^[[:space:]]*ETCD_' /etc/default/etcd 2>/dev/null; then
        echo "left /etc/default/etcd as it is (it has settings of its own): compare with deploy/etcd/$MEMBER.env"
    else
        install -m 0644 "$SRC/deploy/etcd/$MEMBER.env" /etc/default/etcd
    fi
    # apt started a lone member on localhost; this one starts once its addresses are edited.
    systemctl stop etcd 2>/dev/null || true
}

if [ "$ROLE" = witness ]; then
    apt-get update -qq
    install_etcd_member
    echo "installed etcd member 'witness': edit the addresses in /etc/default/etcd (the same three on all"
    echo "three machines), then: systemctl restart etcd"
    exit 0
fi

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip openssh-client >/dev/null  # ssh carries the sftp targets

id appliance >/dev/null 2>&1 || useradd --system --home-dir "$HOME_DIR" --shell /usr/sbin/nologin appliance
mkdir -p "$PREFIX" "$HOME_DIR"
python3 -m venv "$PREFIX/venv"
"$PREFIX/venv/bin/pip" install -q --upgrade pip
"$PREFIX/venv/bin/pip" install -q "$SRC"
chown appliance:appliance "$HOME_DIR"
chmod 0750 "$HOME_DIR"

if [ ! -f "$HOME_DIR/appliance.toml" ]; then
    # Prints the admin's one-time password once: note it.
    runuser -u appliance -- env APPLIANCE_HOME="$HOME_DIR" "$PREFIX/venv/bin/appliance" init
fi
SCHEME=http
if [ "$TLS" = "self-signed" ]; then
    SCHEME=https
    if [ ! -f "$HOME_DIR/keys/tls.crt" ]; then
        # Prints the certificate's SHA-256 fingerprint: compare it with what the tablets' browsers show.
        runuser -u appliance -- env APPLIANCE_HOME="$HOME_DIR" "$PREFIX/venv/bin/appliance" tls self-signed
    fi
    # Served over HTTPS, the box may face the shop network (init's default listens on loopback only).
    sed -i 's/^host = "127.0.0.1"$/host = "0.0.0.0"/' "$HOME_DIR/appliance.toml"
fi
install -m 0644 "$SRC/deploy/systemd/appliance.service" /etc/systemd/system/appliance.service

if [ "$ROLE" = primary ] || [ "$ROLE" = standby ]; then
    install_etcd_member
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq keepalived >/dev/null
    if [ ! -s /etc/keepalived/keepalived.conf ]; then
        install -m 0644 "$SRC/deploy/keepalived/keepalived.conf" /etc/keepalived/keepalived.conf
    else
        echo "left /etc/keepalived/keepalived.conf as it is: compare with deploy/keepalived/keepalived.conf"
    fi
    # Its example interface and address are not this shop's: off until edited.
    systemctl disable --now keepalived 2>/dev/null || true
    # Both units on both boxes (after a failover the old primary becomes the standby); enabled by hand.
    install -m 0644 "$SRC/deploy/systemd/appliance-failover.service" /etc/systemd/system/appliance-failover.service
    install -m 0644 "$SRC/deploy/systemd/appliance-follow.service" /etc/systemd/system/appliance-follow.service
    if ! grep -q '^#*[[:space:]]*\[failover\]' "$HOME_DIR/appliance.toml"; then
        failover_section >> "$HOME_DIR/appliance.toml"
    fi
fi
systemctl daemon-reload
systemctl enable appliance
echo "installed: systemctl start appliance; then open $SCHEME://<this box>:8080/login"
if [ -n "$MEMBER" ]; then
    FOLLOW=""; [ "$ROLE" = standby ] && FOLLOW="; systemctl enable --now appliance-follow"
    LAN=""; [ -z "$TLS" ] && LAN="
  5. the tills reach the box on the shop LAN: --tls self-signed, or a proxy (deploy/caddy/, deploy/nginx/)"
    cat <<EOF
this box is $MEMBER of a pair; nothing of failover is on yet (docs/failover.md "Installing a pair"):
  1. /etc/default/etcd: the real addresses of box-a, box-b and the witness; systemctl restart etcd (all three)
  2. $HOME_DIR/appliance.toml: uncomment [failover] with the same addresses (both boxes); the standby also
     needs the primary's [backup] section and keys/backup.key
  3. systemctl enable --now appliance-failover && systemctl restart appliance$FOLLOW
  4. /etc/keepalived/keepalived.conf: interface and shop address; systemctl enable --now keepalived$LAN
EOF
fi
