"""``python -m mnistlab``: the command line, as the ``mnistlab`` script runs it (``torchrun -m mnistlab train ...``
launches it in several processes)."""

from mnistlab.cli import entry

if __name__ == "__main__":
    entry()
