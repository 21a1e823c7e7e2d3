"""The knowledge base as data: a tenant's help-center articles in the app's database.

* :class:`Article` and :class:`KnowledgeStore` are what retrieval reads (the
  ``knowledge_base`` and ``openai`` backends of ``supportai-llm-backends``).
* Admins write articles through ``/admin/articles`` (``routes/articles.py``), the
  bulk JSON import, or ``supportai kb import`` (a folder of Markdown files with
  front matter, or a JSON export): :mod:`supportai.knowledge.changes` is the one
  place that writes, with the version bump and the audit event in the same
  transaction.

The article format is documented in ``docs/articles.md``.
"""

from supportai.knowledge.articles import Article, ArticleDraft, ArticleError
from supportai.knowledge.store import KnowledgeStore

__all__ = ["Article", "ArticleDraft", "ArticleError", "KnowledgeStore"]
