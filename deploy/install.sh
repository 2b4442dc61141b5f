#!/usr/bin/env bash
# Installs Store Appliance on a fresh Debian box: a system user, a virtualenv in /opt/appliance,
# the home in /var/lib/appliance, and a systemd service. Run as root from a checkout.
#   deploy/install.sh                    # then: systemctl start appliance
#   deploy/install.sh --tls self-signed  # HTTPS on the shop LAN with a certificate made here (docs/security.md)
# Behind Caddy or nginx instead: deploy/caddy/Caddyfile, deploy/nginx/appliance.conf.
set -euo pipefail
TLS=""
while [ $# -gt 0 ]; do
    case "$1" in
        --tls) TLS="${2:-}"; shift 2 ;;
        *) echo "usage: $0 [--tls self-signed]" >&2; exit 2 ;;
    esac
done
if [ -n "$TLS" ] && [ "$TLS" != "self-signed" ]; then
    echo "--tls takes 'self-signed' (a proxy: see deploy/caddy/ and deploy/nginx/)" >&2; exit 2
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/appliance
HOME_DIR=/var/lib/appliance

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
systemctl daemon-reload
systemctl enable appliance
echo "installed: systemctl start appliance; then open $SCHEME://<this box>:8080/login"
