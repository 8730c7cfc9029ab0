# syntax=docker/dockerfile:1
# The training image of deploy/kubernetes/training/mpijob.yaml: funnel-train with OpenMPI's runtime, mpirun and the
# ssh client and server the Kubeflow MPI operator launches the ranks with. Build from the repository root:
#   docker build -f deploy/train.Dockerfile -t funnel-train:dev .
# funnel-train links libmpi (the COpenMPI target); funnel-serve does not and its image (deploy/Dockerfile) carries
# no mpirun or sshd.

ARG SWIFT_IMAGE=swift:6.3.1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libopenmpi-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product funnel-train \
    && install -D -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/funnel-train" \
        /out/funnel-train

FROM ${RUNTIME_IMAGE} AS runtime
# The MPI operator's convention: an unprivileged user whose ~/.ssh receives the job's keys (sshAuthMountPath), and
# an sshd configuration it can run on a port above 1024 without root.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libopenmpi3 openmpi-bin openssh-client openssh-server \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1000 --create-home --shell /bin/bash mpiuser \
    && mkdir -p /home/mpiuser/.sshd \
    && ssh-keygen -q -t ed25519 -N '' -f /home/mpiuser/.sshd/host_key \
    && printf 'Port 2222\nHostKey /home/mpiuser/.sshd/host_key\nPidFile /home/mpiuser/.sshd/sshd.pid\nUsePAM no\nPasswordAuthentication no\nStrictModes no\n' \
        > /home/mpiuser/.sshd_config \
    && printf 'Host *\n    Port 2222\n    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n' \
        > /etc/ssh/ssh_config.d/funnel.conf \
    && chown -R mpiuser:mpiuser /home/mpiuser
COPY --from=build /out/funnel-train /usr/local/bin/
USER 1000:1000
WORKDIR /home/mpiuser
ENTRYPOINT ["/usr/local/bin/funnel-train"]
