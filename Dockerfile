# syntax=docker/dockerfile:1
# dapr-guard: build with the full toolchain, run on distroless Node.js 24 as a non-root user.
# test/docker/runtime-stage.test.ts replays these stages without a Docker engine: keep every RUN an
# npm command and every COPY relative to WORKDIR, so that the test can follow them.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM gcr.io/distroless/nodejs24-debian12:nonroot AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# 65532 is distroless's "nonroot"; nothing in /app is writable by it: run with readOnlyRootFilesystem
# and mount the serving certificate (the chart does), or point --tls-cert/--tls-key/--tls-ca at a writable
# mount (the README shows the docker run: a folder of the user's at /certs, --user, DAPR_GUARD_TLS_*).
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["/nodejs/bin/node", "dist/main.js"]
