# syntax=docker/dockerfile:1
#
# ClickMe image. Two runnable targets share every layer but the torch wheels:
#
#   docker build --target cpu -t clickme:latest .      # web, worker (celery,maps), beat, migrate
#   docker build --target gpu -t clickme:latest-gpu .  # gpu-worker (training queue)
#
# cpu: torch/torchvision come from the PyTorch CPU index (no CUDA libraries: several GB smaller).
# gpu: torch/torchvision come from PyPI, whose Linux x86_64 wheels bundle the CUDA runtime as
#      nvidia-* wheels; the host needs only the NVIDIA driver and the NVIDIA Container Toolkit.
# Both install the exact pins of requirements.txt (torch==2.14.1, torchvision==0.29.1).

ARG PYTHON_VERSION=3.11

# ---------------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# tini reaps Celery's prefork children and forwards signals; nothing else is needed at run time
# (psycopg2-binary, Pillow, numpy, scipy and torch wheels bundle their native libraries).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && python -m venv "$VIRTUAL_ENV" \
 && groupadd --system --gid 10001 clickme \
 && useradd --system --uid 10001 --gid clickme --create-home --home-dir /home/clickme \
      --shell /usr/sbin/nologin clickme

WORKDIR /app

# ---------------------------------------------------------------------------------------------
FROM base AS deps-cpu
ARG TORCH_CPU_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements.txt /tmp/requirements.txt
# torch/torchvision first, from the CPU index and without their dependencies (their CPU builds
# declare no nvidia-* wheels); then requirements.txt from PyPI, where the installed
# 2.14.1+cpu already satisfies torch==2.14.1 and the rest (numpy, sympy, ...) resolves normally.
RUN --mount=type=cache,target=/root/.cache/pip \
    TORCH_PIN="$(grep -E '^torch==' /tmp/requirements.txt)" \
 && VISION_PIN="$(grep -E '^torchvision==' /tmp/requirements.txt)" \
 && pip install --no-deps --index-url "$TORCH_CPU_INDEX_URL" "$TORCH_PIN" "$VISION_PIN" \
 && pip install -r /tmp/requirements.txt \
 && python -c "import torch, torchvision; assert torch.version.cuda is None, torch.__version__; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"

# ---------------------------------------------------------------------------------------------
FROM base AS deps-gpu
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -r /tmp/requirements.txt \
 && python -c "import torch; assert torch.version.cuda, torch.__version__; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

# ---------------------------------------------------------------------------------------------
# The application, identical in both targets (root-owned: the app user only reads it).
FROM base AS app-src
COPY . /app
RUN chmod 0755 /app/docker/entrypoint.sh

# ---------------------------------------------------------------------------------------------
FROM base AS runtime
ENV DJANGO_SETTINGS_MODULE=clickme_site.settings.production \
    CLICKME_VAR_DIR=/data/var \
    CLICKME_MEDIA_ROOT=/data/media \
    CLICKME_PRIVATE_ROOT=/data/private \
    DJANGO_STATIC_ROOT=/data/static \
    TORCH_HOME=/data/var/torch \
    PORT=8000
# Mount points owned by the app user: a fresh named volume mounted here inherits the ownership.
RUN mkdir -p /data/var /data/media /data/private /data/static \
 && chown -R clickme:clickme /data
EXPOSE 8000
ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]
CMD ["web"]

# ---------------------------------------------------------------------------------------------
FROM runtime AS gpu
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
COPY --from=deps-gpu /opt/venv /opt/venv
COPY --from=app-src /app /app
USER clickme
CMD ["gpu-worker"]

# ---------------------------------------------------------------------------------------------
# Last stage = default target of a plain `docker build .`.
FROM runtime AS cpu
COPY --from=deps-cpu /opt/venv /opt/venv
COPY --from=app-src /app /app
# Static files are collected at build time too (base settings: no secret or database needed), so
# the image serves them on its own; compose's migrate service refreshes the shared static volume.
RUN DJANGO_SETTINGS_MODULE=clickme_site.settings.base python manage.py collectstatic --noinput \
 && chown -R clickme:clickme /data/static
USER clickme
CMD ["web"]
