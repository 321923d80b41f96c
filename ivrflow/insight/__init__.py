"""Contact-center figures from call records: `ivrflow report`.

`records_input` reads JSON-lines records (files, gzip, stdin), counts the lines it
cannot use and applies the filters; `kpis` folds records into the report, one record
at a time; `render` writes it as terminal tables, JSON or CSV, and `page` as a
self-contained HTML page. Every figure is defined in docs/metrics.md.
"""

from __future__ import annotations

__all__: list[str] = []
