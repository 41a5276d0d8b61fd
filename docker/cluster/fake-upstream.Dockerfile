# The fake OpenAI-compatible upstream (tests/support/fake_upstream.py) for the local cluster,
# on the LLM service's image (it already has uvicorn, starlette and pydantic-settings).
# Context: .build/cluster/fake-upstream/ with tests/__init__.py, tests/support/__init__.py and
# tests/support/fake_upstream.py (scripts/images/cluster/build-all.sh). tini stays PID 1.
ARG LLM_IMAGE=chatbot/llm-service:0.1.0
FROM ${LLM_IMAGE}
COPY tests/ /app/tests/
ENV PYTHONPATH=/app \
    HOST=0.0.0.0 \
    PORT=8090
EXPOSE 8090
CMD ["python", "-m", "tests.support.fake_upstream"]
