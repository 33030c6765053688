# The one image for migrate, api and worker (see compose.yaml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.txt

RUN useradd --system --uid 10001 suggestions
COPY --chown=suggestions pyproject.toml README.md ./
COPY --chown=suggestions migrations migrations
COPY --chown=suggestions ml ml
COPY --chown=suggestions suggestions suggestions
USER suggestions
# The default model is built from the seed corpus in the repository, so the image serves without a training step.
# Built as the service's own user: serving takes a lock beside the model and numba caches its compiled kernels.
RUN python -m ml train-seed

EXPOSE 8000
CMD ["python", "-m", "suggestions", "serve", "--host", "0.0.0.0", "--port", "8000"]
