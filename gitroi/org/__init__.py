"""The organisation view: ``gitroi export`` (Parquet per repository) and ``gitroi org report``.

Above the report layer: the export writes the fact tables ``gitroi report``
sums (:mod:`gitroi.ledger.facts`), and the org report runs the same formulas
(:mod:`gitroi.ledger.formulas`) over every repository's, with DuckDB or Spark.
"""
