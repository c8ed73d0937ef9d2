# Test stand-in for the `kafka` service (lensesio/fast-data-dev cannot be pulled here):
# the same real Apache Kafka (KRaft) and Apicurio Registry that scripts/local-stack.sh runs,
# answering as kafka:9092 and kafka:8081 (Confluent API under /apis/ccompat/v7).
# Build context: the repository root. The runtime stage is on trixie because Apicurio 3.3
# needs Java 21, which bookworm does not package; the project's own images stay on bookworm.

FROM debian:bookworm-slim AS fetch
# Debian package versions are not pinned: the base tag fixes the release, and a point release
# removes the old versions from the mirror, which would break the build.
# The slim image drops man pages, but the JDK's postinst links one into man1 (Debian #863199).
# hadolint ignore=DL3008
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends maven openjdk-17-jdk-headless \
    && rm -rf /var/lib/apt/lists/*
COPY stack/kafka/pom.xml /build/kafka/pom.xml
RUN mvn -B -q -f /build/kafka/pom.xml dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory=/opt/kafka/libs
ARG REGISTRY_VERSION=3.3.3
RUN mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
        -Dartifact="io.apicurio:apicurio-registry-app:${REGISTRY_VERSION}:tar.gz:all" \
        -DoutputDirectory=/build/registry \
    && mkdir -p /opt/registry \
    && tar -xzf /build/registry/apicurio-registry-app-*.tar.gz -C /opt/registry

FROM debian:trixie-slim
# Unpinned Debian packages and man1: see above.
# hadolint ignore=DL3008
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends openjdk-21-jre-headless curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=fetch /opt /opt
COPY tests/docker/kafka-standin.sh /usr/local/bin/kafka-standin
RUN useradd --create-home --uid 10001 --user-group kafka
USER 10001
EXPOSE 9092 8081
ENTRYPOINT ["kafka-standin"]
