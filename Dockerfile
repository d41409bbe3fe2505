# Production image: Node 24 runs the TypeScript sources directly (type stripping). One build
# stage bundles the browser pages (Vite); the runtime stage gets the official prebuilt
# mediasoup worker through the project's postinstall (scripts/mediasoup/worker.sh), cached in
# the image under TELEHEALTH_CACHE_DIR.
FROM node:24-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY core/protocol ./core/protocol
COPY sdk ./sdk
COPY web-client ./web-client
RUN npm run build:web

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production APP_ENV=production DATA_DIR=/data TELEHEALTH_CACHE_DIR=/opt/telehealth-cache
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY core ./core
COPY media ./media
COPY gateway ./gateway
COPY workers ./workers
COPY bin ./bin
COPY --from=web /app/web-client/dist ./web-client/dist
COPY LICENSE README.md ./
RUN mkdir -p /data && chown node:node /data
USER node
# HTTPS, and the media ports (RTC_MIN_PORT-RTC_MAX_PORT; narrowed in docker-compose.yml).
EXPOSE 8443
CMD ["node", "bin/cli.ts", "start"]
