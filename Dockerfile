# planner dashboard: a slim, non-root Streamlit image.
#   docker build -t planner:0.1.0 .
#   docker run --rm -p 8501:8501 planner:0.1.0
# Only runtime dependencies (requirements.txt) are installed; .dockerignore admits only app.py,
# planner/, ui/, data/ and .streamlit/ into the build context. No server-side state: scenarios
# live in the URL, so any number of replicas can serve any user (see deploy/).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none

WORKDIR /app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && groupadd --system --gid 10001 planner \
    && useradd --system --uid 10001 --gid planner --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin planner

# Code and data stay owned by root and read-only for the app user.
COPY . /app

USER 10001:10001

EXPOSE 8501

# No curl in the slim image: probe Streamlit's health endpoint with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status == 200 else 1)"]

CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
