"""What every runner is built over, below the API: the parts built once per process (``parts.Components``: the
configuration, the store, the model caches, the support scorer and the model registry) and what is set once per
process (``process.prepare_process``), the read side of an index (``reader.IndexReader``), the one answer path
(``answerer.Answerer`` taking an ``AskRequest``) and the versioned model registry (``registry``).

Modules here import nothing of the evaluation, tuning or decision layers: those take a ``Components`` and call
each other directly."""
