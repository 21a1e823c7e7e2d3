"""Resolution analytics for a tenant's admins (issue 18, docs/analytics.md).

``report`` assembles the summary from the SQL aggregates of
:mod:`supportai.store.analytics`; ``unanswered`` groups the questions the
assistant could not answer and turns a group into an article draft;
``suggestions`` lists the questions an article answered, as past questions to add to it.
"""
