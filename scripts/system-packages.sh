#!/usr/bin/env bash
# Debian packages the voice stack and the tests use: espeak-ng (speech for the local bot
# and the emulator's callees), sox (test audio), Chromium (browser tests), npm (fetches
# axe-core for the browser tests' accessibility checks), redis-server.
# Installs what is missing when run as root with apt-get; otherwise says what to install.
set -euo pipefail
needed=()
command -v espeak-ng >/dev/null || needed+=(espeak-ng)
command -v sox >/dev/null || needed+=(sox)
if [[ ${1:-} == --with-browser ]]; then
  command -v chromium >/dev/null || needed+=(chromium)
  command -v chromedriver >/dev/null || needed+=(chromium-driver)
  command -v npm >/dev/null || needed+=(npm)
fi
(( ${#needed[@]} )) || exit 0
if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${needed[*]} …"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
else
  echo "Missing system packages: ${needed[*]}. Install them, e.g.: sudo apt-get install ${needed[*]}" >&2
  exit 1
fi
