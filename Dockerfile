# DinV: one container, one complete Docker host. The same file builds the image
# of every engine version; the base image chooses the version.
#
# Here (no registry reachable) images/build.sh makes the bases with debootstrap
# (images/base.sh), builds bin/dinv on the host and runs, per base:
#   docker build --build-arg BASE=dinv-base:trixie --build-arg ENGINE_VERSION=26.1.5 -t dinv:26.1 .
# With a registry, a plain Debian image is the natural base; the RUN step below
# then installs Debian's engine and CLI:
#   make build && docker build --build-arg BASE=debian:trixie --build-arg ENGINE_VERSION=26.1.5 -t dinv:26.1 .
# /dinv is built on the host (CGO_ENABLED=0, static: `make build`) and copied in,
# so the build needs no Go toolchain image.
#
# VARIANT=rootless makes dinv:<version>-rootless: the same image, whose engine
# runs as the unprivileged user "rootless" under rootlesskit and slirp4netns
# (packaged from trixie on; bookworm's rootlesskit is 1.x):
#   docker build --build-arg BASE=dinv-base:sid --build-arg ENGINE_VERSION=28.5.2 --build-arg VARIANT=rootless -t dinv:28.5-rootless .
#
# dinv:29 is the sid base with the engine images/engine29/build.sh builds
# from moby's Go module, copied from bin/engine/ (images/build.sh):
#   docker build --build-arg BASE=dinv-base:sid --build-arg ENGINE_VERSION=29.8.1-dev -t dinv:29 .
ARG BASE=dinv-base:trixie
FROM ${BASE}
ARG VARIANT=

# Debian's engine when the base has none (a plain debian:SUITE). From trixie on
# the docker CLI is a package of its own. Lean: no lists, docs or man pages.
RUN set -eu; \
	if ! command -v dockerd >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update; \
		apt-get install -y --no-install-recommends docker.io iptables ca-certificates iproute2; \
		command -v docker >/dev/null 2>&1 || apt-get install -y --no-install-recommends docker-cli; \
		apt-get clean; \
		rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* \
			/usr/share/info/* /usr/share/locale/* /var/log/apt/* /var/log/*.log; \
	fi; \
	dockerd --version; docker --version

# The rootless variant: its tools (installed when the base lacks them, as
# above), and a data root the rootless user owns, so that the anonymous
# volume made from it is the user's too. /dinv makes the user, its subordinate
# IDs and run directory at each start (DINV_ROOTLESS below).
RUN set -eu; \
	case "${VARIANT}" in \
	"") exit 0 ;; \
	rootless) ;; \
	*) echo "VARIANT=${VARIANT}: want rootless or nothing" >&2; exit 1 ;; \
	esac; \
	if ! command -v rootlesskit >/dev/null 2>&1 || ! command -v slirp4netns >/dev/null 2>&1 || ! command -v newuidmap >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update; \
		apt-get install -y --no-install-recommends rootlesskit slirp4netns uidmap; \
		apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/*; \
	fi; \
	case "$(rootlesskit --version)" in \
	*" 0."*|*" 1."*) echo "rootless: $(rootlesskit --version): rootlesskit 2.x is needed (Debian trixie or later)" >&2; exit 1 ;; \
	esac; \
	slirp4netns --version | head -1; \
	mkdir -p /var/lib/docker; chown 1000:1000 /var/lib/docker; chmod 0710 /var/lib/docker

# Docker 29 (dinv:29): the engine built on the host from moby's Go module
# (images/engine29/build.sh), dockerd and docker-proxy in place of the
# base's (sid's containerd, runc, tini as docker-init and CLI stay).
# images/build.sh puts them in bin/engine/, which is empty for every other
# image (and then copies nothing).
COPY bin/engine/ /usr/sbin/

# The rootless engine's dockerd wrapper: inert unless DINV_ROOTLESS is set.
COPY images/rootless/dockerd /usr/local/lib/dinv/rootless/dockerd
COPY bin/dinv /dinv

ARG ENGINE_VERSION=
ARG DINV_VERSION=dev
ARG BASE
ARG VARIANT
LABEL org.opencontainers.image.title="DinV" \
	org.opencontainers.image.description="One container, one complete Docker host: /dinv prepares the container, then starts and supervises dockerd" \
	org.opencontainers.image.version="${DINV_VERSION}" \
	org.opencontainers.image.base.name="${BASE}" \
	org.opencontainers.image.licenses="Apache-2.0" \
	org.dinv.engine-version="${ENGINE_VERSION}" \
	org.dinv.variant="${VARIANT}"

ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The engine version the image was built with stands in for `dockerd
# --version` (about 40 ms of every start, make bench); the flag, the
# environment and the YAML file still choose first. Empty: dinv detects it.
ENV DINV_IMAGE_ENGINE_VERSION=${ENGINE_VERSION}
# rootless: dinv runs the engine as the unprivileged user (uid 1000) under
# rootlesskit; empty: as root.
ENV DINV_ROOTLESS=${VARIANT:+1}
EXPOSE 2375 2376
# The 20.10 engine's builder knows no --start-interval: a short interval instead.
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 CMD ["/dinv", "-healthcheck"]
ENTRYPOINT ["/dinv"]
# /certs: TLS material (brought by the user or generated); /var/lib/docker: the
# engine's data, kept off the container's overlayfs.
VOLUME /certs /var/lib/docker
