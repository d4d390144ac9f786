# twinhub image: twinhub-sidecar, twinhub-agent-sim, twinhub-zmq-load and, when the CMake project
# defines it, twinhubctl, on Debian 12 with only their runtime libraries.
#
#   docker build -t twinhub .                    # from the public debian:12-slim
#   deploy/docker/build-image.sh                 # from a local mmdebstrap base, no registry needed
#   docker run -v $PWD/sidecar.yaml:/etc/twinhub/sidecar.yaml twinhub   # runs the sidecar
#   docker run twinhub twinhub-agent-sim --name X --port 17140          # any binary by name
#
# Stages: runtime-base (runtime libraries, tini, user, config), build (compiles), runtime
# (runtime-base + the stripped binaries of build). runtime-base comes first so that `--target
# runtime-base` does not build the build stage (the legacy builder builds every stage before its
# target): deploy/docker/Dockerfile.prebuilt starts from it to package binaries built on a Debian
# 12 host instead (TWINHUB_PREBUILT, what CI does). Layers: the apt layers come first and do not
# depend on the sources, so a one-line change rebuilds only the compile and the final COPY.
ARG BASE=debian:12-slim

FROM ${BASE} AS runtime-base
# tini as PID 1: forwards SIGTERM to whichever binary runs (the sidecar drains) and reaps.
# libcurl4 is dlopen()ed by the Pushgateway pusher (metrics_push/curl_library.h), so the ldd check
# below does not see it: keep it here.
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libuv1 libnats3.4 libzmq5 libyaml-cpp0.7 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
      libcurl4 libspdlog1.10 libfmt9 tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 twinhub \
 && useradd --system --uid 10001 --gid twinhub --home-dir /var/lib/twinhub --no-create-home \
      --shell /usr/sbin/nologin twinhub \
 && install -d -o twinhub -g twinhub -m 0750 /var/lib/twinhub \
 && install -d -m 0755 /etc/twinhub
COPY config/ /etc/twinhub/
COPY deploy/docker/sidecar.yaml /etc/twinhub/sidecar.yaml
USER twinhub:twinhub
WORKDIR /var/lib/twinhub
# 7140: the default front; 9140: /metrics, /healthz, /readyz (the default config listens on
# 127.0.0.1:9140, reachable inside the pod or network namespace only; mount a config with
# 0.0.0.0:9140 to publish it).
EXPOSE 7140 9140
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["twinhub-sidecar", "--config", "/etc/twinhub/sidecar.yaml"]

FROM ${BASE} AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      cmake ninja-build g++ pkg-config \
      libuv1-dev libnats-dev libzmq3-dev cppzmq-dev libyaml-cpp-dev prometheus-cpp-dev \
      libcli11-dev libspdlog-dev nlohmann-json3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore keeps build trees, tests, bench, docs and the deploy tooling out of the context.
COPY . .
ARG JOBS=2
# Every target the project defines (the controller included once it exists), without tests and
# benchmarks; then whatever landed in build/bin is installed, and must load its libraries.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DTWINHUB_BUILD_TESTS=OFF -DTWINHUB_BUILD_BENCH=OFF \
 && cmake --build build -j "${JOBS}" \
 && mkdir -p /out/bin \
 && for b in build/bin/*; do strip --strip-unneeded -o "/out/bin/${b##*/}" "$b"; done \
 && ls -l /out/bin

FROM runtime-base AS runtime
COPY --from=build /out/bin/ /usr/local/bin/
# Fails the build when a binary misses a runtime library (the same check as Dockerfile.prebuilt).
RUN for b in /usr/local/bin/twinhub*; do \
      if ldd "$b" | grep 'not found'; then echo "$b: missing libraries" >&2; exit 1; fi; \
      "$b" --help >/dev/null || exit 1; \
    done
