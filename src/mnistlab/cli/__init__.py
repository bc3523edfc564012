"""The command line: thin wrappers that parse arguments and call the library."""

import sys


def entry() -> None:
    """The ``mnistlab`` console script: Ctrl-C even while the command line is still importing exits quietly."""
    try:
        from mnistlab.cli.main import main
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(main())
