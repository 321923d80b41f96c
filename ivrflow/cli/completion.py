"""`ivrflow completion bash|zsh|tcsh`: a shell completion script, written by shtab from the
command line's own parser (every sub-command and option, so it never falls behind)."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from . import EXIT_FAILED, EXIT_OK

NAME = "completion"
HELP = "print a shell completion script (bash, zsh, tcsh)"
DESCRIPTION = (
    "Print a completion script for the shell: sub-commands, their options and the choices of "
    "each, file names where a command takes files. Install it once, for example "
    "`ivrflow completion bash > ~/.local/share/bash-completion/completions/ivrflow` or "
    '`ivrflow completion zsh > "${fpath[1]}/_ivrflow"`. Needs shtab (the cli extra: '
    "pip install 'ivrflow[cli]'). Exit 0 with the script, 1 when shtab is missing."
)
MISSING = "ivrflow completion needs shtab: install ivrflow[cli] (pip install 'ivrflow[cli]')"

# Positional arguments that name files (or directories of them): complete file names there.
_FILE_ARGUMENTS = {"files", "flows", "flow", "records", "scenarios", "replay", "paths", "path"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=("bash", "zsh", "tcsh"), help="the shell to complete for")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        import shtab
    except ImportError:
        sys.stderr.write(MISSING + "\n")
        return EXIT_FAILED
    from . import full_parser

    parser = full_parser()
    _complete_files(parser, shtab.FILE)
    out.write(shtab.complete(parser, shell=args.shell))
    return EXIT_OK


def _complete_files(parser: argparse.ArgumentParser, file: object) -> None:
    """Mark the arguments that take files, in every sub-command (and theirs), for shtab."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _complete_files(sub, file)
        elif not action.option_strings and action.dest in _FILE_ARGUMENTS:
            action.complete = file  # type: ignore[attr-defined]
