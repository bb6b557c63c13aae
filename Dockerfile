# Pulso container: a venv built in one stage, copied alone into a slim runtime image.
#
#   docker build -t pulso .
#   docker build --build-arg WITH_TRANSFORMER=1 \
#     --build-arg MODEL=cardiffnlp/twitter-xlm-roberta-base-sentiment -t pulso .
#
# WITH_TRANSFORMER=1 adds the transformer engine with the CPU-only build of torch (never
# CUDA). MODEL (a Hugging Face model id; needs WITH_TRANSFORMER=1) is downloaded at build
# time into /opt/models/<MODEL>; point `sentiment.model` at that folder. The image never
# downloads anything at run time (HF_HUB_OFFLINE=1).
ARG WITH_TRANSFORMER=0
ARG MODEL=""

# --- build: the venv at /opt/pulso ----------------------------------------------------
FROM python:3.11-slim-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/pulso/bin:$PATH
RUN python -m venv /opt/pulso
WORKDIR /src
ARG WITH_TRANSFORMER
# The torch that pyproject.toml's dev extra pins, from PyTorch's CPU-only index and
# before anything else: PyPI's Linux build of torch brings gigabytes of CUDA. Its own
# layer, so a code change does not download it again.
ARG TORCH_VERSION=2.13.0
RUN if [ "$WITH_TRANSFORMER" = 1 ]; then \
        pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu \
            "torch==${TORCH_VERSION}"; \
    fi
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY sources ./sources
COPY models ./models
COPY notifiers ./notifiers
# Pulso and its extras from PyPI; the installed CPU torch already satisfies the
# `transformer` extra, and the constraint keeps pip from swapping it. The last line
# fails the build if a CUDA torch got in anyway.
RUN extras="postgres,mastodon,bluesky"; \
    if [ "$WITH_TRANSFORMER" = 1 ]; then \
        extras="${extras},transformer"; \
        echo "torch==${TORCH_VERSION}" > /tmp/constraints.txt; \
    else \
        : > /tmp/constraints.txt; \
    fi; \
    pip install --no-cache-dir --constraint /tmp/constraints.txt ".[${extras}]" \
    && if [ "$WITH_TRANSFORMER" = 1 ]; then \
        python -c "import sys, torch; sys.exit(f'torch is a CUDA build ({torch.version.cuda})' if torch.version.cuda else 0)" \
        && ! pip list 2>/dev/null | grep -i '^nvidia-'; \
    fi \
    && pulso --version

# --- model: an optional sentiment model, baked in -------------------------------------
FROM python:3.11-slim-bookworm AS model
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG WITH_TRANSFORMER
ARG MODEL
ARG MODEL_REVISION=main
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# Only the model's top-level files, PyTorch weights only (safetensors when it has them):
# no TensorFlow, Flax or ONNX copies.
RUN mkdir -p /opt/models \
    && if [ -n "$MODEL" ]; then \
        if [ "$WITH_TRANSFORMER" != 1 ]; then \
            echo "MODEL=$MODEL needs --build-arg WITH_TRANSFORMER=1" >&2; exit 1; \
        fi; \
        pip install --no-cache-dir huggingface_hub==2.4.0 \
        && python -c "import os; from huggingface_hub import HfApi, snapshot_download; \
m, rev = os.environ['MODEL'], os.environ['MODEL_REVISION']; \
files = [f for f in HfApi().list_repo_files(m, revision=rev) if '/' not in f]; \
st = any(f.endswith('.safetensors') for f in files); \
skip = ('.h5', '.msgpack', '.onnx', '.ot', '.tflite') + (('.bin', '.pt', '.pth') if st else ()); \
snapshot_download(m, revision=rev, local_dir='/opt/models/' + m, allow_patterns=[f for f in files if not f.endswith(skip)])" \
        && rm -rf "/opt/models/${MODEL}/.cache" \
        && test -f "/opt/models/${MODEL}/config.json"; \
    fi

# --- runtime ---------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# tini as PID 1: hands SIGTERM to pulso (which then drains) and reaps zombies. Pinned to
# bookworm's upstream version; Debian's rebuilds of it (0.19.0-1+bN) still come in.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.* \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 pulso \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin pulso \
    && mkdir -p /data \
    && chown 10001:10001 /data
COPY --from=build /opt/pulso /opt/pulso
COPY --from=model /opt/models /opt/models
# Defaults only: mount your own folder at /config (pulso.yaml, touchpoints.yaml).
COPY config/ /config/
# PULSO_SERVICE_HOST: outside a container Pulso listens on 127.0.0.1 only; here it must
# listen on every interface for a published port to reach it.
ENV PATH=/opt/pulso/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    HF_HUB_DISABLE_PROGRESS_BARS=1 \
    HF_HOME=/tmp/huggingface \
    MPLCONFIGDIR=/tmp/matplotlib \
    PULSO_CONFIG=/config/pulso.yaml \
    PULSO_DATABASE_URL=sqlite:////data/pulso.db \
    PULSO_LOG_FORMAT=json \
    PULSO_SERVICE_HOST=0.0.0.0
USER 10001:10001
WORKDIR /data
VOLUME ["/config", "/data"]
# /healthz and /metrics (Prometheus); the port is the config's service.port.
EXPOSE 8321
# The probe gives up after 3 s, inside Docker's 5, so the health log says why. Unhealthy
# also when every source has failed for 30 min or alerts cannot be delivered; with
# PULSO_HEALTH_TOKEN set, the health log names the reason.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["pulso", "healthcheck", "--timeout", "3"]
ENTRYPOINT ["/usr/bin/tini", "--", "pulso"]
CMD ["run"]
ARG MODEL
LABEL org.opencontainers.image.title="Pulso" \
      org.opencontainers.image.description="Self-hosted social-media sentiment monitoring: fast, explained, bilingual (EN/ES) alerts for CX teams." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim-bookworm" \
      pulso.sentiment-model="${MODEL}"
