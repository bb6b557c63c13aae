# Pulso container: a venv built in one stage, copied alone into a slim runtime image.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/pulso
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY sources ./sources
COPY models ./models
COPY notifiers ./notifiers
RUN /opt/pulso/bin/pip install .

FROM python:3.11-slim-bookworm
ENV PATH=/opt/pulso/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    HF_HUB_DISABLE_PROGRESS_BARS=1 \
    PULSO_CONFIG=/config/pulso.yaml \
    PULSO_DATABASE_URL=sqlite:////data/pulso.db
COPY --from=build /opt/pulso /opt/pulso
COPY config/ /config/
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin pulso \
    && mkdir -p /data \
    && chown 10001:10001 /data
USER 10001:10001
WORKDIR /data
# Mount your configuration at /config (pulso.yaml) and keep /data on a volume.
VOLUME ["/config", "/data"]
ENTRYPOINT ["pulso"]
CMD ["run"]
