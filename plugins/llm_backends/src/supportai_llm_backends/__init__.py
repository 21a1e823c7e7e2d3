"""supportai-llm-backends: the ``knowledge_base`` and ``openai`` LLM backends for supportai.

Installed, it registers both backends through the ``supportai`` entry point
group; ``SUPPORTAI_LLM_BACKEND`` chooses one. See the README for the settings.
"""

from __future__ import annotations

__version__ = "0.1.0"
