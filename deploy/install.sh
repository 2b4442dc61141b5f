#!/usr/bin/env bash
# Installs Store Appliance on a fresh Debian box: a system user, a virtualenv in /opt/appliance,
# the home in /var/lib/appliance, and a systemd service. Run as root from a checkout.
#   deploy/install.sh            # then: systemctl start appliance
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=/opt/appliance
HOME_DIR=/var/lib/appliance

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-pip >/dev/null

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
install -m 0644 "$SRC/deploy/systemd/appliance.service" /etc/systemd/system/appliance.service
systemctl daemon-reload
systemctl enable appliance
echo "installed: systemctl start appliance; then open http://<this box>:8080/login"
