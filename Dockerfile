# syntax=docker/dockerfile:1
# One image for both the Malleo worker and the web UI (see docker-compose.yml).
# libvirt stays on the hosts: the image only carries the client library the N-API binding
# (@unraid/libvirt) links against, plus the toolchain to build that binding during `npm ci`.
FROM node:20-bookworm-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libvirt-dev libvirt-clients python3 make g++ pkg-config \
      ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/*
# openssh-client: only needed for qemu+ssh:// host URIs.

# The repository relies on npm 11 (it honours package.json "allowScripts", so only the
# allow-listed install scripts such as the libvirt binding's build run); bookworm's node 20 ships npm 10.
RUN npm install -g npm@11.19.1 --no-audit --no-fund

WORKDIR /app
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    NEXT_TELEMETRY_DISABLED=1

# Dependencies first (cached while only sources change). Every workspace's package.json must be
# listed here, or `npm ci` rejects the lockfile: add a line when a workspace is added.
COPY package.json package-lock.json ./
COPY apps/cli/package.json apps/cli/
COPY apps/theater/package.json apps/theater/
COPY apps/web/package.json apps/web/
COPY apps/worker/package.json apps/worker/
COPY applications/pagerank/package.json applications/pagerank/
COPY packages/actors/package.json packages/actors/
COPY packages/api/package.json packages/api/
COPY packages/applications/package.json packages/applications/
COPY packages/core/package.json packages/core/
COPY packages/db/package.json packages/db/
COPY packages/examples/package.json packages/examples/
COPY packages/hypervisor/package.json packages/hypervisor/
COPY packages/mediator/package.json packages/mediator/
COPY packages/sdk/package.json packages/sdk/
COPY packages/workflows/package.json packages/workflows/
RUN npm ci --no-audit --no-fund

# Sources (a .dockerignore excluding node_modules, .data, .next and generated/ keeps host
# artefacts out of these copies).
COPY tsconfig.json prisma.config.ts ./
COPY prisma prisma
COPY scripts scripts
COPY packages packages
COPY apps apps
COPY applications applications

# Prisma client (gitignored, generated here) and the production build of the web UI.
# next build needs some DATABASE_URL at build time; the real one comes from the environment.
RUN npx tsx scripts/prisma-generate.ts \
 && DATABASE_URL=postgres://build/placeholder npx next build apps/web

ENV NODE_ENV=production
# docker-compose.yml sets the command per service; default to the worker.
CMD ["npx", "tsx", "apps/worker/src/main.ts"]
