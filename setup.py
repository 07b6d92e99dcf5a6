# Metadata lives in setup.cfg. This file only maps the top-level kernels/ folder (the CUDA C
# headers the code generator includes) into the wheel as the package gpuxla.kernels, which
# setup.cfg cannot express next to an automatic package search.
from setuptools import find_packages, setup

setup(packages=find_packages(include=["gpuxla", "gpuxla.*"]) + ["gpuxla.kernels"],
      package_dir={"gpuxla.kernels": "kernels"})
