"""The language stage: `.ivr` text → syntax tree with spans.

`grammar/ivrflow.lark` (one grammar, loaded by `parser`), `parser` (the only module that
touches lark), `ast` (our own syntax nodes), `syntax_labels` (parser states as human
labels) and `sources` (reading flow files, `use` references, lists). Imports only `errors`.
"""
