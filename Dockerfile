# The remediation Job image (job.mode: image). The default configmap mode needs no image: it mounts the
# same bundle from a ConfigMap into the stock Node.js image pinned below.
ARG NODE_IMAGE=node:22-alpine@sha256:8094c002d08262dba12645a3b4a15cd6cd627d30bc782f53229a2ec13ee22a00

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run --silent bundle

FROM ${NODE_IMAGE}
COPY --from=build --chown=root:root --chmod=0444 /src/lib/bundle/remediation-job.js /opt/agent-cancellation/remediation-job.js
USER 1000:1000
ENTRYPOINT ["node", "/opt/agent-cancellation/remediation-job.js"]
CMD ["run"]
