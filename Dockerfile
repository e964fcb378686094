# sparsenet for cluster nodes without GPUs (or with them): lavapipe from Mesa 25 through the same install script
# CI uses, then the project, built. Used by deploy/k8s/sweep-job.yaml; under Slurm a shared checkout is enough.
#   docker build -t sparsenet .
FROM node:20-bookworm-slim
WORKDIR /opt/sparsenet
COPY .ci/install-system .ci/install-system
# No browser in the image: nodes run the CLIs, not the browser tests.
RUN bash .ci/install-system --no-browser && rm -rf /var/lib/apt/lists/*
COPY . .
RUN npm ci --no-audit --no-fund && npm run build
ENV SPARSENET_ADAPTER=auto XDG_RUNTIME_DIR=/tmp
CMD ["node", "packages/sparsenet/dist/cli/sweep.js", "--help"]
