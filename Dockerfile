# syntax=docker/dockerfile:1
# One image for every service (worker, watch, review, migrate, flower). Two stages: the builder
# installs the runtime lock and the project into a virtualenv; the runtime copies only that
# virtualenv onto a slim base and runs as an unprivileged user. Inference uses OpenVINO (on the
# .tflite); TensorFlow and matplotlib (`digitize train`, `evaluate`, the Keras baseline of
# `digitize bench`) are the `train` extra and stay out of the image. The model in model/weights/
# is package data, so it is inside the installed package, checked (sha256) at build time.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first, from the runtime lock (every package pinned with its hash; no TensorFlow,
# no matplotlib: those are the `train` extra). Their own layer: rebuilt only when the lock changes.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --require-hashes --no-deps -r requirements/runtime.txt
# Then the project itself (model weights and migrations ship as package data).
COPY pyproject.toml README.md ./
COPY digitize/ digitize/
COPY model/ model/
COPY segmentation/ segmentation/
COPY db/ db/
COPY worker/ worker/
COPY review/ review/
COPY bench/ bench/
RUN pip install --no-deps . \
 && pip check \
 && cd / && python -c "from model.inference import get_recognizer; get_recognizer()"

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="digitize" \
      org.opencontainers.image.description="Reads handwritten digits off scanned forms into SQL"
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin digitize \
 && mkdir -p /inbox /templates \
 && chown digitize:digitize /inbox
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DIGITIZE_LOG_FORMAT=json
USER digitize
WORKDIR /home/digitize
# The model loads and passes its checksum as the unprivileged user too.
RUN python -c "from model.inference import get_recognizer; get_recognizer()"
# Default probe: the database and the broker answer. Services override it with their own.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["digitize", "check"]
CMD ["digitize", "--help"]
