"""Fine-tuned tutor models, the Django side: management commands over ``models/llm``.

The ML code (base model, dataset, training, evaluation, registry) is pure and
lives in ``models/llm/``; this app only reads settings (``DATA_DIR``,
``MODEL_REGISTRY_DIR``), finds curricula and calls it. The registry admin
page and serving will live here too.
"""
