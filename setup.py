"""Only the optional C extension lives here; everything else about the package is in pyproject.toml.

``optional=True``: where no C compiler is found the install still succeeds and CSV files are parsed in numpy
(slower, same results and error messages).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mnistlab.datasets._csvparse",
            ["src/mnistlab/datasets/_csvparse.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
