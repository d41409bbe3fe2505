#!/usr/bin/env bash
# Runs after `npm ci` / `npm install`: the mediasoup worker binary (downloaded or built, cached
# outside the clone), then the browser pages when Vite is installed (a production install
# without dev dependencies uses the web-client/dist built into the image).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/mediasoup/worker.sh >/dev/null
if [ -x node_modules/.bin/vite ]; then
  npm run -s build:web
else
  echo "web client: Vite is not installed (production install); serving the prebuilt web-client/dist" >&2
fi
