# Grading in a container: students' code runs with no network, no view of the host's files
# and capped CPU/memory. The pipeline still isolates students from each other inside it.
#
#   docker build -f tools/grading.Dockerfile -t lab5-grading .
#   docker run --rm --network none --cpus 2 --memory 8g --pids-limit 512 \
#       --user "$(id -u):$(id -g)" \
#       -v "$HOME/Downloads/submissions.zip:/in/submissions.zip:ro" \
#       -v "$PWD/build/grading:/out" \
#       lab5-grading /in/submissions.zip --out /out --jobs 2
#
# (Untested here: the machine that built the pipeline had no Docker.)
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 HOME=/tmp MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1
WORKDIR /lab
COPY pyproject.toml constraints.txt README.md nbgrader_config.py ./
COPY labutils labutils
COPY tools tools
COPY solutions solutions
# CPU wheels of torch (grading never uses a GPU); the same pins as `make setup`.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -c constraints.txt \
        --config-settings editable_mode=compat -e '.[dev]' \
    && python -m ipykernel install --sys-prefix --name python3 \
    && chmod -R a+rX /lab

ENTRYPOINT ["python", "-m", "labutils.grading"]
