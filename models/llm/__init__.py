"""Fine-tuned tutor models: base model, CLASS-format dataset, LoRA training, evaluation.

Pure Python on top of ``tutor.agents`` (no Django): the management commands in
``tutor/tutormodels/`` only read settings and call these modules.

- ``base.py``: the offline base model (SmolLM2-135M-Instruct from its GGUF,
  converted once to safetensors) or any HF-format directory named by path;
- ``turnformat.py``: the turn model's prompt and its JSON target;
- ``dataset.py``: conversations played by the simulated students against the
  real pipeline, split by problem, with a dataset card;
- ``train.py``: ``TrainConfig`` and ``fit()``: seeded LoRA (peft) training;
- ``evaluate.py``: JSON validity, accuracy and macro-F1 against gold, side by side;
- ``registry.py``: the model registry directory and its cards.
"""
