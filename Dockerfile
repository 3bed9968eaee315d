# The chat backend as a container image: compiled in a build stage, run by the unprivileged `node` user.

FROM node:20.20.2-bookworm AS build
# better-sqlite3 compiles from source when it cannot fetch a prebuilt binary.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build && npm prune --omit=dev

# Same Debian release as the build stage, so the compiled better-sqlite3 binary runs here.
FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The operator CLI on PATH (`docker compose exec app-dc1 im status`); it runs the compiled dist/.
RUN ln -s /app/bin/im.js /usr/local/bin/im
# DATA_DIR keeps the token signing key (and the SQLite file when a store is embedded).
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
CMD ["node", "dist/main.js"]
