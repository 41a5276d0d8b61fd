"""OpenAI-compatible gateway to hosted models, with a built-in local model."""
