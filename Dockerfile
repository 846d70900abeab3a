# The Airflow image of Insiders (docker-compose.yaml builds it as insiders-airflow:0.1.0):
# the official Airflow 3 image, at the Airflow version and Python of requirements.txt /
# requirements.lock, plus the pinned stack of requirements.lock and the insiders package.
# https://airflow.apache.org/docs/docker-stack/build.html
FROM apache/airflow:3.3.2-python3.11

# The fully pinned runtime stack (uv pip compile ... --python-version 3.11). The lock's test and
# demo tools (pytest, ruff, moto, pgserver) are not needed in the image. apache-airflow is pinned
# in the lock at the image's own version, so pip keeps the Airflow the image came with.
COPY --chown=airflow:0 requirements.lock /tmp/requirements.lock
RUN grep -vE '^(pytest|ruff|moto|pgserver)==' /tmp/requirements.lock > /tmp/runtime.lock \
    && pip install --no-cache-dir -r /tmp/runtime.lock \
    && rm /tmp/requirements.lock /tmp/runtime.lock

# The package, installed editable from /opt/insiders: compose mounts ./insiders over
# /opt/insiders/insiders (read-only), so a code change needs no rebuild; without the mount the
# copy baked in here runs. Its dependencies are all in the lock above (--no-deps).
USER root
RUN mkdir -p /opt/insiders && chown airflow:0 /opt/insiders
USER airflow
COPY --chown=airflow:0 pyproject.toml README.md /opt/insiders/
COPY --chown=airflow:0 insiders /opt/insiders/insiders
RUN pip install --no-cache-dir --no-deps -e /opt/insiders
