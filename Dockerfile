# Production image: Node 24 runs the TypeScript sources directly (type stripping); no build step.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production APP_ENV=production DATA_DIR=/data
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY core ./core
COPY gateway ./gateway
COPY bin ./bin
COPY LICENSE README.md ./
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8443
CMD ["node", "bin/cli.ts", "start"]
