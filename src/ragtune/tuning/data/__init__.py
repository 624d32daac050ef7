"""Fine-tuning data: the example formats, ``data check`` and ``data split``."""

from ragtune.tuning.data.check import CheckReport, check_examples
from ragtune.tuning.data.examples import Example, ExampleFormat, ExampleSet, Issue, read_examples
from ragtune.tuning.data.schema import infer_schema
from ragtune.tuning.data.split import SplitReport, split_examples

__all__ = ["CheckReport", "Example", "ExampleFormat", "ExampleSet", "Issue", "SplitReport", "check_examples", "infer_schema",
           "read_examples", "split_examples"]
