# orgscan in a container: `docker build -t orgscan .` then, for example,
#   docker run --rm --read-only --tmpfs /tmp -v orgscan-out:/out \
#     -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN \
#     orgscan scan --org --role-name OrgScanAudit --format html,sarif --output-dir /out/scan
# docs/scheduling.md says more (read-only root filesystem, volumes, the schedule that runs it).

# --- build: the orgscan wheel and the wheels of everything it needs -------------------------------
FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml setup.cfg README.md ./
COPY scanner ./scanner
COPY checks ./checks
COPY reports ./reports
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- run: the wheels installed into a slim Python, no compiler, no pip, as a non-root user ---------
FROM python:3.12-slim-bookworm
# Installed from the build stage's wheels only (--no-index): nothing is fetched here. pip, setuptools
# and wheel are removed afterwards: nothing in the image can install or build code at run time.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/orgscan-*.whl \
    && pip uninstall --yes pip setuptools wheel \
    && useradd --system --uid 10001 --user-group --home-dir /home/orgscan --create-home --shell /usr/sbin/nologin orgscan \
    && install --directory --owner=10001 --group=10001 --mode=0700 /out /state

# The root filesystem may be read-only (--read-only): orgscan writes only to the output directory
# (/out, a volume) and its spool key to $XDG_STATE_HOME/orgscan (/state, a volume: keep it between
# runs to `orgscan scan --resume`, or mount a tmpfs there). Reports are written atomically through a
# temporary file next to them, so /tmp is not needed.
ENV HOME=/home/orgscan \
    XDG_STATE_HOME=/state \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
VOLUME ["/out", "/state"]
WORKDIR /out
USER 10001:10001
ENTRYPOINT ["orgscan"]
CMD ["--help"]
