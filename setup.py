"""The one thing pyproject.toml cannot say in a stable way yet: trailkit's C extension.

``trailkit/_scanc.c`` is the loader's JSON scanner, loaded with ctypes (it has no Python
bindings). ``optional=True``: without a C compiler the install still succeeds and the loader
uses the numba build of the same kernels (see trailkit/_scan.py).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("trailkit._scanc", sources=["trailkit/_scanc.c"], optional=True,
                             extra_compile_args=["-O3", "-std=c99"])])
