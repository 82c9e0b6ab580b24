#!/usr/bin/env bash
# Debian packages the voice stack and the tests use: espeak-ng (speech for the local bot
# and the emulator's callees), sox (test audio), Chromium (browser tests), npm (fetches
# axe-core for the browser tests' accessibility checks), redis-server; with --with-nginx
# (`make run` with WEB_PROCESSES > 1, and the tests) nginx, which runs only with the config
# `make run` writes: Debian's own server on port 80 is kept from starting.
# Installs what is missing when run as root with apt-get; otherwise says what to install.
set -euo pipefail
needed=()
command -v espeak-ng >/dev/null || needed+=(espeak-ng)
command -v sox >/dev/null || needed+=(sox)
for option in "$@"; do
  case $option in
    --with-browser)
      command -v chromium >/dev/null || needed+=(chromium)
      command -v chromedriver >/dev/null || needed+=(chromium-driver)
      command -v npm >/dev/null || needed+=(npm) ;;
    --with-nginx)
      [[ -x /usr/sbin/nginx ]] || needed+=(nginx) ;;
  esac
done
(( ${#needed[@]} )) || exit 0
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${needed[*]} …"
  apt-get update -qq
  # No package's own service is started (nginx would take port 80 with Debian's default site).
  no_services=/usr/sbin/policy-rc.d
  if [[ ! -e $no_services ]]; then
    printf '#!/bin/sh\nexit 101\n' > "$no_services" && chmod +x "$no_services"
    trap 'rm -f "$no_services"' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
else
  echo "Missing system packages: ${needed[*]}. Install them, e.g.: sudo apt-get install ${needed[*]}" >&2
  exit 1
fi
