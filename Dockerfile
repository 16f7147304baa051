# One image for every process of the ledger: `ledger core`, `ledger mirror`, `ledger gateway`,
# `ledger topics ensure`. The command picks the role (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ledger
COPY settings settings
COPY schemas schemas
COPY readmodel readmodel
COPY processors processors
COPY gateway gateway
COPY cli cli
COPY bench bench
COPY infra infra
COPY config config
COPY clients clients
RUN pip install ./clients/python . && useradd --system --uid 10001 ledger
USER ledger
ENV LEDGER_PROGRAMS_CONFIG=/app/config/programs.toml
ENTRYPOINT ["ledger"]
CMD ["--help"]
