# syntax=docker/dockerfile:1
# One image for every service (worker, watch, review, migrate, flower). Two stages: the builder
# turns every dependency into a wheel and installs them into a virtualenv; the runtime copies only
# that virtualenv onto a slim base and runs as an unprivileged user. TensorFlow is the CPU build
# (the Linux `tensorflow` wheel from PyPI runs on CPU; GPU support needs the extra `and-cuda`
# packages, which are not installed). Inference itself uses OpenVINO (on the .tflite); TensorFlow is for `digitize
# train` and the Keras baseline of `digitize bench`. The model in model/weights/ is package data,
# so it is inside the installed package, checked (sha256) at build time.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install --upgrade pip setuptools wheel
# Dependencies first (their own layer: rebuilt only when pyproject.toml changes).
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip wheel --wheel-dir /wheels -r requirements.txt
# Then the project itself (model weights and migrations ship as package data).
COPY digitize/ digitize/
COPY model/ model/
COPY segmentation/ segmentation/
COPY db/ db/
COPY worker/ worker/
COPY review/ review/
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && pip install --no-index --find-links /wheels digitize \
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
    TF_CPP_MIN_LOG_LEVEL=2 \
    DIGITIZE_LOG_FORMAT=json
USER digitize
WORKDIR /home/digitize
# The model loads and passes its checksum as the unprivileged user too.
RUN python -c "from model.inference import get_recognizer; get_recognizer()"
# Default probe: the database and the broker answer. Services override it with their own.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["digitize", "check"]
CMD ["digitize", "--help"]
