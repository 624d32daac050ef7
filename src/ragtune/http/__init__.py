"""HTTP faces: the OpenAI-compatible model server (``serve-model``)."""
