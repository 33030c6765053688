# The one image for migrate, api and worker (see compose.yaml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.txt

COPY pyproject.toml README.md ./
COPY migrations migrations
COPY ml ml
COPY suggestions suggestions
# The default model is built from the seed corpus in the repository, so the image serves without a training step.
RUN python -m ml train-seed && useradd --system --uid 10001 suggestions
USER suggestions

EXPOSE 8000
CMD ["python", "-m", "suggestions", "serve", "--host", "0.0.0.0", "--port", "8000"]
