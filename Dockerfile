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
ARG BASE=dinv-base:trixie
FROM ${BASE}

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

COPY bin/dinv /dinv

ARG ENGINE_VERSION=
ARG DINV_VERSION=dev
ARG BASE
LABEL org.opencontainers.image.title="DinV" \
	org.opencontainers.image.description="One container, one complete Docker host: /dinv prepares the container, then starts and supervises dockerd" \
	org.opencontainers.image.version="${DINV_VERSION}" \
	org.opencontainers.image.base.name="${BASE}" \
	org.opencontainers.image.licenses="Apache-2.0" \
	org.dinv.engine-version="${ENGINE_VERSION}"

ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The engine version the image was built with stands in for `dockerd
# --version` (about 40 ms of every start, make bench); the flag, the
# environment and the YAML file still choose first. Empty: dinv detects it.
ENV DINV_IMAGE_ENGINE_VERSION=${ENGINE_VERSION}
EXPOSE 2375 2376
# The 20.10 engine's builder knows no --start-interval: a short interval instead.
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=3 CMD ["/dinv", "-healthcheck"]
ENTRYPOINT ["/dinv"]
# /certs: TLS material (brought by the user or generated); /var/lib/docker: the
# engine's data, kept off the container's overlayfs.
VOLUME /certs /var/lib/docker
